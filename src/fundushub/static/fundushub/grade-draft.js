// Grade form: what the grader types is kept in this tab (sessionStorage) until it is recorded, so
// a session that ended meanwhile (signed out in another tab, expired) loses nothing: the form's
// POST goes to the sign-in page, which returns here, and the grade and notes are filled in again.
// The draft is dropped once the newest recorded revision holds exactly what it held.
(function () {
  "use strict";
  var form = document.querySelector("form[data-grade-draft]");
  if (!form || !window.sessionStorage) return;
  var key = "fundushub.gradeDraft." + form.dataset.gradeDraft;
  var grade = form.querySelector("[name=grade]");
  var notes = form.querySelector("[name=notes]");

  function read() {
    try {
      return JSON.parse(sessionStorage.getItem(key));
    } catch (e) {
      return null;
    }
  }

  function forget() {
    try { sessionStorage.removeItem(key); } catch (e) { /* nothing was kept */ }
  }

  function keep() {
    if (!grade.value && !notes.value.trim()) return forget();
    try {
      sessionStorage.setItem(key, JSON.stringify({ grade: grade.value, notes: notes.value }));
    } catch (e) { /* storage full or disabled: the form still works, unkept */ }
  }

  function recorded(draft) {
    return draft.grade === form.dataset.currentGrade &&
      draft.notes.trim() === (form.dataset.currentNotes || "");
  }

  function say(text) {
    var box = document.createElement("p");
    box.className = "alert alert-info draft-restored";
    box.setAttribute("role", "status");
    box.id = "draft-restored";
    box.textContent = text + " ";
    var discard = document.createElement("button");
    discard.type = "button";
    discard.className = "link";
    discard.textContent = "Discard them";
    discard.addEventListener("click", function () {
      grade.value = "";
      notes.value = "";
      forget();
      box.remove();
      notes.focus();
    });
    box.appendChild(discard);
    form.insertBefore(box, form.querySelector(".grade-fields"));
  }

  var draft = read();
  if (draft && recorded(draft)) {
    forget();
  } else if (draft && !grade.value && !notes.value) {
    // The page came back empty (not a refused form the server filled in): put the draft back.
    if (draft.grade && Array.prototype.some.call(grade.options, function (o) { return o.value === draft.grade; })) {
      grade.value = draft.grade;
    }
    notes.value = draft.notes || "";
    say("The grade and notes you typed before were not recorded yet; they are filled in again.");
  }
  grade.addEventListener("change", keep);
  notes.addEventListener("input", keep);
})();
