/*
 * 粵藏 Yuecang: start Mirador in every element marked data-mirador.
 *
 * data-mirador="item" (an item page: one window, nothing else) or "compare" (the
 * compare page: one window per manifest, side by side, with Mirador's own
 * "add resource" panel on wide screens). data-manifests lists absolute manifest
 * URLs separated by spaces; data-language is the page's Django language code;
 * data-deep-link (item and compare pages, not exhibitions' volume blocks) makes
 * the viewer follow the page's deep link, below.
 * The configuration lives here rather than in inline scripts so that pages can
 * run under a Content-Security-Policy without 'unsafe-inline' for scripts.
 * Mirador settings: node_modules/mirador/src/config/settings.js.
 *
 * Deep links. An item page or the compare page opens at a page, and optionally
 * zoomed to a region of it, when its URL says so:
 *
 *   /items/{item}/#page=N                 page N (1-based position of the canvas
 *                                         in the manifest, as in the index panel)
 *   /items/{item}/#page=N&xywh=x,y,w,h    page N, zoomed so that the region fills
 *                                         the viewer, as far as the zoom limit
 *                                         allows (x,y,w,h in the page's
 *                                         full-size pixels, as the xywh= media
 *                                         fragment of IIIF Presentation 3.0 §4.3;
 *                                         a "pixel:" prefix is accepted)
 *   /items/{item}/?page=N&xywh=x,y,w,h    the same as query parameters, which
 *                                         survive being copied into other tools
 *
 * When the fragment names a page or a region it wins, whole, over the query. A
 * region without a page is on page 1. A page that is not a whole number from 1
 * to the number of pages opens the first page, without a region; a malformed
 * region is ignored, and one running past the page's edge is cut at the edge.
 * On the compare page (/viewer/?item=A&item=B#page=N) every window opens at its
 * own page N. Following a link to another #page= on the same page (the
 * hashchange event) turns the viewer to that page, and to that region or the
 * whole page. The viewer never writes the fragment back.
 */
