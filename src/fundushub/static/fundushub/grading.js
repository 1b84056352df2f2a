/* The grading form by keyboard alone, and the live outcome preview.

   Each field is a radio group (fieldset data-eye data-field). Focus starts on the first field
   (right eye, first field); a value's key (data-key, e.g. 0-4 or U) picks it and moves to the
   next field: right eye R, M, P, then left eye R, M, P, then the reason (arbitration) or the save
   button. Backspace goes back a field, Enter saves and opens the next examination, Esc gives the
   examination back (the "Give back" button). Without this script the form still works: radio
   groups, Tab and the buttons.

   The preview applies the programme's rules (data-rules, the same order and logic as the server's
   outcomes.decide) once every field has a value; the server decides again on save. */
(function () {
  "use strict";
  var form = document.getElementById("grade-form");
  if (!form) return;
  var groups = Array.prototype.slice.call(form.querySelectorAll("fieldset.grade-field"));
  var saveNext = document.getElementById("save-next");
  var release = document.getElementById("release");
  var reason = document.getElementById("reason");
  var preview = document.getElementById("outcome-preview");
  var rules = [];
  try { rules = JSON.parse(form.getAttribute("data-rules") || "[]"); } catch (e) { rules = []; }

  function radios(group) {
    return Array.prototype.slice.call(group.querySelectorAll("input[type=radio]"));
  }
  function chosen(group) {
    return radios(group).filter(function (r) { return r.checked; })[0] || null;
  }
  function groupIndex(element) {
    for (var i = 0; i < groups.length; i++) if (groups[i].contains(element)) return i;
    return -1;
  }
  function focusGroup(i) {
    var group = groups[i];
    if (!group) return;
    (chosen(group) || radios(group)[0]).focus();
  }
  function afterLast() {
    if (reason && !reason.value.trim()) reason.focus();
    else if (saveNext) saveNext.focus();
  }
  function focusNext(i) {
    if (i + 1 < groups.length) focusGroup(i + 1); else afterLast();
  }
  function missing() {
    return groups.filter(function (g) { return !chosen(g); });
  }

  function values() {
    var v = { right: {}, left: {} };
    groups.forEach(function (g) {
      var r = chosen(g);
      if (r) v[g.getAttribute("data-eye")][g.getAttribute("data-field")] = r.value;
    });
    return v;
  }
  function holds(rule, v) {
    if (!rule.field) return true;
    var hits = ["right", "left"].map(function (eye) {
      return rule.values.indexOf(v[eye][rule.field]) !== -1;
    });
    return rule.eyes === "both" ? hits[0] && hits[1] : hits[0] || hits[1];
  }
  function decide(v) {
    for (var i = 0; i < rules.length; i++) if (holds(rules[i], v)) return rules[i];
    return null;
  }
  function update() {
    if (!preview) return;
    var left = missing();
    preview.classList.remove("referable");
    if (left.length) {
      preview.textContent = left.length === groups.length
        ? "Outcome: grade every field to see it."
        : "Outcome: " + left.length + " field" + (left.length === 1 ? "" : "s") + " still to grade (" +
          left.map(function (g) { return g.getAttribute("data-name"); }).join("; ") + ").";
      return;
    }
    var rule = decide(values());
    if (!rule) return;
    preview.textContent = "";
    var strong = document.createElement("strong");
    strong.textContent = "Outcome: " + rule.label;
    preview.appendChild(strong);
    preview.appendChild(document.createTextNode(" — rule: " + rule.description));
    if (/^refer_/.test(rule.outcome)) preview.classList.add("referable");
  }

  form.addEventListener("change", update);

  form.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey || e.key === "Escape") return;
    var i = groupIndex(document.activeElement);
    if (i < 0) {
      // Backspace on a button (not in a text box) goes back to the last field.
      if (e.key === "Backspace" && document.activeElement.tagName === "BUTTON" && groups.length) {
        e.preventDefault();
        focusGroup(groups.length - 1);
      }
      return; // text boxes keep their keys; Enter in one submits with the default button
    }
    if (e.key === "Enter") {
      e.preventDefault();
      if (saveNext) form.requestSubmit(saveNext);
    } else if (e.key === "Backspace") {
      e.preventDefault();
      if (i > 0) focusGroup(i - 1);
    } else if (e.key.length === 1) {
      var key = e.key.toLowerCase();
      var radio = radios(groups[i]).filter(function (r) {
        return (r.getAttribute("data-key") || "").toLowerCase() === key;
      })[0];
      if (radio) {
        e.preventDefault();
        radio.checked = true;
        update();
        focusNext(i);
      }
    }
  });

  // Esc anywhere on the page gives the examination back (a revision has nothing to give back).
  document.addEventListener("keydown", function (e) {
    if (e.key !== "Escape" || !release || e.defaultPrevented) return;
    e.preventDefault();
    form.requestSubmit(release);
  });

  // Saving an incomplete form: say what is missing and go there, rather than a round trip.
  form.addEventListener("submit", function (e) {
    if (e.submitter && e.submitter === release) return;
    var left = missing();
    if (left.length) {
      e.preventDefault();
      update();
      focusGroup(groups.indexOf(left[0]));
    } else if (reason && !reason.value.trim()) {
      e.preventDefault();
      if (preview) preview.textContent = "Say why you decided as you did: the reason is kept with the outcome.";
      reason.focus();
    }
  });

  update();
  // The grading form takes focus at its first field still to grade (after an error, too).
  if (form.hasAttribute("data-autofocus") && groups.length) {
    var first = missing()[0];
    focusGroup(first ? groups.indexOf(first) : 0);
  }
})();
