/*
 * 粵藏 Yuecang: the region picker of the exhibition "IIIF image" block (Wagtail admin).
 *
 * The block's telepath adapter (themes.blocks.IIIFImageBlockAdapter) names this
 * definition; it renders the usual StructBlock form, then adds below the Region
 * field a button that shows the chosen page (looked up at meta.regionPicker.url,
 * ?item=&page=) and lets the curator drag a rectangle on it. The rectangle is
 * written to the Region field as x,y,w,h in pixels of the full-size page; the
 * field stays editable by hand (the keyboard route) and is validated on save.
 * See Wagtail's "Additional JavaScript on StructBlock forms".
 */
(function () {
  "use strict";

  if (!window.wagtailStreamField || !window.telepath) return;

  var MIN_SIZE = 4; /* screen pixels: a smaller drag is a click, not a region */
  var REGION = /^\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*$/;

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text) node.textContent = text;
    return node;
  }

  function RegionPicker(prefix, options) {
    this.prefix = prefix;
    this.url = options.url || "";
    this.strings = options.strings || {};
    this.region = document.getElementById(prefix + "-region");
    this.page = null; /* {src, service, width, height} of the page shown */
    this.build();
  }

  RegionPicker.prototype.build = function () {
    var s = this.strings;
    var field = this.region.closest("[data-field]") || this.region.parentNode;
    this.root = element("div", "region-picker");
    var actions = element("div", "region-picker-actions");
    this.showButton = element("button", "button button-small button-secondary", s.show);
    this.showButton.type = "button";
    this.fullButton = element("button", "button button-small button-secondary", s.full);
    this.fullButton.type = "button";
    this.previewLink = element("a", "region-picker-preview", s.preview);
    this.previewLink.target = "_blank";
    this.previewLink.rel = "noopener";
    this.previewLink.hidden = true;
    actions.append(this.showButton, this.fullButton, this.previewLink);
    this.status = element("p", "region-picker-status help");
    this.status.setAttribute("aria-live", "polite");
    this.stage = element("div", "region-picker-stage");
    this.stage.hidden = true;
    this.image = element("img");
    this.image.alt = s.image || "";
    this.image.draggable = false;
    this.box = element("div", "region-picker-box");
    this.box.hidden = true;
    this.stage.append(this.image, this.box);
    this.root.append(actions, this.status, this.stage);
    field.after(this.root);

    this.showButton.addEventListener("click", this.load.bind(this));
    this.fullButton.addEventListener("click", this.write.bind(this, "full"));
    this.region.addEventListener("input", this.draw.bind(this));
    this.image.addEventListener("load", this.draw.bind(this));
    this.stage.addEventListener("pointerdown", this.start.bind(this));
    this.stage.addEventListener("pointermove", this.move.bind(this));
    this.stage.addEventListener("pointerup", this.end.bind(this));
    this.stage.addEventListener("pointercancel", this.cancel.bind(this));
    window.addEventListener("resize", this.draw.bind(this));
  };

  RegionPicker.prototype.value = function (name) {
    var input = document.getElementById(this.prefix + "-" + name);
    return input ? String(input.value || "").trim() : "";
  };

  RegionPicker.prototype.load = function () {
    var self = this;
    var item = this.value("item");
    var page = this.value("page") || "1";
    if (!item) {
      this.status.textContent = this.strings.noItem;
      return;
    }
    this.status.textContent = this.strings.loading;
    var query = "?item=" + encodeURIComponent(item) + "&page=" + encodeURIComponent(page);
    fetch(this.url + query, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        self.page = data;
        self.image.src = data.src;
        self.stage.hidden = false;
        self.status.textContent = self.strings.help;
        self.draw();
      })
      .catch(function () {
        self.page = null;
        self.stage.hidden = true;
        self.status.textContent = self.strings.notFound;
      });
  };

  /* The scale from the image as drawn to the full-size page. */
  RegionPicker.prototype.scale = function () {
    var shown = this.image.getBoundingClientRect();
    return this.page && shown.width ? this.page.width / shown.width : 0;
  };

  RegionPicker.prototype.point = function (event) {
    var rect = this.image.getBoundingClientRect();
    return {
      x: Math.min(Math.max(event.clientX - rect.left, 0), rect.width),
      y: Math.min(Math.max(event.clientY - rect.top, 0), rect.height),
    };
  };

  RegionPicker.prototype.start = function (event) {
    if (!this.page || event.button !== 0) return;
    event.preventDefault();
    this.origin = this.point(event);
    this.stage.setPointerCapture(event.pointerId);
    this.show(this.origin.x, this.origin.y, 0, 0);
  };

  RegionPicker.prototype.move = function (event) {
    if (!this.origin) return;
    var p = this.point(event);
    this.show(
      Math.min(p.x, this.origin.x),
      Math.min(p.y, this.origin.y),
      Math.abs(p.x - this.origin.x),
      Math.abs(p.y - this.origin.y)
    );
  };

  RegionPicker.prototype.end = function (event) {
    if (!this.origin) return;
    var p = this.point(event);
    var o = this.origin;
    this.origin = null;
    var w = Math.abs(p.x - o.x);
    var h = Math.abs(p.y - o.y);
    if (w < MIN_SIZE || h < MIN_SIZE) {
      this.draw();
      return;
    }
    var scale = this.scale();
    var x = Math.round(Math.min(p.x, o.x) * scale);
    var y = Math.round(Math.min(p.y, o.y) * scale);
    var fullW = Math.min(Math.round(w * scale), this.page.width - x);
    var fullH = Math.min(Math.round(h * scale), this.page.height - y);
    this.write([x, y, fullW, fullH].join(","));
  };

  RegionPicker.prototype.cancel = function () {
    this.origin = null;
    this.draw();
  };

  RegionPicker.prototype.write = function (text) {
    this.region.value = text;
    this.region.dispatchEvent(new Event("input", { bubbles: true }));
    this.region.dispatchEvent(new Event("change", { bubbles: true }));
    this.status.textContent = (this.strings.chosen || "%s").replace("%s", text);
  };

  RegionPicker.prototype.show = function (x, y, w, h) {
    this.box.hidden = false;
    this.box.style.left = x + "px";
    this.box.style.top = y + "px";
    this.box.style.width = w + "px";
    this.box.style.height = h + "px";
  };

  /* Draw the Region field's value on the page and point the preview link at it. */
  RegionPicker.prototype.draw = function () {
    var text = String(this.region.value || "").trim();
    var match = REGION.exec(text);
    var full = text.toLowerCase() === "full";
    if (this.page && (match || full)) {
      this.previewLink.href = this.page.service + "/" + (full ? "full" : match.slice(1).join(",")) + "/max/0/default.jpg";
      this.previewLink.hidden = false;
    } else {
      this.previewLink.hidden = true;
    }
    var scale = this.scale();
    if (!match || !scale) {
      this.box.hidden = true;
      return;
    }
    this.show(match[1] / scale, match[2] / scale, match[3] / scale, match[4] / scale);
  };

  class IIIFImageBlockDefinition extends window.wagtailStreamField.blocks.StructBlockDefinition {
    render(placeholder, prefix, initialState, initialError) {
      var block = super.render(placeholder, prefix, initialState, initialError);
      var options = (this.meta && this.meta.regionPicker) || {};
      if (options.url && document.getElementById(prefix + "-region")) {
        block.regionPicker = new RegionPicker(prefix, options);
      }
      return block;
    }
  }

  window.telepath.register("themes.blocks.IIIFImageBlock", IIIFImageBlockDefinition);
})();
