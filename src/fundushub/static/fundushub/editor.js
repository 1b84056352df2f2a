// The image editor: keeps an operations document (see images/editing.py), previews it with the
// same pipeline the server runs, and sends only the document. Strokes are stored in original-image
// coordinates; the preview works at screen resolution and maps every pointer position back.
(function () {
  "use strict";
  var root = document.getElementById("editor");
  if (!root) return;
  var config = JSON.parse(document.getElementById("editor-config").textContent);
  var W = config.width, H = config.height, LIMITS = config.limits;
  var PREVIEW_MAX = 1600; // longest side of the preview, in canvas pixels
  var s = Math.min(1, PREVIEW_MAX / Math.max(W, H)); // preview pixels per original pixel

  var canvas = document.getElementById("editor-canvas");
  var view = canvas.getContext("2d");
  var base = document.createElement("canvas"); // the original, upright, at preview scale
  var maskCanvas = document.createElement("canvas"); // strokes, same space as base
  var frame = document.createElement("canvas"); // the rendered result
  var scratch = document.createElement("canvas"); // the mask after geometry
  [base, maskCanvas].forEach(function (c) { c.width = Math.max(1, Math.round(W * s)); c.height = Math.max(1, Math.round(H * s)); });
  var maskCtx = maskCanvas.getContext("2d");

  var state = normalise(config.operations);
  var saved = JSON.stringify(state);
  var history = [clone(state)], at = 0, HISTORY_MAX = 200;
  var tool = null; // "brush" | "eraser" | "crop" | null
  var stroke = null, cropDraft = null, cropStart = null, pointer = null;
  var showOriginal = false, busy = false, ready = false, queued = false;
  var brushSize = Math.max(1, Math.min(LIMITS.max_size, Math.round(Math.max(W, H) / 50)));

  function $(sel) { return root.querySelector(sel); }
  function clone(o) { return JSON.parse(JSON.stringify(o)); }
  function normalise(ops) {
    return {
      rotate: ops.rotate || 0, flip_h: !!ops.flip_h, flip_v: !!ops.flip_v, crop: ops.crop || null,
      brightness: +ops.brightness || 1, contrast: +ops.contrast || 1, strokes: ops.strokes || [],
    };
  }

  // ---- geometry: 2D affine matrices [a, b, c, d, e, f] as canvas uses them ----
  function mul(A, B) { // A after B
    return [A[0] * B[0] + A[2] * B[1], A[1] * B[0] + A[3] * B[1], A[0] * B[2] + A[2] * B[3],
      A[1] * B[2] + A[3] * B[3], A[0] * B[4] + A[2] * B[5] + A[4], A[1] * B[4] + A[3] * B[5] + A[5]];
  }
  function inv(M) {
    var det = M[0] * M[3] - M[1] * M[2];
    return [M[3] / det, -M[1] / det, -M[2] / det, M[0] / det,
      (M[2] * M[5] - M[3] * M[4]) / det, (M[1] * M[4] - M[0] * M[5]) / det];
  }
  function apply(M, p) { return [M[0] * p[0] + M[2] * p[1] + M[4], M[1] * p[0] + M[3] * p[1] + M[5]]; }
  function turned(st) { return st.rotate % 180 ? [H, W] : [W, H]; }
  // Original coordinates → rotated (clockwise), then flipped, coordinates (no crop).
  function orient(st) {
    var R = { 0: [1, 0, 0, 1, 0, 0], 90: [0, 1, -1, 0, H, 0], 180: [-1, 0, 0, -1, W, H], 270: [0, -1, 1, 0, 0, W] }[st.rotate];
    var t = turned(st);
    if (st.flip_h) R = mul([-1, 0, 0, 1, t[0], 0], R);
    if (st.flip_v) R = mul([1, 0, 0, -1, 0, t[1]], R);
    return R;
  }
  // What the frame shows, in original units: the crop (unless cropping right now) or everything.
  function region(st, uncropped) {
    var t = turned(st);
    return st.crop && !uncropped ? st.crop : { x: 0, y: 0, w: t[0], h: t[1] };
  }
  // Original coordinates → frame pixels.
  function frameMatrix(st, uncropped) {
    var r = region(st, uncropped);
    return mul([s, 0, 0, s, -r.x * s, -r.y * s], orient(st));
  }

  // ---- tone: the server's table, exactly (images/editing.py tone_table) ----
  function toneTable(b, c) {
    var t = new Uint8ClampedArray(256);
    for (var v = 0; v < 256; v++) {
      var lit = Math.min(255, v * b), out = (lit - 127.5) * c + 127.5;
      t[v] = Math.floor(Math.min(255, Math.max(0, out)) + 0.5);
    }
    return t;
  }

  // ---- the mask: strokes replayed in order; brush adds, eraser removes ----
  function paintStroke(st, from) {
    var pts = st.points;
    maskCtx.save();
    maskCtx.globalCompositeOperation = st.tool === "eraser" ? "destination-out" : "source-over";
    maskCtx.fillStyle = maskCtx.strokeStyle = "#000";
    maskCtx.lineWidth = st.size * s;
    maskCtx.lineCap = maskCtx.lineJoin = "round";
    var start = Math.max(0, (from || 0) - 1);
    if (pts.length - start === 1) {
      maskCtx.beginPath();
      maskCtx.arc(pts[start][0] * s, pts[start][1] * s, st.size * s / 2, 0, 2 * Math.PI);
      maskCtx.fill();
    } else {
      maskCtx.beginPath();
      maskCtx.moveTo(pts[start][0] * s, pts[start][1] * s);
      for (var i = start + 1; i < pts.length; i++) maskCtx.lineTo(pts[i][0] * s, pts[i][1] * s);
      maskCtx.stroke();
    }
    maskCtx.restore();
  }
  function replayMask() {
    maskCtx.clearRect(0, 0, maskCanvas.width, maskCanvas.height);
    state.strokes.forEach(function (st) { paintStroke(st, 0); });
  }

  // ---- rendering ----
  function render() {
    if (!ready) return;
    var cropping = tool === "crop";
    var r = region(state, cropping), M = frameMatrix(state, cropping);
    var fw = Math.max(1, Math.round(r.w * s)), fh = Math.max(1, Math.round(r.h * s));
    frame.width = scratch.width = fw; frame.height = scratch.height = fh;
    var fctx = frame.getContext("2d"), sctx = scratch.getContext("2d");
    fctx.setTransform(M[0], M[1], M[2], M[3], M[4], M[5]);
    fctx.drawImage(base, 0, 0, W, H);
    var img = fctx.getImageData(0, 0, fw, fh), px = img.data;
    var toned = state.brightness !== 1 || state.contrast !== 1;
    var table = toned ? toneTable(state.brightness, state.contrast) : null;
    var masked = state.strokes.length > 0 || stroke;
    var mpx = null;
    if (masked) {
      sctx.setTransform(M[0], M[1], M[2], M[3], M[4], M[5]);
      sctx.drawImage(maskCanvas, 0, 0, W, H);
      mpx = sctx.getImageData(0, 0, fw, fh).data;
    }
    if (toned || masked) {
      for (var i = 0; i < px.length; i += 4) {
        if (mpx && mpx[i + 3] >= 128) { px[i] = px[i + 1] = px[i + 2] = 0; continue; }
        if (table) { px[i] = table[px[i]]; px[i + 1] = table[px[i + 1]]; px[i + 2] = table[px[i + 2]]; }
      }
      fctx.putImageData(img, 0, 0);
    }
    compose();
  }
  function compose() {
    var src = showOriginal ? base : frame;
    if (canvas.width !== src.width || canvas.height !== src.height) {
      canvas.width = src.width; canvas.height = src.height;
      fit();
    }
    view.setTransform(1, 0, 0, 1, 0, 0);
    view.clearRect(0, 0, canvas.width, canvas.height);
    view.drawImage(src, 0, 0);
    if (showOriginal) return;
    var shown = canvas.getBoundingClientRect().width;
    var px = shown > 0 ? canvas.width / shown : 1; // canvas px per CSS px
    if (tool === "crop" && cropDraft) {
      var c = cropDraft;
      view.fillStyle = "rgba(0, 0, 0, 0.55)";
      view.beginPath();
      view.rect(0, 0, canvas.width, canvas.height);
      view.rect(c.x * s, c.y * s, c.w * s, c.h * s);
      view.fill("evenodd");
      view.lineWidth = 2 * px; view.strokeStyle = "#f0b400";
      view.strokeRect(c.x * s, c.y * s, c.w * s, c.h * s);
    }
    if ((tool === "brush" || tool === "eraser") && pointer) {
      var p = apply(frameMatrix(state), pointer);
      view.lineWidth = 1.5 * px; view.strokeStyle = tool === "brush" ? "#f0b400" : "#7fd1ff";
      view.beginPath(); view.arc(p[0], p[1], brushSize * s / 2, 0, 2 * Math.PI); view.stroke();
    }
  }
  // Show the frame as large as the stage allows (small images are scaled up, big ones down).
  function fit() {
    var stage = document.getElementById("editor-stage");
    var narrow = window.innerWidth <= 1000;
    var maxW = stage.clientWidth - 20;
    var maxH = Math.max(240, narrow ? window.innerHeight * 0.7 : window.innerHeight - 240);
    var k = Math.min(maxW / canvas.width, maxH / canvas.height);
    canvas.style.width = Math.max(1, Math.floor(canvas.width * k)) + "px";
    canvas.style.height = Math.max(1, Math.floor(canvas.height * k)) + "px";
  }
  function schedule() {
    if (queued) return;
    queued = true;
    requestAnimationFrame(function () { queued = false; render(); });
  }

  // ---- state changes and history ----
  function commit(next) {
    state = next;
    history = history.slice(0, at + 1);
    history.push(clone(state));
    if (history.length > HISTORY_MAX) history.shift();
    at = history.length - 1;
    refresh(false);
  }
  function goTo(index) {
    if (index < 0 || index >= history.length || stroke) return;
    leaveCrop();
    at = index;
    state = clone(history[at]);
    refresh(true);
  }
  function refresh(strokesChanged) {
    if (strokesChanged) replayMask();
    syncControls();
    schedule();
  }
  function syncControls() {
    ["brightness", "contrast"].forEach(function (f) {
      root.querySelectorAll('[data-factor="' + f + '"]').forEach(function (input) {
        if (document.activeElement !== input || input.type === "range") input.value = state[f];
      });
    });
    $("#brush-size").value = $("#brush-size-value").value = brushSize;
    $('[data-action="undo"]').disabled = at === 0;
    $('[data-action="redo"]').disabled = at === history.length - 1;
    var cropping = tool === "crop";
    $('[data-action="crop"]').setAttribute("aria-pressed", String(cropping));
    $('[data-action="crop-apply"]').hidden = $('[data-action="crop-cancel"]').hidden = !cropping;
    $('[data-action="crop-remove"]').hidden = cropping || !state.crop;
    $("#crop-hint").hidden = $("#crop-fields").hidden = !cropping;
    root.querySelectorAll("[data-crop]").forEach(function (input) {
      if (cropping && cropDraft && document.activeElement !== input) input.value = cropDraft[input.dataset.crop];
    });
    $('[data-action="crop-apply"]').disabled = !(cropDraft && cropDraft.w >= 1 && cropDraft.h >= 1);
    root.querySelectorAll("[data-tool]").forEach(function (b) {
      b.setAttribute("aria-pressed", String(tool === b.dataset.tool));
    });
    canvas.classList.toggle("drawing", tool === "brush" || tool === "eraser" || cropping);
    $('[data-action="original"]').setAttribute("aria-pressed", String(showOriginal));
  }

  // Rotating or flipping turns what the user sees; the crop (in that frame) turns along.
  function turnCrop(st, kind) {
    if (!st.crop) return null;
    var c = st.crop, t = turned(st);
    if (kind === "right") return { x: t[1] - c.y - c.h, y: c.x, w: c.h, h: c.w };
    if (kind === "left") return { x: c.y, y: t[0] - c.x - c.w, w: c.h, h: c.w };
    if (kind === "h") return { x: t[0] - c.x - c.w, y: c.y, w: c.w, h: c.h };
    return { x: c.x, y: t[1] - c.y - c.h, w: c.w, h: c.h };
  }
  function leaveCrop() { if (tool === "crop") { tool = null; cropDraft = null; } }
  function rotate(clockwise) {
    leaveCrop();
    var next = clone(state);
    next.crop = turnCrop(state, clockwise ? "right" : "left");
    // A flip in between mirrors the sense of turning (rotation is applied before the flips).
    var delta = (clockwise ? 90 : -90) * (state.flip_h !== state.flip_v ? -1 : 1);
    next.rotate = (state.rotate + delta + 360) % 360;
    commit(next);
  }
  function flip(axis) {
    leaveCrop();
    var next = clone(state);
    next.crop = turnCrop(state, axis);
    next[axis === "h" ? "flip_h" : "flip_v"] = !state[axis === "h" ? "flip_h" : "flip_v"];
    commit(next);
  }
  function fullFrame() { var t = turned(state); return { x: 0, y: 0, w: t[0], h: t[1] }; }
  function setTool(next) {
    if (tool === "crop" && next !== "crop") cropDraft = null;
    tool = tool === next ? null : next;
    if (tool === "crop") cropDraft = state.crop ? clone(state.crop) : fullFrame();
    syncControls();
    schedule();
  }

  // ---- pointer: drawing and cropping ----
  function framePoint(e) {
    var rect = canvas.getBoundingClientRect();
    return [(e.clientX - rect.left) * canvas.width / rect.width, (e.clientY - rect.top) * canvas.height / rect.height];
  }
  function originalPoint(e) {
    var p = apply(inv(frameMatrix(state)), framePoint(e));
    return [Math.min(W, Math.max(0, Math.round(p[0] * 10) / 10)), Math.min(H, Math.max(0, Math.round(p[1] * 10) / 10))];
  }
  function turnedPoint(e) { // for cropping: rotated + flipped coordinates, integers
    var p = framePoint(e), t = turned(state);
    return [Math.min(t[0], Math.max(0, Math.round(p[0] / s))), Math.min(t[1], Math.max(0, Math.round(p[1] / s)))];
  }
  function countPoints() {
    return state.strokes.reduce(function (n, st) { return n + st.points.length; }, 0);
  }
  canvas.addEventListener("pointerdown", function (e) {
    if (showOriginal || !ready || e.button > 0) return;
    if (tool === "brush" || tool === "eraser") {
      if (state.strokes.length >= LIMITS.max_strokes || countPoints() >= LIMITS.max_points) {
        return error("This edit has as many strokes as one edit may hold; save it, or undo some strokes.");
      }
      stroke = { tool: tool, size: brushSize, points: [originalPoint(e)] };
      paintStroke(stroke, 0);
    } else if (tool === "crop") {
      cropStart = turnedPoint(e);
      cropDraft = { x: cropStart[0], y: cropStart[1], w: 0, h: 0 };
    } else return;
    try { canvas.setPointerCapture(e.pointerId); } catch (err) { /* a pointer already gone */ }
    e.preventDefault();
    schedule();
  });
  canvas.addEventListener("pointermove", function (e) {
    if (tool === "brush" || tool === "eraser") pointer = originalPoint(e);
    if (stroke) {
      var p = originalPoint(e), last = stroke.points[stroke.points.length - 1];
      var far = Math.hypot(p[0] - last[0], p[1] - last[1]) >= Math.max(1, stroke.size / 8);
      if (far && countPoints() + stroke.points.length < LIMITS.max_points) {
        stroke.points.push(p);
        paintStroke(stroke, stroke.points.length - 1);
      }
    } else if (cropStart) {
      var q = turnedPoint(e);
      cropDraft = { x: Math.min(cropStart[0], q[0]), y: Math.min(cropStart[1], q[1]),
        w: Math.abs(q[0] - cropStart[0]), h: Math.abs(q[1] - cropStart[1]) };
      syncControls();
    }
    schedule();
  });
  function finish() {
    if (stroke) {
      var next = clone(state);
      next.strokes.push(stroke);
      stroke = null;
      commit(next);
    }
    cropStart = null;
  }
  canvas.addEventListener("pointerup", finish);
  canvas.addEventListener("pointercancel", finish);
  canvas.addEventListener("pointerleave", function () { pointer = null; schedule(); });

  // ---- controls ----
  var actions = {
    "rotate-left": function () { rotate(false); },
    "rotate-right": function () { rotate(true); },
    "flip-h": function () { flip("h"); },
    "flip-v": function () { flip("v"); },
    crop: function () { setTool("crop"); },
    "crop-apply": function () {
      var next = clone(state);
      next.crop = cropDraft;
      tool = null; cropDraft = null;
      commit(next);
    },
    "crop-cancel": function () { setTool(null); },
    "crop-remove": function () { var next = clone(state); next.crop = null; commit(next); },
    undo: function () { goTo(at - 1); },
    redo: function () { goTo(at + 1); },
    reset: function () {
      if (tool === "crop") setTool(null);
      commit(normalise({}));
      replayMask();
      schedule();
    },
    original: function () { showOriginal = !showOriginal; syncControls(); schedule(); },
    save: save,
  };
  root.addEventListener("click", function (e) {
    var button = e.target.closest("button[data-action], button[data-tool]");
    if (!button || !root.contains(button)) return;
    if (button.dataset.tool) { setTool(button.dataset.tool); return; }
    if (button.dataset.action === "original" && held) { held = false; return; }
    actions[button.dataset.action]();
  });
  // "Show original" also works while held: press, look, let go.
  var held = false, holdTimer = null;
  var originalButton = $('[data-action="original"]');
  originalButton.addEventListener("pointerdown", function () {
    holdTimer = setTimeout(function () { held = true; showOriginal = true; syncControls(); schedule(); }, 300);
  });
  ["pointerup", "pointerleave", "pointercancel"].forEach(function (type) {
    originalButton.addEventListener(type, function () {
      clearTimeout(holdTimer);
      if (held) { showOriginal = false; syncControls(); schedule(); if (type !== "pointerup") held = false; }
    });
  });

  root.querySelectorAll("[data-factor]").forEach(function (input) {
    input.min = LIMITS.min_factor; input.max = LIMITS.max_factor;
    input.addEventListener("input", function () {
      var v = parseFloat(input.value);
      if (!(v >= LIMITS.min_factor && v <= LIMITS.max_factor)) return;
      state[input.dataset.factor] = Math.round(v * 100) / 100;
      syncControls();
      schedule();
    });
    input.addEventListener("change", function () {
      var v = parseFloat(input.value);
      if (!(v >= LIMITS.min_factor && v <= LIMITS.max_factor)) { syncControls(); return; }
      var next = clone(history[at]);
      next.brightness = state.brightness; next.contrast = state.contrast;
      next[input.dataset.factor] = Math.round(v * 100) / 100;
      if (next[input.dataset.factor] !== history[at][input.dataset.factor]) commit(next);
    });
  });
  // The crop typed in: whole image pixels, kept inside the (turned) image.
  root.querySelectorAll("[data-crop]").forEach(function (input) {
    input.addEventListener("input", function () {
      var t = turned(state), c = cropDraft || fullFrame(), v = {};
      root.querySelectorAll("[data-crop]").forEach(function (i) {
        var n = parseInt(i.value, 10);
        v[i.dataset.crop] = isNaN(n) ? c[i.dataset.crop] : n;
      });
      var x = Math.min(Math.max(0, v.x), t[0] - 1), y = Math.min(Math.max(0, v.y), t[1] - 1);
      cropDraft = { x: x, y: y, w: Math.min(Math.max(1, v.w), t[0] - x), h: Math.min(Math.max(1, v.h), t[1] - y) };
      syncControls();
      schedule();
    });
    input.addEventListener("change", syncControls);
  });
  [$("#brush-size"), $("#brush-size-value")].forEach(function (input) {
    input.max = LIMITS.max_size;
    input.addEventListener("input", function () {
      var v = parseInt(input.value, 10);
      if (v >= 1 && v <= LIMITS.max_size) { brushSize = v; syncControls(); schedule(); }
    });
    input.addEventListener("change", syncControls);
  });
  document.addEventListener("keydown", function (e) {
    if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
    var t = e.target;
    if (t && t.tagName === "INPUT" && t.type === "number") return; // its own undo
    var key = e.key.toLowerCase();
    if (key === "z" && !e.shiftKey) { e.preventDefault(); goTo(at - 1); }
    else if (key === "y" || (key === "z" && e.shiftKey)) { e.preventDefault(); goTo(at + 1); }
  });
  window.addEventListener("resize", function () { fit(); schedule(); });
  window.addEventListener("beforeunload", function (e) {
    if (!busy && JSON.stringify(state) !== saved) { e.preventDefault(); e.returnValue = ""; }
  });

  // ---- saving: only the operations travel; the server answers with JSON ----
  function error(message) {
    var box = $("#editor-error");
    box.textContent = message;
    box.hidden = !message;
    if (message) status("");
  }
  function status(message) { $("#editor-status").textContent = message; }
  function save() {
    if (busy) return;
    if (tool === "crop") setTool(null);
    var button = $('[data-action="save"]');
    busy = true; button.disabled = true;
    error(""); status("Saving…");
    fetch(root.dataset.saveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        Accept: "application/json",
        "X-CSRFToken": root.querySelector("[name=csrfmiddlewaretoken]").value,
      },
      body: JSON.stringify(state),
    }).then(function (r) {
      var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      return (json ? r.json() : Promise.resolve({})).then(function (body) {
        if (r.ok && body.redirect) {
          saved = JSON.stringify(state);
          status("Saved.");
          window.location.assign(body.redirect);
          return;
        }
        busy = false; button.disabled = false;
        error(body.error || (r.status === 403
          ? "Not saved: your session may have expired (HTTP 403). Reload the page and try again."
          : "Not saved: the server answered HTTP " + r.status + "."));
      });
    }).catch(function () {
      busy = false; button.disabled = false;
      error("Not saved: the server could not be reached. Check the connection and try again.");
    });
  }

  // ---- masks over burned-in text found at ingest: one undoable step, not yet saved ----
  function placeTextMasks() {
    var data = document.getElementById("editor-text-masks");
    if (!data) return false;
    var strokes = JSON.parse(data.textContent).strokes || [];
    if (!strokes.length) return false;
    var next = clone(state);
    next.strokes = next.strokes.concat(strokes);
    commit(next);
    status(strokes.length === 1 ? "A mask was placed over possible patient text: check it, then save."
      : strokes.length + " masks were placed over possible patient text: check them, then save.");
    return true;
  }

  // ---- start: the display copy of the original (never the edited variant) ----
  var source = new Image();
  source.onload = function () {
    base.getContext("2d").drawImage(source, 0, 0, base.width, base.height);
    ready = true;
    var placed = placeTextMasks();
    replayMask();
    syncControls();
    if (!placed) status("");
    render();
    root.dataset.ready = "true";
  };
  source.onerror = function () { error("The image could not be loaded for editing. Reload the page to try again."); };
  root.hidden = false;
  document.getElementById("editor-needs-js").hidden = true;
  syncControls();
  status("Loading the image…");
  source.src = root.dataset.source;
})();