(function () {
  "use strict";

  /* Django language code -> Mirador 4's locale keys (src/i18n.js). */
  var LANGUAGES = { "zh-hant": "zh-TW", "zh-hans": "zh-CN", en: "en" };
  /* Our manifests label things in BCP 47 script tags (zh-Hant, zh-Hans); Mirador
   * asks for the label in its UI locale (zh-TW, zh-CN). Without these aliases it
   * would pick whichever Chinese form comes first in each language map. */
  var LABEL_ALIASES = { "zh-TW": "zh-Hant", "zh-CN": "zh-Hans" };
  var LANGUAGE_MAP_KEYS = ["label", "summary", "value"];
  var WIDE = "(min-width: 48em)";
  /* How far past a scan's own pixels the viewer may zoom (OpenSeadragon's
   * default, 1.1, stops near 1:1). Close reading of brushwork, seals and
   * small print wants more, and a deep link to a small region must be
   * reachable within the limit: a view beyond it snaps back (zooming out) at
   * the reader's first scroll. */
  var MAX_ZOOM_PIXEL_RATIO = 3;

  function aliasLanguageMaps(node) {
    if (Array.isArray(node)) {
      node.forEach(aliasLanguageMaps);
      return;
    }
    if (!node || typeof node !== "object") return;
    Object.keys(node).forEach(function (key) {
      var value = node[key];
      if (LANGUAGE_MAP_KEYS.indexOf(key) !== -1 && value && !Array.isArray(value) && typeof value === "object") {
        Object.keys(LABEL_ALIASES).forEach(function (alias) {
          var source = LABEL_ALIASES[alias];
          if (value[source] && !value[alias]) value[alias] = value[source];
        });
      }
      aliasLanguageMaps(value);
    });
  }

  function sameOrigin(url) {
    try {
      return new URL(url, document.baseURI).origin === window.location.origin;
    } catch (error) {
      return false;
    }
  }

  /* Requests postprocessor: alias the language maps of this site's manifests only. */
  function aliasOurManifests(url, action) {
    if (action && action.manifestJson && sameOrigin(url)) aliasLanguageMaps(action.manifestJson);
    return action;
  }

  function theme() {
    var css = window.getComputedStyle(document.documentElement);
    var accent = css.getPropertyValue("--accent").trim() || "#8c1c13";
    return {
      palette: { primary: { main: accent }, secondary: { main: accent } },
      typography: { fontFamily: window.getComputedStyle(document.body).fontFamily },
    };
  }

  /* On a narrow screen two windows are stacked rather than squeezed side by side.
   * Mirador lays windows out in a row once they exist, so wait for that layout. */
  function stackWhenNarrow(viewer, windowIds) {
    if (windowIds.length !== 2 || window.matchMedia(WIDE).matches) return;
    var stacked = { direction: "column", first: windowIds[0], second: windowIds[1], splitPercentage: 50 };
    var unsubscribe = viewer.store.subscribe(function () {
      var layout = viewer.store.getState().workspace.layout;
      if (!layout || typeof layout !== "object") return;
      unsubscribe();
      if (layout.direction !== "column") {
        viewer.store.dispatch(window.Mirador.updateWorkspaceMosaicLayout(stacked));
      }
    });
  }

  /* Mirador 4.0.0 puts aria-orientation and aria-label on the MUI Tabs root
   * <div>, which has no role (axe: aria-allowed-attr, critical); the inner
   * [role=tablist] already carries both. Fixed upstream (ProjectMirador/mirador
   * #4268, PR #4269) after 4.0.0: until a release has it, remove them here. */
  function repairTabsAria(element) {
    function repair() {
      element.querySelectorAll(".MuiTabs-root:not([role])").forEach(function (node) {
        node.removeAttribute("aria-orientation");
        node.removeAttribute("aria-label");
      });
    }
    repair();
    new MutationObserver(repair).observe(element, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: ["aria-orientation", "aria-label"],
    });
  }

  /* ---- Deep links (#page=N&xywh=x,y,w,h; see the header) ---- */

  var PAGE = /^0*[1-9]\d{0,8}$/;
  var NUMBER = "(\\d+(?:\\.\\d+)?)";
  var XYWH = new RegExp("^(?:pixel:)?" + [NUMBER, NUMBER, NUMBER, NUMBER].join(",") + "$");
  /* How long to wait for a window's manifest and first tiles before giving up. */
  var LINK_TIMEOUT_MS = 30000;
  var LINK_POLL_MS = 100;

  /* {page, region} from "#page=..&xywh=.." or "?page=..&xywh=..", or null when
   * the text names neither. page is null when it is not a whole number >= 1;
   * region is [x, y, w, h] or null. */
  function parseLink(text) {
    var params = new URLSearchParams((text || "").replace(/^[#?]/, ""));
    if (!params.has("page") && !params.has("xywh")) return null;
    var page = params.has("page") ? (params.get("page") || "").trim() : "1";
    var match = XYWH.exec((params.get("xywh") || "").trim());
    var region = match ? match.slice(1).map(Number) : null;
    return {
      page: PAGE.test(page) ? Number(page) : null,
      region: region && region[2] > 0 && region[3] > 0 ? region : null,
    };
  }

  /* The fragment wins over the query when it is a deep link. */
  function deepLink() {
    return parseLink(window.location.hash) || parseLink(window.location.search);
  }

  /* The canvas a link names in a window's manifest and its region cut to the
   * canvas: out of range (or no valid page) is the first canvas, whole. */
  function linkTarget(state, windowId, link) {
    var canvases = window.Mirador.getCanvases(state, { windowId: windowId });
    var canvas = link.page ? canvases[link.page - 1] : null;
    if (!canvas) return { canvas: canvases[0], region: null };
    var region = link.region;
    var width = canvas.getWidth();
    var height = canvas.getHeight();
    if (region && (region[0] >= width || region[1] >= height)) region = null;
    if (region) {
      region = [region[0], region[1], Math.min(region[2], width - region[0]), Math.min(region[3], height - region[1])];
    }
    return { canvas: canvas, region: region };
  }

  /* A canvas region in the coordinates of Mirador's OpenSeadragon world:
   * the visible canvases lie side by side there (two in book view, right to
   * left for our Chinese volumes), scaled to a common height, so the region
   * is mapped through the window's CanvasWorld. */
  function worldRegion(state, windowId, canvas, region) {
    var world = window.Mirador.getCurrentCanvasWorld(state, { windowId: windowId });
    var place = world.canvasToWorldCoordinates(canvas.id);
    var scale = place[2] / canvas.getWidth();
    return [place[0] + region[0] * scale, place[1] + region[1] * scale, region[2] * scale, region[3] * scale];
  }

  /* Call check() until it returns something, then done(thatThing); stop when a
   * newer link for the same window has started, or after LINK_TIMEOUT_MS. */
  function whenReady(pending, windowId, token, check, done) {
    var deadline = Date.now() + LINK_TIMEOUT_MS;
    (function poll() {
      if (pending[windowId] !== token) return;
      var result = check();
      if (result) done(result);
      else if (Date.now() < deadline) window.setTimeout(poll, LINK_POLL_MS);
    })();
  }

  /* Turn a window to the link's page (setCanvas, with the canvas id read from
   * the manifest Mirador fetched) and fit its region into the viewer. With
   * wholePage, a link without a region shows its whole page, so that a
   * same-page link to another page does not keep the previous zoom.
   *
   * The zoom goes straight to OpenSeadragon (viewport.fitBounds, through
   * Mirador's OSDReferences) rather than through Mirador's updateViewport
   * action: Mirador 4.0 applies {x, y, zoom} as panTo(x, y) then zoomTo(zoom)
   * around (x, y), both animated, and OpenSeadragon's zoom-point correction
   * then shifts the pan, so the region ends up off centre (seen in Chromium;
   * ProjectMirador/mirador#4371 collects Mirador 4's open viewport bugs).
   * fitBounds lands exactly, keeps the region's shape (the viewer's shape
   * pads it on one side) and, when its animation ends, Mirador's own handler
   * records the new viewport in the store with updateViewport. It keeps to
   * the viewer's zoom limit (MAX_ZOOM_PIXEL_RATIO): a region too small to
   * fill the viewer at that limit is shown centred, with its surroundings. */
  function followLink(viewer, windowId, link, options) {
    var M = window.Mirador;
    var store = viewer.store;
    var token = {};
    options.pending[windowId] = token;
    /* A compare window the reader has closed follows nothing. */
    if (!store.getState().windows[windowId]) return;
    function manifestLoaded() {
      var state = store.getState();
      var win = state.windows[windowId];
      return win && win.canvasId && M.getCanvases(state, { windowId: windowId }).length ? state : null;
    }
    whenReady(options.pending, windowId, token, manifestLoaded, function (state) {
      var target = linkTarget(state, windowId, link);
      if (state.windows[windowId].canvasId !== target.canvas.id) {
        store.dispatch(M.setCanvas(windowId, target.canvas.id));
      }
      var region = target.region;
      if (!region && options.wholePage) region = [0, 0, target.canvas.getWidth(), target.canvas.getHeight()];
      if (!region) return;
      /* Mirador sets OpenSeadragon's first view when the first tile arrives,
       * from the viewer state it had when OpenSeadragon started: wait until
       * then, or that first view would replace ours. */
      function osdReady() {
        var now = store.getState();
        var ref = M.OSDReferences.get(windowId);
        var osd = ref && ref.current;
        if (!osd || !osd.viewport || osd.tileCache.numTilesLoaded() === 0) return null;
        if (M.getVisibleCanvasIds(now, { windowId: windowId }).indexOf(target.canvas.id) === -1) return null;
        var size = osd.viewport.getContainerSize();
        return size.x > 0 && size.y > 0 ? { state: now, osd: osd } : null;
      }
      whenReady(options.pending, windowId, token, osdReady, function (ready) {
        var box = worldRegion(ready.state, windowId, target.canvas, region);
        /* The bundle does not expose the OpenSeadragon namespace: getBounds()
         * hands back a new Rect of its own, which is filled in here. */
        var rect = ready.osd.viewport.getBounds();
        rect.x = box[0];
        rect.y = box[1];
        rect.width = box[2];
        rect.height = box[3];
        rect.degrees = 0;
        ready.osd.viewport.fitBoundsWithConstraints(rect);
      });
    });
  }

  function start(element) {
    var compare = element.dataset.mirador === "compare";
    var wide = window.matchMedia(WIDE).matches;
    var language = LANGUAGES[(element.dataset.language || "").toLowerCase()] || "en";
    var manifests = (element.dataset.manifests || "").split(/\s+/).filter(Boolean);
    var windowIds = manifests.map(function (_, index) {
      return element.id + "-window-" + (index + 1);
    });
    var followsLinks = element.hasAttribute("data-deep-link");
    var link = followsLinks ? deepLink() : null;
    var availableLanguages = {};
    Object.keys(LANGUAGES).forEach(function (code) {
      var key = LANGUAGES[code];
      availableLanguages[key] = window.Mirador.settings.availableLanguages[key];
    });
    var viewer = window.Mirador.viewer({
      id: element.id,
      language: language,
      availableLanguages: availableLanguages,
      theme: theme(),
      osdConfig: { maxZoomPixelRatio: MAX_ZOOM_PIXEL_RATIO },
      requests: { postprocessors: [aliasOurManifests] },
      window: {
        allowClose: compare,
        allowMaximize: compare,
        allowFullscreen: true,
        /* The side panel (the volume's index of pages and 卷) opens on wide screens. */
        sideBarOpen: wide && !compare,
        sideBarPanel: "canvas",
        panels: { info: true, attribution: true, canvas: true, annotations: false, search: true, layers: false },
      },
      thumbnailNavigation: {
        defaultPosition: compare ? "off" : element.dataset.thumbnails || "far-bottom",
      },
      windows: manifests.map(function (manifest, index) {
        /* Open at the linked page straight away rather than turning to it
         * after page 1 has loaded; followLink checks the result. */
        var config = { id: windowIds[index], manifestId: manifest };
        if (link && link.page) config.canvasIndex = link.page - 1;
        return config;
      }),
      workspace: {
        type: compare ? "mosaic" : "single",
        allowNewWindows: compare,
        showZoomControls: true,
      },
      workspaceControlPanel: { enabled: compare && wide },
    });
    if (compare) stackWhenNarrow(viewer, windowIds);
    repairTabsAria(element);
    element.miradorViewer = viewer;
    var pending = {};
    if (link) {
      windowIds.forEach(function (windowId) {
        followLink(viewer, windowId, link, { wholePage: false, pending: pending });
      });
    }
    if (!followsLinks) return;
    window.addEventListener("hashchange", function () {
      var changed = parseLink(window.location.hash);
      if (!changed) return; /* an in-page anchor, not a deep link */
      windowIds.forEach(function (windowId) {
        followLink(viewer, windowId, changed, { wholePage: true, pending: pending });
      });
    });
  }

  function startAll() {
    if (!window.Mirador) return;
    document.querySelectorAll("[data-mirador]").forEach(start);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startAll);
  } else {
    startAll();
  }
})();
