// Subject and eye of each file on the direct-upload form.
//
// FundusLabels holds the rules, the same as the server's (lib/eyes.py, uploads/manifest.py,
// uploads/subjects.py): which eye a file name names, what a subject identifier may be, and how a
// CSV manifest reads. FundusLabels.attach(form, hooks) runs the form's part: the subject source,
// a subject and an eye control on each row of the file list, the manifest dropped with the images,
// and asking the server which subjects a pattern reads from the names and which of them the
// hospital's registry does not know, so the list shows what the upload would be refused for.
// The server works everything out again from what is sent; only what was typed or chosen per file
// is sent per file.
(function () {
  "use strict";

  // ---- The rules ----

  var SPELLINGS = {
    L: "left", LE: "left", OS: "left", LEFT: "left",
    R: "right", RE: "right", OD: "right", RIGHT: "right",
    OU: "both",
  };
  var EYE_NAMES = { left: "Left eye", right: "Right eye", both: "Both eyes", unknown: "Unknown eye" };
  // A word: letters, digits and combining marks of any script (a mark belongs to its letter).
  var WORD = /[\p{L}\p{N}\p{M}]+/gu;
  var ASCII = /^[\x00-\x7f]+$/;
  var IDENTIFIER = /^[\p{L}\p{N}][\p{L}\p{N}_.\-]*$/u;
  var SUBJECT_MAX = 50;
  var MANIFEST_MAX_BYTES = 64000;
  var MANIFEST_MAX_ROWS = 1000;

  function stemOf(name) {
    var dot = name.lastIndexOf(".");
    var stem = dot === -1 ? name : name.slice(0, dot);
    return stem.normalize("NFC"); // a decomposed é (macOS names) is one letter
  }

  function normaliseEye(value) {
    var text = String(value == null ? "" : value).replace(/\s+/g, "");
    if (!ASCII.test(text)) return null;
    return SPELLINGS[text.toUpperCase()] || null;
  }

  // The eye a name names by a word of its own, or null (none, or two different ones).
  function eyeInFilename(name) {
    var eyes = {};
    (stemOf(name).match(WORD) || []).forEach(function (word) {
      var eye = ASCII.test(word) ? normaliseEye(word) : null;
      if (eye) eyes[eye] = true;
    });
    var found = Object.keys(eyes);
    return found.length === 1 ? found[0] : null;
  }

  function quoted(value) { // as Python's repr shows a string in the server's messages
    return "'" + value + "'";
  }

  // {value, error}: the identifier without surrounding spaces, or why it cannot be one.
  function cleanSubject(raw, where) {
    var value = String(raw == null ? "" : raw).trim();
    if (!value) return { value: "", error: "" };
    if (Array.from(value).length > SUBJECT_MAX || !IDENTIFIER.test(value)) {
      var shown = value.length <= 60 ? value : value.slice(0, 60) + "\u2026";
      return {
        value: value,
        error: (where || "") + "The subject " + quoted(shown) + " is not a valid identifier: use at most " +
          SUBJECT_MAX + ' letters, digits, "-", "_" or ".", starting with a letter or digit.',
      };
    }
    return { value: value, error: "" };
  }

  function eyeFromManifest(raw) {
    var value = raw.trim();
    if (!value) return "";
    if (["unknown", "?", "-"].indexOf(value.toLowerCase()) !== -1) return "unknown";
    var eye = normaliseEye(value);
    if (!eye) throw new Error("the eye " + quoted(value.slice(0, 20)) + " is not left, right, both or unknown");
    return eye;
  }

  // CSV records with the line each ends on; quotes as Python's csv module reads them (strict).
  function csvRecords(text, delimiter) {
    var records = [], record = [], cell = "", line = 1, i = 0, quotedCell = false, n = text.length;
    function endCell() { record.push(cell); cell = ""; quotedCell = false; }
    function endRecord() { endCell(); records.push({ cells: record, line: line }); record = []; }
    while (i < n) {
      var ch = text[i];
      if (ch === '"' && cell === "" && !quotedCell) {
        quotedCell = true;
        i += 1;
        for (;;) {
          if (i >= n) throw new Error("line " + line + ": unexpected end of data");
          if (text[i] === '"') {
            if (text[i + 1] === '"') { cell += '"'; i += 2; continue; }
            i += 1;
            break;
          }
          if (text[i] === "\n") line += 1;
          cell += text[i];
          i += 1;
        }
        if (i < n && text[i] !== delimiter && text[i] !== "\n" && text[i] !== "\r") {
          throw new Error("line " + line + ": '" + delimiter + "' expected after '\"'");
        }
        continue;
      }
      if (ch === delimiter) { endCell(); i += 1; continue; }
      if (ch === "\r" || ch === "\n") {
        endRecord();
        i += ch === "\r" && text[i + 1] === "\n" ? 2 : 1;
        line += 1;
        continue;
      }
      cell += ch;
      i += 1;
    }
    if (cell !== "" || record.length || quotedCell) endRecord();
    return records;
  }

  // {rows: {lower-case name: {subject, eye}}, error: ""}: the server's parse, for the list.
  function parseManifest(text) {
    var rows = {}, lines = {}, columns = null, count = 0;
    function fail(message) { return { rows: {}, error: message }; }
    if (new Blob([text]).size > MANIFEST_MAX_BYTES) {
      return fail("The manifest is too large (at most " + MANIFEST_MAX_BYTES / 1000 + " kB).");
    }
    if (text.indexOf("\x00") !== -1) return fail("The manifest is not text (it contains NUL characters).");
    text = text.replace(/^\ufeff/, "");
    var first = text.split("\n", 1)[0];
    var delimiter = first.indexOf(";") !== -1 && first.indexOf(",") === -1 ? ";" : ",";
    var records;
    try {
      records = csvRecords(text, delimiter);
    } catch (e) {
      return fail("The manifest is not valid CSV (" + e.message + ").");
    }
    for (var r = 0; r < records.length; r++) {
      var cells = records[r].cells, where = "Manifest line " + records[r].line + ": ";
      if (!cells.some(function (c) { return c.trim(); })) continue;
      if (!columns) {
        var names = cells.map(function (c) { return c.trim().toLowerCase(); });
        if (names.indexOf("filename") === -1 || names.indexOf("subject") === -1) {
          return fail("The manifest's first row must name its columns: filename,subject (and eye if any).");
        }
        columns = { filename: names.indexOf("filename"), subject: names.indexOf("subject"), eye: names.indexOf("eye") };
        continue;
      }
      if (count === MANIFEST_MAX_ROWS) return fail("The manifest has more than " + MANIFEST_MAX_ROWS + " rows.");
      var cellAt = function (i) { return i >= 0 && i < cells.length ? cells[i] : ""; };
      var name = cellAt(columns.filename).trim();
      if (!name) return fail(where + "no file name.");
      if (Array.from(name).length > 255) return fail(where + "the file name is longer than 255 characters.");
      var eye;
      try {
        eye = eyeFromManifest(cellAt(columns.eye));
      } catch (e) {
        return fail(where + e.message + ".");
      }
      var subject = cleanSubject(cellAt(columns.subject), where);
      if (subject.error) return fail(subject.error);
      var key = name.toLowerCase();
      if (rows[key]) return fail(where + name + " is listed twice (also on line " + lines[key] + ").");
      rows[key] = { subject: subject.value, eye: eye };
      lines[key] = records[r].line;
      count += 1;
    }
    if (!columns) return fail("The manifest is empty.");
    return { rows: rows, error: "" };
  }

  function isManifestFile(file) {
    return /\.csv$/i.test(file.name) || file.type === "text/csv";
  }

  // ---- The form's part ----

  function attach(form, hooks) {
    var $ = function (id) { return document.getElementById(id); };
    var sources = Array.prototype.slice.call(form.querySelectorAll('input[name="subject_source"]'));
    var subjectInput = $("subject"), patternInput = $("subject_pattern"), manifestArea = $("manifest");
    var eyeFromName = $("eye_from_name"), area = $("area");
    var STORE_KEY = "fundushub.directUpload.labels.v1." + (form.dataset.user || "");
    var manifest = { rows: {}, error: "" };
    // What the server last said: subjects read from names, unknown subjects, pattern error.
    var server = { key: "", names: {}, unknown: {}, registry: false, hospital: "", patternError: "", pending: null };
    var timer = null;
    var entriesNow = [];

    function source() {
      var on = sources.filter(function (s) { return s.checked; })[0];
      return on ? on.value : "none";
    }

    function showSource() {
      var s = source();
      $("subject-field").hidden = s !== "typed";
      $("pattern-field").hidden = s !== "filename";
      $("manifest-field").hidden = s !== "manifest";
    }

    function remember() {
      try {
        localStorage.setItem(STORE_KEY, JSON.stringify({
          source: source(), pattern: patternInput.value, eyeFromName: eyeFromName.checked,
        }));
      } catch (e) { /* nothing to remember with */ }
    }

    function restore() {
      var saved = {};
      try { saved = JSON.parse(localStorage.getItem(STORE_KEY)) || {}; } catch (e) { saved = {}; }
      sources.forEach(function (s) { if (s.value === saved.source) s.checked = true; });
      if (typeof saved.pattern === "string") patternInput.value = saved.pattern;
      if (typeof saved.eyeFromName === "boolean") eyeFromName.checked = saved.eyeFromName;
    }

    function readManifest() {
      manifest = manifestArea.value.trim() ? parseManifest(manifestArea.value) : { rows: {}, error: "" };
      var note = $("manifest-error");
      note.textContent = manifest.error;
      note.hidden = !manifest.error;
    }

    // ---- Each file's subject and eye, as the server will work them out ----

    function subjectOf(entry) {
      var own = cleanSubject(entry.subjectEl ? entry.subjectEl.value : "");
      if (own.value) return { value: own.value, how: "typed for this file", error: own.error };
      var s = source();
      if (s === "typed") {
        var typed = cleanSubject(subjectInput.value);
        return { value: typed.value, how: "for all files", error: typed.error };
      }
      if (s === "manifest") {
        var row = manifest.rows[entry.file.name.toLowerCase()];
        return row ? { value: row.subject, how: "from the manifest" } : { value: "", how: "not in the manifest" };
      }
      if (s === "filename") {
        var found = server.names[entry.file.name];
        if (!found) {
          var waiting = !hooks.hospital() ? "choose a hospital to read the name" : "reading the name…";
          return { value: "", how: server.patternError ? "pattern cannot be used" : waiting };
        }
        return { value: found.subject, how: found.subject ? "from the name" : "none in the name", error: found.error };
      }
      return { value: "", how: "" };
    }

    function eyeOf(entry) {
      var own = entry.eyeEl ? entry.eyeEl.value : "";
      return own ? { eye: own, how: "chosen" } : autoEyeOf(entry);
    }

    // The eye a file gets unless one is chosen for it.
    function autoEyeOf(entry) {
      var row = source() === "manifest" ? manifest.rows[entry.file.name.toLowerCase()] : null;
      if (row && row.eye) return { eye: row.eye, how: "from the manifest" };
      var named = eyeFromName.checked ? eyeInFilename(entry.file.name) : null;
      if (named) return { eye: named, how: "from the name" };
      var chosen = area.value ? area.options[area.selectedIndex].textContent.trim() : "";
      return { eye: "", how: "area chosen above", area: chosen };
    }

    function eyeText(eye) {
      if (eye.eye) return EYE_NAMES[eye.eye] + " (" + eye.how + ")";
      return eye.area ? eye.area + " (" + eye.how + ")" : "The area chosen above";
    }

    // ---- The controls on each row ----

    var nextControl = 1;

    // "Subject" on screen, "Subject of a.jpg" to a screen reader.
    function label(target, word, name) {
      var element = document.createElement("label");
      element.htmlFor = target;
      element.textContent = word;
      var of = document.createElement("span");
      of.className = "visually-hidden";
      of.textContent = " of " + name;
      element.appendChild(of);
      return element;
    }

    function controlsFor(entry) {
      var id = "file-" + nextControl++;
      var box = document.createElement("div");
      box.className = "file-labels";
      var subjectLabel = label(id + "-subject", "Subject", entry.file.name);
      var subject = document.createElement("input");
      subject.type = "text";
      subject.id = id + "-subject";
      subject.maxLength = SUBJECT_MAX;
      subject.spellcheck = false;
      subject.className = "file-subject";
      var eyeLabel = label(id + "-eye", "Eye", entry.file.name);
      var eye = document.createElement("select");
      eye.id = id + "-eye";
      eye.className = "file-eye";
      [["", ""], ["left", "Left eye"], ["right", "Right eye"], ["both", "Both eyes"], ["unknown", "Unknown eye"]]
        .forEach(function (pair) {
          var option = document.createElement("option");
          option.value = pair[0];
          option.textContent = pair[1];
          eye.appendChild(option);
        });
      var badge = document.createElement("span");
      badge.className = "badge badge-eye-unknown";
      badge.textContent = "Unknown eye";
      badge.hidden = true;
      var note = document.createElement("span");
      note.className = "label-note";
      note.id = id + "-note";
      subject.setAttribute("aria-describedby", note.id);
      eye.setAttribute("aria-describedby", note.id);
      box.append(subjectLabel, subject, eyeLabel, eye, badge, note);
      entry.subjectEl = subject;
      entry.eyeEl = eye;
      entry.eyeBadge = badge;
      entry.labelNote = note;
      subject.addEventListener("input", function () { changed(true); });
      eye.addEventListener("change", function () { changed(false); });
      return box;
    }

    function update(entries) {
      entriesNow = entries;
      entries.forEach(function (entry) {
        if (!entry.subjectEl) return;
        var subject = subjectOf(entry), eye = eyeOf(entry);
        var placeholder = subject.value && !entry.subjectEl.value.trim()
          ? subject.value + " (" + subject.how + ")" : (subject.how ? "No subject (" + subject.how + ")" : "No subject");
        if (entry.subjectEl.placeholder !== placeholder) entry.subjectEl.placeholder = placeholder;
        var auto = entry.eyeEl.options[0], autoText = eyeText(autoEyeOf(entry));
        if (auto.textContent !== autoText) auto.textContent = autoText;
        var unknownEye = eye.eye === "unknown";
        entry.eyeBadge.hidden = !unknownEye;
        entry.li.classList.toggle("eye-unknown", unknownEye);
        var problem = subject.error || (subject.value && server.unknown[subject.value]
          ? "Not in the subject registry of " + server.hospital : "");
        if (entry.labelNote.textContent !== problem) entry.labelNote.textContent = problem;
        entry.li.classList.toggle("label-problem", !!problem);
        if (problem) entry.subjectEl.setAttribute("aria-invalid", "true");
        else entry.subjectEl.removeAttribute("aria-invalid");
      });
    }

    // ---- Asking the server ----

    function question(entries) {
      var s = source(), subjects = {};
      function add(value) { var c = cleanSubject(value); if (c.value && !c.error) subjects[c.value] = true; }
      if (s === "typed") add(subjectInput.value);
      if (s === "manifest") Object.keys(manifest.rows).forEach(function (k) { add(manifest.rows[k].subject); });
      entries.forEach(function (e) { if (e.subjectEl) add(e.subjectEl.value); });
      return {
        hospital: Number(hooks.hospital()),
        pattern: s === "filename" ? patternInput.value.trim() : "",
        names: s === "filename" ? entries.map(function (e) { return e.file.name; }).slice(0, 1000) : [],
        subjects: Object.keys(subjects).slice(0, 1000),
      };
    }

    function ask() {
      clearTimeout(timer);
      var body = question(entriesNow);
      var key = JSON.stringify(body);
      if (!body.hospital || (!body.names.length && !body.subjects.length)) {
        server = { key: key, names: {}, unknown: {}, registry: false, hospital: "", patternError: "", pending: null };
        showPatternError();
        return Promise.resolve();
      }
      if (key === server.key) return server.pending || Promise.resolve();
      server.key = key;
      var pending = fetch(form.dataset.subjectsUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": hooks.csrf },
        body: key,
      })
        .then(function (r) {
          return r.json().then(function (data) { return { ok: r.ok, status: r.status, data: data }; });
        })
        .then(function (answer) {
          if (server.key !== key) return; // asked again since
          var names = {}, unknown = {};
          if (answer.ok) {
            body.names.forEach(function (name, i) { names[name] = answer.data.names[i]; });
            answer.data.unknown.forEach(function (s) { unknown[s] = true; });
          }
          server = {
            key: key, names: names, unknown: unknown, registry: answer.ok && answer.data.registry,
            hospital: answer.ok ? answer.data.hospital : "", pending: null,
            patternError: !answer.ok && answer.status === 400 && body.names.length ? answer.data.error : "",
          };
          showPatternError();
        })
        .catch(function () {
          if (server.key === key) server = { key: "", names: {}, unknown: {}, registry: false, hospital: "", patternError: "", pending: null };
        })
        .then(hooks.redraw, hooks.redraw);
      server.pending = pending;
      return pending;
    }

    function showPatternError() {
      var note = $("pattern-error");
      note.textContent = server.patternError;
      note.hidden = !server.patternError;
    }

    function changed(later) {
      hooks.redraw();
      clearTimeout(timer);
      if (later) timer = setTimeout(ask, 400); else ask();
    }

    // ---- Before sending: what the server would refuse ----

    function problem(going) {
      var s = source();
      if (s === "typed") {
        var typed = cleanSubject(subjectInput.value);
        if (!typed.value) return { text: "Type the subject identifier for these images.", focus: subjectInput };
        if (typed.error) return { text: typed.error, focus: subjectInput };
      }
      if (s === "manifest") {
        if (!manifestArea.value.trim()) {
          return { text: "Add the manifest (a .csv file with the columns filename,subject).", focus: manifestArea };
        }
        if (manifest.error) return { text: manifest.error, focus: manifestArea };
      }
      if (s === "filename" && server.patternError) return { text: server.patternError, focus: patternInput };
      for (var i = 0; i < going.length; i++) {
        var subject = subjectOf(going[i]);
        if (subject.error) return { text: subject.error, focus: going[i].subjectEl };
      }
      var unknown = Object.keys(server.unknown);
      if (unknown.length) {
        var noun = unknown.length === 1 ? " subject is" : " subjects are";
        return {
          text: "Not uploaded: " + unknown.length + noun + " not in the subject registry of " + server.hospital +
            ": " + unknown.slice(0, 10).join(", ") + (unknown.length > 10 ? " and " + (unknown.length - 10) + " more" : "") +
            ". Check the identifiers, or register the subjects first.",
          focus: null,
        };
      }
      return null;
    }

    // Per-file fields for the files that go: only what was typed or chosen for a file.
    function appendFields(data, going) {
      var subjects = going.map(function (e) { return e.subjectEl ? e.subjectEl.value.trim() : ""; });
      var eyes = going.map(function (e) { return e.eyeEl ? e.eyeEl.value : ""; });
      if (subjects.some(Boolean)) subjects.forEach(function (v) { data.append("file_subject", v); });
      if (eyes.some(Boolean)) eyes.forEach(function (v) { data.append("file_eye", v); });
    }

    // Takes the manifests out of what was dropped or chosen; returns the other files.
    function takeFiles(files) {
      var others = [];
      Array.prototype.forEach.call(files, function (file) {
        if (!isManifestFile(file)) { others.push(file); return; }
        if (file.size > MANIFEST_MAX_BYTES) {
          manifestArea.value = "";
          manifest = { rows: {}, error: "The manifest " + file.name + " is too large (at most " + MANIFEST_MAX_BYTES / 1000 + " kB)." };
          $("manifest-error").textContent = manifest.error;
          $("manifest-error").hidden = false;
          return;
        }
        file.text().then(function (text) {
          manifestArea.value = text;
          sources.forEach(function (s) { s.checked = s.value === "manifest"; });
          showSource();
          remember();
          readManifest();
          changed(false);
        });
      });
      return others;
    }

    sources.forEach(function (s) {
      s.addEventListener("change", function () { showSource(); remember(); changed(false); });
    });
    subjectInput.addEventListener("input", function () { changed(true); });
    patternInput.addEventListener("input", function () { remember(); changed(true); });
    manifestArea.addEventListener("input", function () { readManifest(); changed(true); });
    eyeFromName.addEventListener("change", function () { remember(); changed(false); });
    area.addEventListener("change", hooks.redraw);

    restore();
    showSource();
    readManifest();

    return {
      controlsFor: controlsFor,
      update: update,
      ask: ask,
      problem: problem,
      appendFields: appendFields,
      takeFiles: takeFiles,
    };
  }

  window.FundusLabels = {
    eyeInFilename: eyeInFilename,
    normaliseEye: normaliseEye,
    cleanSubject: cleanSubject,
    parseManifest: parseManifest,
    attach: attach,
  };
})();
