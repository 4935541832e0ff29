/*
 * 粵藏 Yuecang: exhibition clips play only their seconds.
 *
 * Each figure.block-clip carries data-start and data-end (seconds); its
 * .clip-player (audio or video) also has the media fragment #t=start,end. On
 * the first play the player seeks to the start; it pauses at the end
 * (timeupdate); played again after that, or from outside the clip, it starts
 * over from the start. Without JavaScript the fragment still cues the start.
 */
(function () {
  "use strict";

  /* timeupdate fires only about four times a second: near the end a timer
   * stops the player on time rather than let the next sentence begin. */
  var NEAR = 0.3;
  var EARLY = 0.02;

  function setup(figure) {
    var player = figure.querySelector(".clip-player");
    var start = parseFloat(figure.dataset.start);
    var end = parseFloat(figure.dataset.end);
    if (!player || !isFinite(start) || !isFinite(end) || end <= start) return;
    var played = false;
    var finished = false;
    var timer = null;

    function outside() {
      return player.currentTime < start - 0.25 || player.currentTime >= end - EARLY;
    }

    function stopAtEnd() {
      timer = null;
      if (player.paused) return;
      var left = end - player.currentTime;
      if (left <= EARLY) {
        player.pause();
        finished = true;
      } else if (left <= NEAR) {
        timer = window.setTimeout(stopAtEnd, (left * 1000) / (player.playbackRate || 1));
      }
    }

    player.addEventListener("play", function () {
      if (!played || finished || outside()) {
        player.currentTime = start;
      }
      played = true;
      finished = false;
    });
    player.addEventListener("timeupdate", function () {
      if (timer === null) stopAtEnd();
    });
    player.addEventListener("pause", function () {
      if (timer !== null) window.clearTimeout(timer);
      timer = null;
    });
    player.addEventListener("ended", function () {
      finished = true;
    });
  }

  function setupAll() {
    document.querySelectorAll("figure.block-clip").forEach(setup);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", setupAll);
  } else {
    setupAll();
  }
})();
