/*
 * 粵藏 Yuecang: start Mirador in every element marked data-mirador.
 *
 * data-mirador="item" (an item page: one window, nothing else) or "compare" (the
 * compare page: one window per manifest, side by side, with Mirador's own
 * "add resource" panel on wide screens). data-manifests lists absolute manifest
 * URLs separated by spaces; data-language is the page's Django language code.
 * The configuration lives here rather than in inline scripts so that pages can
 * run under a Content-Security-Policy without 'unsafe-inline' for scripts.
 * Mirador settings: node_modules/mirador/src/config/settings.js.
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

  function start(element) {
    var compare = element.dataset.mirador === "compare";
    var wide = window.matchMedia(WIDE).matches;
    var language = LANGUAGES[(element.dataset.language || "").toLowerCase()] || "en";
    var manifests = (element.dataset.manifests || "").split(/\s+/).filter(Boolean);
    var windowIds = manifests.map(function (_, index) {
      return element.id + "-window-" + (index + 1);
    });
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
        return { id: windowIds[index], manifestId: manifest };
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
