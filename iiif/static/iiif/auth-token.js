/*
 * IIIF Authorization Flow 2.0 pages (iiif/templates/iiif/auth/), with no inline script.
 *
 * The access token service (Auth 2.0 §4.3): the page holds its message and the
 * origin to post it to in a JSON island, #iiif-auth-message; this posts the
 * message to the window that framed the page. A token is only ever posted to
 * the origin the client named (postMessage's targetOrigin), so no other page
 * receives it.
 *
 * The access and logout pages (§3.3.1, §6.2): an element with
 * data-iiif-auth-close-now closes the tab once loaded (browsers allow it for a
 * tab a viewer opened); buttons with data-iiif-auth-close close it on click.
 */
(function () {
  "use strict";

  var island = document.getElementById("iiif-auth-message");
  if (island && window.parent && window.parent !== window) {
    var data = JSON.parse(island.textContent);
    if (data && data.message && data.origin) {
      window.parent.postMessage(data.message, data.origin);
    }
  }

  function closeTab() {
    window.close();
  }

  function start() {
    var buttons = document.querySelectorAll("[data-iiif-auth-close]");
    for (var i = 0; i < buttons.length; i += 1) {
      buttons[i].addEventListener("click", closeTab);
    }
    if (document.querySelector("[data-iiif-auth-close-now]")) {
      closeTab();
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
