// Examination page: both eyes side by side, zoomed and panned together.
// Each frame shows its picture by a CSS transform, as the image viewer does (viewer.js). A view is
// kept in terms both pictures share: the zoom as a multiple of "fit to frame" and the centre as a
// fraction of the picture's width and height. Linked, the two frames share one view, so the same
// spot of each retina stays in the same place whatever the pictures' pixel sizes; unlinked, each
// has its own. Buttons, the mouse wheel (around the pointer), dragging, keys + − 0 1 anywhere,
// arrow keys in a frame, L to link or unlink. "Show above" puts another image of an eye in its frame.
(function () {
  "use strict";
  var frames = Array.prototype.slice.call(document.querySelectorAll(".pair-frame"));
  if (!frames.length) return;

  var MIN = 0.5, MAX = 40, STEP = 1.25, PAN = 60;
  var tools = document.getElementById("pair-tools");
  var level = document.getElementById("pair-level");
  var link = document.getElementById("pair-link");
  var shared = fresh();
  var panes = frames.map(function (frame) {
    return { frame: frame, img: frame.querySelector("img"), own: fresh() };
  });
  var active = panes[0];

  tools.hidden = false;

  function fresh() { return { zoom: 1, cx: 0.5, cy: 0.5 }; }
  function linked() { return link.checked; }
  function viewOf(pane) { return linked() ? shared : pane.own; }

  function size(pane) {
    return { w: pane.img.naturalWidth || pane.img.width, h: pane.img.naturalHeight || pane.img.height };
  }

  function fitScale(pane) {
    var s = size(pane);
    if (!s.w || !s.h) return 1;
    return Math.min(pane.frame.clientWidth / s.w, pane.frame.clientHeight / s.h, 1);
  }

  function scaleOf(pane) { return fitScale(pane) * viewOf(pane).zoom; }

  function draw(pane) {
    var v = viewOf(pane), s = size(pane), scale = scaleOf(pane);
    v.cx = Math.min(1, Math.max(0, v.cx));
    v.cy = Math.min(1, Math.max(0, v.cy));
    var x = pane.frame.clientWidth / 2 - v.cx * s.w * scale;
    var y = pane.frame.clientHeight / 2 - v.cy * s.h * scale;
    pane.img.style.transform = "translate(" + x + "px, " + y + "px) scale(" + scale + ")";
    pane.frame.dataset.scale = scale.toFixed(4);
    pane.frame.dataset.zoom = v.zoom.toFixed(4);
    pane.frame.dataset.centre = v.cx.toFixed(4) + "," + v.cy.toFixed(4);
  }

  function drawAll() {
    panes.forEach(draw);
    var v = viewOf(active);
    level.textContent = "×" + v.zoom.toFixed(1);
  }

  // The panes an action moves: both while linked (they share the view), else the active one.
  function targets(pane) { return linked() ? panes : [pane || active]; }

  // Zoom so that the picture point under (px, py) of the pane's frame stays put.
  function zoomBy(pane, factor, px, py) {
    var v = viewOf(pane), s = size(pane), before = scaleOf(pane);
    var zoom = Math.min(MAX, Math.max(MIN, v.zoom * factor));
    if (px === undefined) { px = pane.frame.clientWidth / 2; py = pane.frame.clientHeight / 2; }
    var dx = px - pane.frame.clientWidth / 2, dy = py - pane.frame.clientHeight / 2;
    var after = before / v.zoom * zoom;
    if (s.w && s.h) {
      v.cx += dx / (s.w * before) - dx / (s.w * after);
      v.cy += dy / (s.h * before) - dy / (s.h * after);
    }
    v.zoom = zoom;
    drawAll();
  }

  function pan(pane, dx, dy) {
    var v = viewOf(pane), s = size(pane), scale = scaleOf(pane);
    if (!s.w || !s.h) return;
    v.cx -= dx / (s.w * scale);
    v.cy -= dy / (s.h * scale);
    drawAll();
  }

  function fit(pane) {
    targets(pane).forEach(function (p) { var v = viewOf(p); v.zoom = 1; v.cx = 0.5; v.cy = 0.5; });
    drawAll();
  }

  function actual(pane) {
    pane = pane || active;
    var v = viewOf(pane);
    v.zoom = Math.min(MAX, Math.max(MIN, 1 / fitScale(pane)));
    drawAll();
  }

  var actions = {
    in: function () { zoomBy(active, STEP); },
    out: function () { zoomBy(active, 1 / STEP); },
    fit: function () { fit(active); },
    actual: function () { actual(active); },
  };
  Array.prototype.forEach.call(document.querySelectorAll("[data-pair-zoom]"), function (button) {
    button.addEventListener("click", function () { actions[button.dataset.pairZoom](); });
  });

  // Linking copies the view of the frame used last to both; unlinking gives each a copy of it.
  link.addEventListener("change", function () {
    if (linked()) {
      var from = active.own;
      shared.zoom = from.zoom; shared.cx = from.cx; shared.cy = from.cy;
    } else {
      panes.forEach(function (p) { p.own.zoom = shared.zoom; p.own.cx = shared.cx; p.own.cy = shared.cy; });
    }
    drawAll();
  });

  panes.forEach(function (pane) {
    var frame = pane.frame;
    frame.classList.add("js");
    frame.addEventListener("focus", function () { active = pane; drawAll(); });
    frame.addEventListener("wheel", function (ev) {
      ev.preventDefault();
      active = pane;
      var r = frame.getBoundingClientRect();
      var factor = Math.pow(1.0015, -ev.deltaY * (ev.deltaMode === 1 ? 30 : 1));
      zoomBy(pane, factor, ev.clientX - r.left, ev.clientY - r.top);
    }, { passive: false });

    var drag = null;
    frame.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) return;
      active = pane;
      drag = { id: ev.pointerId, x: ev.clientX, y: ev.clientY };
      frame.setPointerCapture(ev.pointerId);
      frame.classList.add("dragging");
    });
    frame.addEventListener("pointermove", function (ev) {
      if (!drag || ev.pointerId !== drag.id) return;
      pan(pane, ev.clientX - drag.x, ev.clientY - drag.y);
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
    pane.img.addEventListener("load", drawAll);
  });

  // Keys go to the viewer except while typing or choosing (the link checkbox is neither).
  function typing(el) {
    if (!el) return false;
    if (el.tagName === "INPUT") return !/^(checkbox|radio|button|submit)$/.test(el.type);
    return /^(SELECT|TEXTAREA)$/.test(el.tagName) || el.isContentEditable;
  }

  document.addEventListener("keydown", function (ev) {
    if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
    var arrows = { ArrowLeft: [PAN, 0], ArrowRight: [-PAN, 0], ArrowUp: [0, PAN], ArrowDown: [0, -PAN] };
    var inFrame = panes.filter(function (p) { return p.frame === ev.target; })[0];
    if (inFrame && arrows[ev.key]) {
      active = inFrame;
      pan(inFrame, arrows[ev.key][0], arrows[ev.key][1]);
    } else if (ev.key === "+" || ev.key === "=") {
      actions.in();
    } else if (ev.key === "-" || ev.key === "_") {
      actions.out();
    } else if (ev.key === "0") {
      actions.fit();
    } else if (ev.key === "1") {
      actions.actual();
    } else if (ev.key === "l" || ev.key === "L") {
      link.checked = !link.checked;
      link.dispatchEvent(new Event("change"));
    } else {
      return;
    }
    ev.preventDefault();
  });

  // "Show above": another image of the same eye in that eye's frame (the view stays).
  var shows = Array.prototype.slice.call(document.querySelectorAll(".show-in-pair"));
  function mark() {
    shows.forEach(function (button) {
      var pane = panes.filter(function (p) { return p.frame.id === "pair-frame-" + button.dataset.eye; })[0];
      button.setAttribute("aria-pressed", String(!!pane && pane.img.dataset.image === button.dataset.image));
    });
  }
  shows.forEach(function (button) {
    var pane = panes.filter(function (p) { return p.frame.id === "pair-frame-" + button.dataset.eye; })[0];
    var sameEye = shows.filter(function (b) { return b.dataset.eye === button.dataset.eye; });
    if (!pane || sameEye.length < 2) return;  // nothing else to show in that frame
    button.hidden = false;
    button.addEventListener("click", function () {
      pane.img.dataset.image = button.dataset.image;
      pane.img.width = Number(button.dataset.width) || pane.img.width;
      pane.img.height = Number(button.dataset.height) || pane.img.height;
      pane.img.src = button.dataset.src;
      pane.img.alt = pane.img.alt.replace(/fundus image .*$/, "fundus image " + button.dataset.title);
      var title = document.getElementById("pair-title-" + button.dataset.eye);
      if (title) { title.textContent = button.dataset.title; title.href = button.dataset.href; }
      mark();
      pane.frame.scrollIntoView({ block: "nearest" });
    });
  });
  mark();

  window.addEventListener("resize", drawAll);
  drawAll();
})();
