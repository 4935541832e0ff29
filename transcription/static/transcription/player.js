/* 粵藏 recording player (transcription/recording_player.html).
 *
 * The page works without this script: every time is a ?t= link and the player
 * is cued by a media fragment. With it, for each [data-recording] section:
 * - clicking a transcript line or an index point seeks the player there and plays;
 * - the line being heard is highlighted (aria-current) and kept in view in the
 *   transcript panel, unless the reader scrolled the panel away: then a
 *   "Follow the playback" button brings it back;
 * - ?t=SECONDS (data-start-at) or #t=SECONDS in the page address cues the player.
 */
(function () {
  "use strict";

  /** Seconds from "30", "30.5", "npt:30", "1:30", "1:02:03" or "30,40" (its start). */
  function parseTime(value) {
    if (value === null || value === undefined) return null;
    var text = String(value).trim().replace(/^npt:/, "").split(",")[0];
    if (!/^\d+(:\d{1,2}){0,2}(\.\d+)?$/.test(text)) return null;
    var seconds = 0;
    text.split(":").forEach(function (part) {
      seconds = seconds * 60 + parseFloat(part);
    });
    return isFinite(seconds) ? seconds : null;
  }

  /** The t= of the page address's fragment (#t=30 or #a&t=30), if any. */
  function hashTime() {
    var match = /(?:^#|&)t=([^&]+)/.exec(window.location.hash || "");
    return match ? parseTime(decodeURIComponent(match[1])) : null;
  }

  function setup(section) {
    var media = section.querySelector("audio, video");
    if (!media) return;
    var panel = section.querySelector("[data-transcript]");
    var followButton = section.querySelector("[data-follow]");
    var lines = Array.prototype.slice.call(
      section.querySelectorAll(".transcript-lines [data-start]")
    );
    var points = Array.prototype.slice.call(
      section.querySelectorAll(".index-points [data-start]")
    );
    var starts = lines.map(function (li) { return parseFloat(li.dataset.start); });
    var ends = lines.map(function (li) { return parseFloat(li.dataset.end); });
    var pointStarts = points.map(function (li) { return parseFloat(li.dataset.start); });
    var current = -1;
    var currentPoint = -1;
    var following = true;
    var expectedScrollTop = null;

    /** The last index whose start is at or before t (-1 when none). */
    function lastAtOrBefore(list, t) {
      var lo = 0, hi = list.length - 1, found = -1;
      while (lo <= hi) {
        var mid = (lo + hi) >> 1;
        if (list[mid] <= t + 0.05) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
      }
      return found;
    }

    function lineAt(t) {
      var i = lastAtOrBefore(starts, t);
      if (i < 0) return -1;
      // Past a line's end and before the next start: nothing is being said.
      var next = i + 1 < starts.length ? starts[i + 1] : Infinity;
      return t < Math.max(ends[i], Math.min(next, ends[i] + 0.5)) ? i : -1;
    }

    function keepInView(li) {
      if (!panel || !following) return;
      var panelBox = panel.getBoundingClientRect();
      var box = li.getBoundingClientRect();
      if (box.top >= panelBox.top && box.bottom <= panelBox.bottom) return;
      var top = panel.scrollTop + (box.top - panelBox.top) - panel.clientHeight / 3;
      top = Math.max(0, Math.min(top, panel.scrollHeight - panel.clientHeight));
      expectedScrollTop = Math.round(top);
      panel.scrollTop = top;
    }

    function mark(list, old, now) {
      if (old >= 0 && list[old]) {
        list[old].classList.remove("is-current");
        list[old].removeAttribute("aria-current");
      }
      if (now >= 0 && list[now]) {
        list[now].classList.add("is-current");
        list[now].setAttribute("aria-current", "true");
      }
    }

    function update() {
      var t = media.currentTime;
      var i = lineAt(t);
      if (i !== current) {
        mark(lines, current, i);
        current = i;
        if (i >= 0) keepInView(lines[i]);
      }
      var p = lastAtOrBefore(pointStarts, t);
      if (p !== currentPoint) {
        mark(points, currentPoint, p);
        currentPoint = p;
      }
    }

    function setFollowing(value) {
      following = value;
      if (followButton) followButton.hidden = value;
      if (value && current >= 0) keepInView(lines[current]);
    }

    function seek(seconds, play) {
      if (seconds === null) return;
      try {
        media.currentTime = seconds;
      } catch (error) {
        return; // not seekable yet; the ?t= link still works
      }
      update();
      if (play) {
        var playing = media.play();
        if (playing && playing.catch) playing.catch(function () {});
      }
    }

    function onSeekClick(event) {
      if (event.defaultPrevented || event.button > 0) return;
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      var target = event.target.closest("[data-seek], .transcript-lines [data-start]");
      if (!target || !section.contains(target)) return;
      var link = event.target.closest("a[href]");
      if (link && !link.matches("[data-seek]")) return;
      var selection = window.getSelection && window.getSelection();
      if (selection && String(selection) && !target.matches("[data-seek]")) return;
      event.preventDefault();
      setFollowing(true);
      seek(parseFloat(target.dataset.seek || target.dataset.start), true);
    }

    section.addEventListener("click", onSeekClick);
    media.addEventListener("timeupdate", update);
    media.addEventListener("seeked", update);

    if (panel) {
      panel.addEventListener("scroll", function () {
        if (expectedScrollTop !== null && Math.abs(panel.scrollTop - expectedScrollTop) <= 2) {
          expectedScrollTop = null;
          return; // our own scroll
        }
        expectedScrollTop = null;
        if (following) setFollowing(false);
      }, { passive: true });
    }
    if (followButton) {
      followButton.addEventListener("click", function () { setFollowing(true); });
    }

    // Cue the player: ?t= (server-side, also a media fragment on src) or #t=.
    var start = hashTime();
    if (start === null) start = parseTime(section.dataset.startAt);
    if (start !== null) {
      var cue = function () {
        if (Math.abs(media.currentTime - start) > 0.25) seek(start, false);
        else update();
      };
      if (media.readyState >= 1) cue();
      else media.addEventListener("loadedmetadata", cue, { once: true });
    }
    update();
  }

  function init() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-recording]"), setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
  window.addEventListener("hashchange", function () {
    var t = hashTime();
    if (t === null) return;
    var media = document.querySelector("[data-recording] audio, [data-recording] video");
    if (media) {
      try { media.currentTime = t; } catch (error) { /* not seekable yet */ }
    }
  });
})();
