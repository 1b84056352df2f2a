// Dashboard conveniences; the page works without them (plain GET links and a plain POST form).
(function () {
  "use strict";
  var MAX = 50;
  var form = document.getElementById("bulk-form");

  // Lab units: offer only those of the chosen hospital.
  var hospital = document.getElementById("f-hospital");
  var unit = document.getElementById("f-lab-unit");
  function narrowUnits() {
    if (!hospital || !unit) return;
    var h = hospital.value;
    Array.prototype.forEach.call(unit.querySelectorAll("optgroup"), function (group) {
      var off = h !== "" && group.dataset.hospital !== h;
      group.hidden = off;
      group.disabled = off;
      if (off && group.contains(unit.selectedOptions[0])) unit.value = "";
    });
  }
  if (hospital) { hospital.addEventListener("change", narrowUnits); narrowUnits(); }

  // Per-card original/edited switch.
  Array.prototype.forEach.call(document.querySelectorAll(".card-toggle"), function (toggle) {
    var card = toggle.closest(".thumb-card");
    var img = card.querySelector(".thumb-frame img");
    var link = card.querySelector(".thumb-link");
    var name = card.querySelector(".thumb-name").textContent;
    toggle.hidden = false;
    toggle.addEventListener("click", function (e) {
      var button = e.target.closest("button[data-variant]");
      if (!button) return;
      var edited = button.dataset.variant === "edited";
      img.src = edited ? img.dataset.edited : img.dataset.original;
      img.alt = (edited ? "Edited version of fundus image " : "fundus image ") + name;
      var url = new URL(link.href);
      url.searchParams.set("variant", edited ? "edited" : "original");
      link.href = url.toString();
      Array.prototype.forEach.call(toggle.querySelectorAll("button"), function (b) {
        b.setAttribute("aria-pressed", b === button ? "true" : "false");
      });
    });
  });

  // Filters: blank fields are not sent, so the address holds only what narrows the images
  // (the server sends a blank-laden address on to the clean one too).
  var filterForm = document.getElementById("filter-form");
  // On a phone the filters start folded (the images come first) unless some are applied.
  var filterBox = document.getElementById("filters-details");
  if (filterBox && !("active" in filterBox.dataset) && window.matchMedia("(max-width: 560px)").matches) {
    filterBox.open = false;
  }
  function named() {
    return Array.prototype.filter.call(filterForm.elements, function (el) { return el.name; });
  }
  if (filterForm) {
    filterForm.addEventListener("submit", function () {
      named().forEach(function (el) { if (!el.value.trim()) el.disabled = true; });
    });
    // Coming back through the history: the fields disabled for the submit work again.
    window.addEventListener("pageshow", function () {
      named().forEach(function (el) { el.disabled = false; });
    });
  }

  // No selection controls when nothing on the page may be changed (a grader's dashboard).
  if (!form || !document.getElementById("select-all")) return;
  var boxes = Array.prototype.slice.call(form.querySelectorAll('input[type=checkbox][name=images]'));
  var all = document.getElementById("select-all");
  var allLabel = document.getElementById("select-all-label");
  var count = document.getElementById("selected-count");
  var limit = document.getElementById("select-limit");
  var buttons = form.querySelectorAll("[data-bulk]");
  all.hidden = allLabel.hidden = count.hidden = false;

  function checked() { return boxes.filter(function (b) { return b.checked; }); }
  function warn(text) { limit.textContent = text; limit.hidden = !text; }
  function update() {
    var n = checked().length;
    count.textContent = n + " selected";
    Array.prototype.forEach.call(buttons, function (b) { b.disabled = n === 0; });
    all.checked = n > 0 && n === Math.min(boxes.length, MAX);
    all.indeterminate = n > 0 && !all.checked;
    boxes.forEach(function (b) { b.closest(".thumb-card").classList.toggle("selected", b.checked); });
  }
  boxes.forEach(function (box) {
    box.addEventListener("change", function () {
      if (box.checked && checked().length > MAX) {
        box.checked = false;
        warn("Select at most " + MAX + " images at a time.");
      } else {
        warn("");
      }
      update();
    });
  });
  all.addEventListener("change", function () {
    var on = all.checked;
    boxes.forEach(function (b, i) { b.checked = on && i < MAX; });
    warn(on && boxes.length > MAX ? "Select at most " + MAX + " images at a time: the first " + MAX + " are selected." : "");
    update();
  });
  form.addEventListener("submit", function (e) {
    if (checked().length === 0 || checked().length > MAX) e.preventDefault();
  });
  update();
})();
