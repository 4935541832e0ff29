/* 粵藏 transcript editor (transcription/admin/editor.html).
 *
 * The recording and the segment list in step: the segment being heard is
 * highlighted and kept in view, clicking a segment's time plays from there.
 * Each change (text, speaker, access, split, merge, approval, index points) is
 * saved at once through a JSON endpoint under data-base-url, one request after
 * another in the order made, without reloading: the place in the recording
 * and in the list is kept. Text is saved when the cursor leaves a segment
 * (or with Ctrl+S). Translated messages come from the page (#tx-strings).
 */
(function () {
  "use strict";

  var root = document.getElementById("tx-editor");
  if (!root) return;

  var media = document.getElementById("tx-media");
  var list = document.getElementById("tx-segments");
  var pointsList = document.getElementById("tx-points");
  var statusBox = document.getElementById("tx-status");
  var clock = document.getElementById("tx-clock");
  var follow = document.getElementById("tx-follow");
  var speakersList = document.getElementById("tx-speakers");
  var segmentTemplate = document.getElementById("tx-segment-template");
  var pointTemplate = document.getElementById("tx-point-template");
  var pointForm = document.getElementById("tx-point-form");
  var renameForm = document.getElementById("tx-rename");
  var baseUrl = root.getAttribute("data-base-url");
  var canEdit = root.getAttribute("data-can-edit") === "true";
  var csrfToken = root.getAttribute("data-csrf");
  var data = JSON.parse(document.getElementById("tx-data").textContent);
  var strings = JSON.parse(document.getElementById("tx-strings").textContent);

  /** Segments in time order, as the server last returned them. */
  var segments = data.segments;
  var points = data.index_points;
  /** Segment id -> its list item. */
  var items = new Map();
  var current = null;
  var queue = Promise.resolve();
  var pending = 0;

  // ------------------------------------------------------------------
  // Helpers
  // ------------------------------------------------------------------

  function format(template, values) {
    return template.replace(/%\((\w+)\)s/g, function (match, key) {
      return values[key] !== undefined ? values[key] : match;
    });
  }

  function pad(n, width) {
    return String(n).padStart(width, "0");
  }

  /** "00:01:02.3" */
  function clockText(seconds) {
    var tenths = Math.max(0, Math.round(Number(seconds) * 10));
    var h = Math.floor(tenths / 36000);
    var m = Math.floor((tenths % 36000) / 600);
    var s = Math.floor((tenths % 600) / 10);
    return pad(h, 2) + ":" + pad(m, 2) + ":" + pad(s, 2) + "." + (tenths % 10);
  }

  function say(message) {
    statusBox.textContent = message;
  }

  function round3(seconds) {
    return Math.round(seconds * 1000) / 1000;
  }

  /** POST JSON to an endpoint, after every request made before it. */
  function post(path, body) {
    pending += 1;
    function send() {
      return fetch(baseUrl + path, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          "Content-Type": "application/json",
          Accept: "application/json",
          "X-CSRFToken": csrfToken,
          "X-Requested-With": "XMLHttpRequest",
        },
        body: JSON.stringify(body || {}),
      }).then(
        function (response) {
          return response
            .json()
            .catch(function () {
              return { error: response.status + " " + response.statusText };
            })
            .then(function (json) {
              if (!response.ok) {
                var refusal = new Error(json.error || String(response.status));
                refusal.errors = json.errors || {};
                throw refusal;
              }
              return json;
            });
        },
        function () {
          throw new Error(strings.network);
        }
      );
    }
    var result = queue.then(send, send);
    function done() {
      pending -= 1;
    }
    queue = result.then(done, done);
    return result;
  }

  function indexOfId(id) {
    for (var i = 0; i < segments.length; i += 1) {
      if (segments[i].id === id) return i;
    }
    return -1;
  }

  function segmentOf(li) {
    return segments[indexOfId(Number(li.getAttribute("data-id")))];
  }

  /** The index of the last segment starting at or before ``t`` (-1 if none). */
  function indexAt(t) {
    var lo = 0;
    var hi = segments.length - 1;
    var found = -1;
    while (lo <= hi) {
      var mid = (lo + hi) >> 1;
      if (segments[mid].start <= t) {
        found = mid;
        lo = mid + 1;
      } else {
        hi = mid - 1;
      }
    }
    return found;
  }

  function field(li, name) {
    return li.querySelector('[data-field="' + name + '"]');
  }

  function autosize(textarea) {
    textarea.style.height = "auto";
    textarea.style.height = textarea.scrollHeight + 2 + "px";
  }

  // ------------------------------------------------------------------
  // Segments
  // ------------------------------------------------------------------

  /** Show ``seg`` in its list item; ``force`` replaces text being typed too. */
  function fill(li, seg, force) {
    li.setAttribute("data-id", seg.id);
    li.id = "tx-segment-" + seg.id;
    var time = clockText(seg.start);
    var seek = li.querySelector('[data-action="seek"]');
    seek.textContent = time;
    seek.title = clockText(seg.start) + " – " + clockText(seg.end);
    seek.setAttribute("aria-label", format(strings.seek_label, { time: time }));

    var text = field(li, "text");
    if (force || text.value === text.getAttribute("data-saved") || !text.hasAttribute("data-saved")) {
      text.value = seg.text;
    }
    text.setAttribute("data-saved", seg.text);
    text.setAttribute("aria-label", format(strings.text_label, { time: time }));
    text.readOnly = !canEdit;

    var speaker = field(li, "speaker");
    speaker.value = seg.speaker;
    speaker.readOnly = !canEdit;
    var access = field(li, "access");
    access.value = seg.access_level;
    access.disabled = !canEdit;

    var closed = seg.access_level !== "" && seg.access_level !== "public";
    li.classList.toggle("is-closed", closed);
    li.classList.toggle("is-changed", seg.machine_changed);
    li.querySelector('[data-flag="edited"]').hidden = !seg.edited;
    li.querySelector('[data-flag="closed"]').hidden = !closed;
    li.querySelector('[data-flag="changed"]').hidden = !seg.machine_changed;

    var machine = field(li, "machine");
    field(li, "machine_text").textContent = seg.machine_text;
    machine.hidden = !seg.machine_changed && (seg.machine_text === seg.text || !seg.machine_text);
    if (seg.machine_changed) machine.open = true;

    if (!canEdit) {
      li.querySelectorAll('[data-action="split"], [data-action="merge"]').forEach(function (b) {
        b.remove();
      });
    }
    window.requestAnimationFrame(function () {
      autosize(text);
    });
  }

  function build(seg) {
    var li = segmentTemplate.content.firstElementChild.cloneNode(true);
    fill(li, seg, true);
    items.set(seg.id, li);
    return li;
  }

  function renderSegments() {
    items.clear();
    list.replaceChildren.apply(list, segments.map(build));
    if (!segments.length) {
      var empty = document.createElement("li");
      empty.textContent = strings.no_segments;
      list.appendChild(empty);
    }
  }

  function segmentStatus(li, message, failed) {
    var box = field(li, "status");
    box.textContent = message;
    box.classList.toggle("is-error", !!failed);
  }

  function replaceSegment(seg) {
    var i = indexOfId(seg.id);
    if (i >= 0) segments[i] = seg;
  }

  function addSpeaker(name) {
    if (!name) return;
    var known = Array.prototype.some.call(speakersList.options, function (o) {
      return o.value === name;
    });
    if (!known) {
      var option = document.createElement("option");
      option.value = name;
      speakersList.appendChild(option);
    }
  }

  function setSpeakers(names) {
    speakersList.replaceChildren();
    names.forEach(addSpeaker);
    if (renameForm) {
      var select = renameForm.querySelector('[name="old"]');
      select.replaceChildren.apply(
        select,
        names.map(function (name) {
          var option = document.createElement("option");
          option.textContent = name;
          return option;
        })
      );
    }
  }

  function refused(li, error) {
    var message = format(strings.error, { message: error.message });
    if (li) segmentStatus(li, message, true);
    say(message);
  }

  function showTranscript(t) {
    if (!t) return;
    root.querySelector('[data-field="review_label"]').textContent = t.review_label;
    var approve = root.querySelector('[data-action="approve"]');
    var reopen = root.querySelector('[data-action="reopen"]');
    if (approve) approve.hidden = t.approved;
    if (reopen) reopen.hidden = !t.approved;
  }

  /** Save a segment's text if it differs from what the server has. */
  function saveText(li) {
    var text = field(li, "text");
    var value = text.value;
    if (!canEdit || value === text.getAttribute("data-saved")) return Promise.resolve();
    var id = Number(li.getAttribute("data-id"));
    segmentStatus(li, strings.saving);
    return post("segments/" + id + "/", { text: value }).then(
      function (json) {
        replaceSegment(json.segment);
        var target = items.get(json.segment.id) || li;
        fill(target, json.segment, text.value === value);
        segmentStatus(target, strings.saved);
        showTranscript(json.transcript);
      },
      function (error) {
        refused(li, error);
      }
    );
  }

  function saveSpeaker(li) {
    var input = field(li, "speaker");
    var seg = segmentOf(li);
    if (!seg || input.value === seg.speaker) return;
    segmentStatus(li, strings.saving);
    post("segments/" + seg.id + "/", { speaker: input.value }).then(
      function (json) {
        replaceSegment(json.segment);
        fill(li, json.segment, false);
        addSpeaker(json.segment.speaker);
        segmentStatus(li, strings.saved);
      },
      function (error) {
        refused(li, error);
      }
    );
  }

  function saveAccess(li) {
    var select = field(li, "access");
    var seg = segmentOf(li);
    segmentStatus(li, strings.saving);
    post("segments/" + seg.id + "/access/", { level: select.value }).then(
      function (json) {
        replaceSegment(json.segment);
        fill(li, json.segment, false);
        segmentStatus(li, strings.saved);
      },
      function (error) {
        select.value = seg.access_level;
        refused(li, error);
      }
    );
  }

  function split(li) {
    var seg = segmentOf(li);
    var t = media.currentTime;
    if (!(t > seg.start && t < seg.end)) {
      say(format(strings.split_outside, { time: clockText(t) }));
      return;
    }
    var text = field(li, "text");
    var value = text.value;
    if (value.trim().length < 2) {
      say(strings.split_short);
      return;
    }
    var caret = li.hasAttribute("data-caret") ? Number(li.getAttribute("data-caret")) : -1;
    var cut = caret > 0 && caret < value.length
      ? caret
      : Math.round((value.length * (t - seg.start)) / (seg.end - seg.start));
    cut = Math.min(Math.max(cut, 1), value.length - 1);
    segmentStatus(li, strings.saving);
    post("segments/" + seg.id + "/split/", {
      at: round3(t),
      text_before: value.slice(0, cut),
      text_after: value.slice(cut),
    }).then(
      function (json) {
        var first = json.segments[0];
        var second = json.segments[1];
        segments.splice(indexOfId(first.id), 1, first, second);
        li.removeAttribute("data-caret");
        fill(li, first, true);
        var next = build(second);
        li.after(next);
        segmentStatus(li, "");
        segmentStatus(next, strings.saved);
        showTranscript(json.transcript);
        say(strings.split);
        field(next, "text").focus();
        field(next, "text").setSelectionRange(0, 0);
      },
      function (error) {
        refused(li, error);
      }
    );
  }

  function merge(li) {
    var seg = segmentOf(li);
    var i = indexOfId(seg.id);
    if (i < 0 || i + 1 >= segments.length) {
      say(strings.last_segment);
      return;
    }
    segmentStatus(li, strings.saving);
    post("segments/" + seg.id + "/merge/", {}).then(
      function (json) {
        var gone = items.get(json.removed);
        segments.splice(indexOfId(json.removed), 1);
        replaceSegment(json.segment);
        if (gone) {
          if (gone === current) current = null;
          gone.remove();
          items.delete(json.removed);
        }
        fill(li, json.segment, true);
        segmentStatus(li, strings.saved);
        showTranscript(json.transcript);
        say(strings.merged);
      },
      function (error) {
        refused(li, error);
      }
    );
  }

  // ------------------------------------------------------------------
  // The player and the list in step
  // ------------------------------------------------------------------

  function typingInList() {
    var active = document.activeElement;
    return !!(active && list.contains(active) && /^(TEXTAREA|INPUT|SELECT)$/.test(active.tagName));
  }

  function highlight() {
    var t = media.currentTime;
    clock.textContent = clockText(t);
    var i = indexAt(t);
    var seg = i >= 0 ? segments[i] : null;
    var li = seg && t < seg.end ? items.get(seg.id) : null;
    if (li === current) return;
    if (current) {
      current.classList.remove("is-current");
      current.removeAttribute("aria-current");
    }
    current = li || null;
    if (current) {
      current.classList.add("is-current");
      current.setAttribute("aria-current", "true");
      if (follow.checked && !typingInList()) current.scrollIntoView({ block: "nearest" });
    }
  }

  function seek(seconds, play) {
    media.currentTime = Math.max(0, seconds);
    highlight();
    if (play && media.paused) {
      var started = media.play();
      if (started && started.catch) started.catch(function () {});
    }
  }

  function togglePlay() {
    if (media.paused) {
      var started = media.play();
      if (started && started.catch) started.catch(function () {});
    } else {
      media.pause();
    }
  }

  function focusedItem() {
    var active = document.activeElement;
    return active && list.contains(active) ? active.closest(".tx-segment") : null;
  }

  /** Go to the next (+1) or previous (-1) segment: the player to its start, the cursor to its text. */
  function step(direction) {
    if (!segments.length) return;
    var li = focusedItem();
    var i = li ? indexOfId(Number(li.getAttribute("data-id"))) : indexAt(media.currentTime);
    if (!li && direction < 0 && i >= 0 && media.currentTime > segments[i].start + 1) {
      direction = 0; // back to the start of the segment being heard
    }
    var target = Math.min(Math.max(i + direction, 0), segments.length - 1);
    var seg = segments[target];
    seek(seg.start, false);
    var text = field(items.get(seg.id), "text");
    text.focus();
    items.get(seg.id).scrollIntoView({ block: "nearest" });
  }

  function onKey(event) {
    var code = event.code;
    var alt = event.altKey && !event.ctrlKey && !event.metaKey;
    if ((event.ctrlKey && !event.altKey && code === "Space") || (alt && code === "KeyK")) {
      togglePlay();
    } else if (alt && code === "KeyJ") {
      seek(media.currentTime - 5, false);
    } else if (alt && code === "KeyL") {
      seek(media.currentTime + 5, false);
    } else if (alt && code === "ArrowDown") {
      step(1);
    } else if (alt && code === "ArrowUp") {
      step(-1);
    } else if ((event.ctrlKey || event.metaKey) && !event.altKey && code === "KeyS" && canEdit) {
      var li = focusedItem();
      if (li) saveText(li);
    } else if (alt && code === "KeyS" && canEdit) {
      var target = focusedItem();
      if (target) split(target);
    } else {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  }

  // ------------------------------------------------------------------
  // Index points
  // ------------------------------------------------------------------

  function renderPoints() {
    points.sort(function (a, b) {
      return a.start - b.start || a.id - b.id;
    });
    pointsList.replaceChildren();
    points.forEach(function (point) {
      var li = pointTemplate.content.firstElementChild.cloneNode(true);
      li.setAttribute("data-id", point.id);
      var seekButton = li.querySelector('[data-action="seek"]');
      seekButton.textContent = clockText(point.start);
      seekButton.setAttribute("aria-label", format(strings.seek_label, { time: clockText(point.start) }));
      field(li, "title").textContent = point.title;
      field(li, "keywords").textContent = (point.keywords || []).join(", ");
      field(li, "synopsis").textContent = point.synopsis;
      pointsList.appendChild(li);
    });
    if (!points.length) {
      var empty = document.createElement("li");
      empty.textContent = strings.no_points;
      pointsList.appendChild(empty);
    }
  }

  function pointById(id) {
    return points.filter(function (p) {
      return p.id === id;
    })[0];
  }

  function linksText(links) {
    return (links || [])
      .map(function (link) {
        return link.label && link.label !== link.url ? link.label + " | " + link.url : link.url;
      })
      .join("\n");
  }

  function linksValue(text) {
    return text
      .split("\n")
      .map(function (line) {
        return line.trim();
      })
      .filter(Boolean)
      .map(function (line) {
        var cut = line.lastIndexOf("|");
        return cut < 0
          ? { label: "", url: line }
          : { label: line.slice(0, cut).trim(), url: line.slice(cut + 1).trim() };
      });
  }

  function pointError(message) {
    var box = pointForm.querySelector('[data-field="error"]');
    box.textContent = message || "";
    box.hidden = !message;
  }

  function pointFormReset() {
    pointForm.reset();
    pointForm.elements.id.value = "";
    var legend = pointForm.querySelector('[data-field="legend"]');
    legend.textContent = legend.getAttribute("data-new");
    pointError("");
  }

  function pointEdit(point) {
    var f = pointForm.elements;
    f.id.value = point.id;
    f.start.value = point.start;
    f.end.value = point.end === null ? "" : point.end;
    f.title.value = point.title;
    f.keywords.value = (point.keywords || []).join(", ");
    f.synopsis.value = point.synopsis;
    f.place.value = point.place === null ? "" : point.place;
    f.latitude.value = point.latitude;
    f.longitude.value = point.longitude;
    f.links.value = linksText(point.links);
    f.access_level.value = point.access_level;
    var legend = pointForm.querySelector('[data-field="legend"]');
    legend.textContent = legend.getAttribute("data-edit");
    pointError("");
    f.title.focus();
  }

  function pointSave(event) {
    event.preventDefault();
    var f = pointForm.elements;
    var id = f.id.value;
    var body = {
      start: f.start.value,
      end: f.end.value,
      title: f.title.value,
      keywords: f.keywords.value,
      synopsis: f.synopsis.value,
      place: f.place.value,
      latitude: f.latitude.value,
      longitude: f.longitude.value,
      links: linksValue(f.links.value),
      access_level: f.access_level.value,
    };
    post(id ? "index-points/" + id + "/" : "index-points/", body).then(
      function (json) {
        var saved = json.index_point;
        points = points.filter(function (p) {
          return p.id !== saved.id;
        });
        points.push(saved);
        renderPoints();
        pointFormReset();
        say(strings.point_saved);
      },
      function (error) {
        pointError(error.message);
        var first = Object.keys(error.errors || {})[0];
        if (first && f[first]) f[first].focus();
      }
    );
  }

  // ------------------------------------------------------------------
  // Wiring
  // ------------------------------------------------------------------

  list.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button) return;
    var li = button.closest(".tx-segment");
    var action = button.getAttribute("data-action");
    if (action === "seek") seek(segmentOf(li).start, true);
    else if (action === "split") split(li);
    else if (action === "merge") merge(li);
  });
  list.addEventListener("input", function (event) {
    if (event.target.matches('[data-field="text"]')) autosize(event.target);
  });
  list.addEventListener("focusout", function (event) {
    if (event.target.matches('[data-field="text"]')) saveText(event.target.closest(".tx-segment"));
  });
  list.addEventListener("change", function (event) {
    var li = event.target.closest(".tx-segment");
    if (event.target.matches('[data-field="speaker"]')) saveSpeaker(li);
    else if (event.target.matches('[data-field="access"]')) saveAccess(li);
  });
  ["keyup", "mouseup", "select"].forEach(function (name) {
    list.addEventListener(name, function (event) {
      if (event.target.matches('[data-field="text"]')) {
        event.target.closest(".tx-segment").setAttribute("data-caret", event.target.selectionStart);
      }
    });
  });

  media.addEventListener("timeupdate", highlight);
  media.addEventListener("seeked", highlight);
  media.addEventListener("error", function () {
    say(strings.media_error);
  });
  document.addEventListener("keydown", onKey, true);

  root.addEventListener("click", function (event) {
    var button = event.target.closest("[data-action]");
    if (!button || list.contains(button)) return;
    var action = button.getAttribute("data-action");
    if (action === "approve" || action === "reopen") {
      post(action + "/", {}).then(
        function (json) {
          showTranscript(json.transcript);
          say(action === "approve" ? strings.approved : strings.reopened);
        },
        function (error) {
          refused(null, error);
        }
      );
    } else if (action === "seek") {
      var point = pointById(Number(button.closest(".tx-point").getAttribute("data-id")));
      seek(point.start, true);
    } else if (action === "point-edit") {
      pointEdit(pointById(Number(button.closest(".tx-point").getAttribute("data-id"))));
    } else if (action === "point-delete") {
      var id = Number(button.closest(".tx-point").getAttribute("data-id"));
      if (!window.confirm(strings.confirm_delete)) return;
      post("index-points/" + id + "/delete/", {}).then(
        function () {
          points = points.filter(function (p) {
            return p.id !== id;
          });
          renderPoints();
          say(strings.point_deleted);
        },
        function (error) {
          refused(null, error);
        }
      );
    } else if (action === "point-playhead") {
      pointForm.elements.start.value = (Math.round(media.currentTime * 10) / 10).toFixed(1);
    }
  });

  if (pointForm) {
    pointForm.addEventListener("submit", pointSave);
    pointForm.addEventListener("reset", function () {
      window.setTimeout(pointFormReset, 0);
    });
    pointForm.elements.place.addEventListener("change", function () {
      var option = pointForm.elements.place.selectedOptions[0];
      var f = pointForm.elements;
      if (option && option.value && !f.latitude.value && !f.longitude.value) {
        f.latitude.value = option.getAttribute("data-lat") || "";
        f.longitude.value = option.getAttribute("data-lon") || "";
      }
    });
  }

  if (renameForm) {
    renameForm.addEventListener("submit", function (event) {
      event.preventDefault();
      var oldName = renameForm.elements.old.value;
      var newName = renameForm.elements["new"].value;
      post("speakers/", { old: oldName, new: newName }).then(
        function (json) {
          json.segments.forEach(function (seg) {
            replaceSegment(seg);
            var li = items.get(seg.id);
            if (li) fill(li, seg, false);
          });
          setSpeakers(json.speakers);
          renameForm.elements["new"].value = "";
          say(format(strings.renamed, { count: json.segments.length }));
        },
        function (error) {
          refused(null, error);
        }
      );
    });
  }

  window.addEventListener("beforeunload", function (event) {
    var dirty = Array.prototype.some.call(list.querySelectorAll('[data-field="text"]'), function (t) {
      return t.value !== t.getAttribute("data-saved");
    });
    if (pending > 0 || (canEdit && dirty)) {
      event.preventDefault();
      event.returnValue = strings.unsaved;
    }
  });

  /** Keep the player below Wagtail's sticky header, and segments below the player. */
  function measure() {
    var header = document.querySelector(".w-slim-header");
    var sticky = header ? header.closest(".w-sticky") || header : null;
    var top = sticky && getComputedStyle(sticky).position === "sticky" ? sticky.offsetHeight : 0;
    root.style.setProperty("--tx-sticky-top", top + "px");
    var player = root.querySelector(".tx-player");
    if (player) root.style.setProperty("--tx-player-height", player.offsetHeight + "px");
  }
  window.addEventListener("resize", measure);
  media.addEventListener("loadedmetadata", measure);
  measure();

  renderSegments();
  renderPoints();
  highlight();
  root.setAttribute("data-ready", "true");
})();
