// Copy buttons of the item page's citations (archive/includes/citations.html).
// The buttons stay hidden where the page cannot copy; the text is there anyway.
(function () {
  "use strict";
  var section = document.querySelector("section.citations");
  if (!section) return;
  var status = section.querySelector(".cite-status");

  function message(id) {
    var template = document.getElementById(id);
    return template ? template.textContent.trim() : "";
  }

  function fallbackCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    var done = false;
    try {
      done = document.execCommand("copy");
    } catch (err) {
      done = false;
    }
    document.body.removeChild(area);
    return done ? Promise.resolve() : Promise.reject(new Error("copy refused"));
  }

  function copy(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text).catch(function () {
        return fallbackCopy(text);
      });
    }
    return fallbackCopy(text);
  }

  section.querySelectorAll("[data-copy-target]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy-target"));
    if (!target) return;
    button.hidden = false;
    button.addEventListener("click", function () {
      copy(target.textContent.trim()).then(
        function () {
          status.textContent = message("cite-copied-message");
        },
        function () {
          status.textContent = message("cite-failed-message");
        }
      );
    });
  });
})();
