// Poll the search index rebuild every 2 s (as the ingest job page does); reload when it ends.
// A static file, not an inline script, so the admin page runs under the strict CSP.
(function () {
  "use strict";
  var section = document.getElementById("search-index-progress");
  var url = section && section.getAttribute("data-progress-url");
  if (!url) return;
  var bar = section.querySelector("progress");
  function show(data) {
    ["state_display", "done", "total", "percent"].forEach(function (name) {
      var el = section.querySelector('[data-field="' + name + '"]');
      if (el && data[name] !== undefined && data[name] !== null) el.textContent = data[name];
    });
    if (data.total) {
      bar.max = data.total;
      bar.value = data.done;
    } else {
      bar.removeAttribute("value");
    }
    bar.textContent = data.percent + "%";
  }
  function poll() {
    fetch(url, {
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-Requested-With": "XMLHttpRequest" }
    })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        show(data);
        if (data.finished) window.location.reload();
        else window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
