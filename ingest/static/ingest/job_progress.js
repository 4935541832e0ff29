// Poll an ingest job's progress every 2 s and update the admin page until it finishes.
(function () {
  "use strict";
  var section = document.getElementById("ingest-progress");
  if (!section) return;
  var url = section.getAttribute("data-progress-url");
  var bar = section.querySelector("progress");

  function field(name) {
    return section.querySelector('[data-field="' + name + '"]');
  }
  function duration(seconds) {
    if (seconds === null || seconds === undefined || seconds === "") return "—";
    seconds = Math.round(Number(seconds));
    var h = Math.floor(seconds / 3600), m = Math.floor((seconds % 3600) / 60), s = seconds % 60;
    return (h ? h + ":" + String(m).padStart(2, "0") : m) + ":" + String(s).padStart(2, "0");
  }
  function show(data) {
    ["status_display", "processed", "total", "done", "unchanged", "failed", "message"].forEach(function (name) {
      var el = field(name);
      if (el && data[name] !== undefined && data[name] !== null) el.textContent = data[name];
    });
    var rate = field("pages_per_minute");
    if (rate) rate.textContent = data.pages_per_minute === null ? "—" : data.pages_per_minute;
    var left = field("seconds_left");
    if (left) left.textContent = data.finished ? "0:00" : duration(data.seconds_left);
    bar.max = Math.max(data.total, 1);
    bar.value = data.processed;
  }
  var left = field("seconds_left");
  if (left) left.textContent = duration(left.getAttribute("data-seconds"));
  if (section.getAttribute("data-finished") === "true") return;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        show(data);
        if (!data.finished) window.setTimeout(poll, 2000);
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
