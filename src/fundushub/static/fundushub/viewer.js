// Image viewer: zoom and pan by a CSS transform on the <img> inside an overflow-hidden frame.
// Buttons (− + Fit 100%), the mouse wheel (around the pointer), keys + − 0 1, dragging and arrow
// keys. The Original/Edited links swap the picture in place; without JavaScript they reload.
// [ and ] go to the previous and next image of the dashboard's filtered set.
(function () {
  "use strict";
  var frame = document.getElementById("viewer-frame");
  var img = document.getElementById("viewer-image");
  if (!frame || !img) return;

  var MIN = 0.05, MAX = 16, STEP = 1.25, PAN = 60;
  var level = document.getElementById("zoom-level");
  var view = { scale: 1, x: 0, y: 0, fitted: true };

  frame.classList.add("js");
  document.getElementById("zoom-tools").hidden = false;

  function size() {
    return { w: img.naturalWidth || img.width, h: img.naturalHeight || img.height };
  }

  function fitScale() {
    var s = size();
    if (!s.w || !s.h) return 1;
    return Math.min(frame.clientWidth / s.w, frame.clientHeight / s.h, 1);
  }

  // Keep the picture from leaving the frame entirely: at least a quarter stays in view.
  function clamp() {
    var s = size(), w = s.w * view.scale, h = s.h * view.scale;
    var fw = frame.clientWidth, fh = frame.clientHeight;
    var mx = Math.min(w, fw) * 0.25, my = Math.min(h, fh) * 0.25;
    view.x = Math.min(fw - mx, Math.max(mx - w, view.x));
    view.y = Math.min(fh - my, Math.max(my - h, view.y));
  }

  function apply() {
    clamp();
    img.style.transform = "translate(" + view.x + "px, " + view.y + "px) scale(" + view.scale + ")";
    frame.dataset.scale = view.scale.toFixed(4);
    level.textContent = Math.round(view.scale * 100) + "%";
  }

  function centre(scale) {
    var s = size();
    view.scale = scale;
    view.x = (frame.clientWidth - s.w * scale) / 2;
    view.y = (frame.clientHeight - s.h * scale) / 2;
  }

  function fit() {
    centre(fitScale());
    view.fitted = true;
    apply();
  }

  function actual() {
    centre(1);
    view.fitted = false;
    apply();
  }

  // Zoom so that the picture point under (px, py) in frame coordinates stays put.
  function zoomTo(scale, px, py) {
    scale = Math.min(MAX, Math.max(MIN, scale));
    if (px === undefined) { px = frame.clientWidth / 2; py = frame.clientHeight / 2; }
    var ratio = scale / view.scale;
    view.x = px - (px - view.x) * ratio;
    view.y = py - (py - view.y) * ratio;
    view.scale = scale;
    view.fitted = false;
    apply();
  }

  function pan(dx, dy) {
    view.x += dx;
    view.y += dy;
    view.fitted = false;
    apply();
  }

  var actions = {
    in: function () { zoomTo(view.scale * STEP); },
    out: function () { zoomTo(view.scale / STEP); },
    fit: fit,
    actual: actual,
  };
  Array.prototype.forEach.call(document.querySelectorAll("[data-zoom]"), function (button) {
    button.addEventListener("click", function () { actions[button.dataset.zoom](); });
  });

  frame.addEventListener("wheel", function (ev) {
    ev.preventDefault();
    var r = frame.getBoundingClientRect();
    var factor = Math.pow(1.0015, -ev.deltaY * (ev.deltaMode === 1 ? 30 : 1));
    zoomTo(view.scale * factor, ev.clientX - r.left, ev.clientY - r.top);
  }, { passive: false });

  // Dragging with mouse, pen or finger.
  var drag = null;
  frame.addEventListener("pointerdown", function (ev) {
    if (ev.button !== 0) return;
    drag = { id: ev.pointerId, x: ev.clientX, y: ev.clientY };
    frame.setPointerCapture(ev.pointerId);
    frame.classList.add("dragging");
  });
  frame.addEventListener("pointermove", function (ev) {
    if (!drag || ev.pointerId !== drag.id) return;
    pan(ev.clientX - drag.x, ev.clientY - drag.y);
    drag.x = ev.clientX;
    drag.y = ev.clientY;
  });
  function endDrag(ev) {
    if (!drag || ev.pointerId !== drag.id) return;
    drag = null;
    frame.classList.remove("dragging");
  }
  frame.addEventListener("pointerup", endDrag);
  frame.addEventListener("pointercancel", endDrag);

  function typing(el) {
    return el && (/^(INPUT|SELECT|TEXTAREA)$/.test(el.tagName) || el.isContentEditable);
  }

  // + − 0 1 anywhere on the page (except while typing); arrows only in the frame, so they
  // still scroll the page elsewhere.
  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    var arrows = { ArrowLeft: [PAN, 0], ArrowRight: [-PAN, 0], ArrowUp: [0, PAN], ArrowDown: [0, -PAN] };
    if (ev.target === frame && arrows[ev.key]) {
      pan(arrows[ev.key][0], arrows[ev.key][1]);
    } else if (ev.key === "+" || ev.key === "=") {
      actions.in();
    } else if (ev.key === "-" || ev.key === "_") {
      actions.out();
    } else if (ev.key === "0") {
      fit();
    } else if (ev.key === "1") {
      actual();
    } else if (ev.key === "[" || ev.key === "]") {
      // Previous / next image of the set the viewer was opened from.
      var step = document.getElementById(ev.key === "[" ? "previous-image" : "next-image");
      if (!step) return;
      window.location.assign(step.href);
    } else {
      return;
    }
    ev.preventDefault();
  });

  // Original / Edited: swap the picture and the download link; the address follows.
  var download = document.getElementById("download-link");
  var variantName = document.getElementById("variant-name");
  var toggles = Array.prototype.slice.call(document.querySelectorAll(".version-toggle [data-variant]"));
  toggles.forEach(function (link) {
    link.addEventListener("click", function (ev) {
      ev.preventDefault();
      if (link.getAttribute("aria-current") === "true") return;
      toggles.forEach(function (other) {
        var on = other === link;
        other.classList.toggle("btn-primary", on);
        if (on) other.setAttribute("aria-current", "true");
        else other.removeAttribute("aria-current");
      });
      img.dataset.variant = link.dataset.variant;
      img.src = link.dataset.src;
      img.alt = (link.dataset.variant === "edited" ? "Edited version of " : "") +
        img.alt.replace(/^Edited version of /, "");
      if (download) download.href = link.dataset.download;
      if (variantName) variantName.textContent = link.dataset.variant;
      if (window.history && history.replaceState) history.replaceState(null, "", link.href);
    });
  });

  img.addEventListener("load", fit);
  window.addEventListener("resize", function () { if (view.fitted) fit(); else apply(); });
  if (img.complete && img.naturalWidth) fit();
})();
