// Direct upload form: hospital pills filter the lab units, the last selections are remembered,
// files are added by drag and drop or "Choose Files" into a list to review, each file is checked
// in the browser (type by its first bytes, size, count, duplicates by MD5 in the batch and on the
// server), and only the files that pass are sent, with a progress bar. Without JavaScript the
// form still posts as a plain multipart form; the server checks everything again either way.
// Each file's subject and eye are labels.js's part (FundusLabels), hooked in below.
(function () {
  "use strict";
  var form = document.getElementById("upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) return;

  var $ = function (id) { return document.getElementById(id); };
  var MAX_SIZE = Number(form.dataset.maxFileSize);
  var MAX_FILES = Number(form.dataset.maxFiles);
  var QUOTA = form.dataset.quotaRemaining === "" ? null : Number(form.dataset.quotaRemaining);
  var MSG = {
    required: "All fields are required",
    duplicate: "Duplicate file",
    noFile: "No selected file",
    tooLarge: "File too large (max " + form.dataset.maxFileSizeMb + "MB)",
    tooMany: "Too many files (max " + MAX_FILES + " per upload)",
    unreadable: "The file could not be read",
    invalidType: function (mime) { return "Invalid file type: " + mime + ". Only JPG/PNG allowed."; },
  };
  var STORE_KEY = "fundushub.directUpload.v1." + (form.dataset.user || "");
  var SELECTS = ["lab_unit", "camera", "disease", "area"];
  // Beside each field left empty (the banner keeps the seed's "All fields are required").
  var CHOOSE = {
    hospital: "Choose a hospital", lab_unit: "Choose a lab unit", camera: "Choose a camera",
    disease: "Choose a disease", area: "Choose an area",
    files: "Choose or drop at least one JPG or PNG image",
  };
  var NO_ACCESS = "You don't have access to the selected lab unit";

  var pills = Array.prototype.slice.call(form.querySelectorAll('input[name="hospital"]'));
  var unitSelect = $("lab_unit");
  var unitPlaceholder = unitSelect.options[0];
  var allUnits = Array.prototype.filter.call(unitSelect.options, function (o) { return o.value; });
  var mydriatic = $("mydriatic");
  var preGraded = $("pre_graded"); // only for users allowed to upload pre-graded sets
  var input = $("files");
  var dropzone = $("dropzone");
  var list = $("file-list");
  var notice = $("notice");
  var errorBox = $("form-error");
  var submit = $("submit");
  var progress = $("send-progress");
  var sendStatus = $("send-status");
  var csrf = form.querySelector('input[name="csrfmiddlewaretoken"]').value;

  form.noValidate = true; // our own checks and messages replace the browser's bubbles
  var labels = window.FundusLabels.attach(form, {
    hospital: function () { return hospital(); },
    csrf: csrf,
    redraw: function () { render(); },
  });

  // ---- Selections: hospital pills, lab units filtered by hospital, remembered in localStorage ----

  function hospital() {
    var on = pills.filter(function (p) { return p.checked; })[0];
    return on ? on.value : "";
  }

  function filterUnits() {
    var h = hospital(), keep = unitSelect.value;
    var units = allUnits.filter(function (o) { return o.dataset.hospital === h; });
    unitPlaceholder.textContent = h ? "Choose a lab unit…" : "Choose a hospital first";
    unitSelect.replaceChildren.apply(unitSelect, [unitPlaceholder].concat(units));
    unitSelect.disabled = !h;
    if (units.some(function (o) { return o.value === keep; })) unitSelect.value = keep;
    else unitSelect.value = units.length === 1 ? units[0].value : "";
  }

  function remembered() {
    try {
      return JSON.parse(localStorage.getItem(STORE_KEY)) || {};
    } catch (e) {
      return {};
    }
  }

  function remember() {
    var state = { hospital: hospital(), mydriatic: mydriatic.checked };
    if (preGraded) state.pre_graded = preGraded.checked;
    SELECTS.forEach(function (name) { state[name] = $(name).value; });
    try {
      localStorage.setItem(STORE_KEY, JSON.stringify(state));
    } catch (e) { /* private mode or storage full: nothing to remember with */ }
  }

  function choose(select, value) {
    if (value && Array.prototype.some.call(select.options, function (o) { return o.value === value; })) {
      select.value = value;
    }
  }

  function restore() {
    var saved = remembered();
    var pill = pills.filter(function (p) { return p.value === String(saved.hospital); })[0];
    if (!pill && pills.length === 1) pill = pills[0];
    if (pill) pill.checked = true;
    filterUnits();
    SELECTS.forEach(function (name) { choose($(name), saved[name]); });
    if (typeof saved.mydriatic === "boolean") mydriatic.checked = saved.mydriatic;
    if (preGraded && typeof saved.pre_graded === "boolean") preGraded.checked = saved.pre_graded;
  }

  pills.forEach(function (p) {
    p.addEventListener("change", function () {
      filterUnits();
      remember();
      fieldChanged("hospital");
      work(askServer);
      labels.ask(); // each hospital keeps its own subject registry
    });
  });
  SELECTS.forEach(function (name) {
    $(name).addEventListener("change", function () {
      remember();
      fieldChanged(name);
    });
  });
  mydriatic.addEventListener("change", remember);
  if (preGraded) {
    preGraded.addEventListener("change", remember);
    $("pre-graded-label").addEventListener("click", function () {
      if (!preGraded.disabled) {
        preGraded.checked = !preGraded.checked;
        remember();
      }
    });
  }
  // The words either side of the switch set it too.
  [["mydriatic-label-off", false], ["mydriatic-label-on", true]].forEach(function (pair) {
    $(pair[0]).addEventListener("click", function () {
      if (mydriatic.checked !== pair[1] && !mydriatic.disabled) {
        mydriatic.checked = pair[1];
        remember();
      }
    });
  });

  // ---- Files: what each one is, and whether it goes ----

  var entries = []; // {id, file, reason, md5, inspected, status, why, li}
  var nextId = 1;
  var dupes = {}; // hospital id -> {asked: {md5: true}, found: {md5: true}, failed: bool}
  var chain = Promise.resolve();
  var busy = false;

  // The type the content shows, by its first bytes (the same table as the server's).
  var SIGNATURES = [
    ["\xff\xd8\xff", "image/jpeg"], ["\x89PNG\r\n\x1a\n", "image/png"],
    ["GIF87a", "image/gif"], ["GIF89a", "image/gif"], ["%PDF-", "application/pdf"],
    ["II*\x00", "image/tiff"], ["MM\x00*", "image/tiff"], ["BM", "image/bmp"],
    ["PK\x03\x04", "application/zip"], ["\x1f\x8b", "application/gzip"],
    ["\x00\x00\x00\x0cjP  ", "image/jp2"],
  ];

  function startsWith(bytes, text, at) {
    at = at || 0;
    if (bytes.length < at + text.length) return false;
    for (var i = 0; i < text.length; i++) if (bytes[at + i] !== text.charCodeAt(i)) return false;
    return true;
  }

  function isText(head) {
    if (head.indexOf(0) !== -1) return false;
    // A multi-byte character cut off at the end of the sample is still text.
    for (var cut = 0; cut < 4 && cut < head.length; cut++) {
      try {
        new TextDecoder("utf-8", { fatal: true }).decode(head.subarray(0, head.length - cut));
        return true;
      } catch (e) { /* try a shorter sample */ }
    }
    return false;
  }

  function sniff(bytes) {
    var head = bytes.subarray(0, 512);
    if (!head.length) return "application/x-empty";
    for (var i = 0; i < SIGNATURES.length; i++) {
      if (startsWith(head, SIGNATURES[i][0])) return SIGNATURES[i][1];
    }
    if (startsWith(head, "RIFF") && startsWith(head, "WEBP", 8)) return "image/webp";
    if (startsWith(head, "DICM", 128)) return "application/dicom";
    var lower = String.fromCharCode.apply(null, head.subarray(0, 64)).replace(/^(\xef\xbb\xbf|\s)+/, "").toLowerCase();
    if (lower.indexOf("<!doctype html") === 0 || lower.indexOf("<html") === 0) return "text/html";
    return isText(head) ? "text/plain" : "application/octet-stream";
  }

  function readBytes(file) {
    if (file.arrayBuffer) return file.arrayBuffer();
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve(reader.result); };
      reader.onerror = function () { reject(reader.error); };
      reader.readAsArrayBuffer(file);
    });
  }

  // Size first (no need to read a file that is too large), then type by content, then MD5.
  function inspect(entry) {
    var file = entry.file;
    if (entry.removed) return Promise.resolve();
    if (file.size === 0) entry.reason = MSG.noFile;
    else if (file.size > MAX_SIZE) entry.reason = MSG.tooLarge;
    if (entry.reason) {
      entry.inspected = true;
      return Promise.resolve();
    }
    return readBytes(file).then(
      function (buffer) {
        var bytes = new Uint8Array(buffer);
        var mime = sniff(bytes);
        if (mime !== "image/jpeg" && mime !== "image/png") entry.reason = MSG.invalidType(mime);
        else entry.md5 = window.FundusMD5.hex(bytes);
        entry.inspected = true;
      },
      function () {
        entry.reason = MSG.unreadable;
        entry.inspected = true;
      }
    );
  }

  // Ask the server which of the hashed files it already holds for the chosen hospital.
  function askServer() {
    var h = hospital();
    if (!h) return Promise.resolve();
    var cache = dupes[h] || (dupes[h] = { asked: {}, found: {}, failed: false });
    var wanted = {};
    entries.forEach(function (e) {
      if (e.md5 && !cache.asked[e.md5]) wanted[e.md5] = true;
    });
    var hashes = Object.keys(wanted).slice(0, 1000);
    if (!hashes.length) return Promise.resolve();
    return fetch(form.dataset.duplicatesUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrf },
      body: JSON.stringify({ hospital: Number(h), md5: hashes }),
    })
      .then(function (r) {
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      })
      .then(function (data) {
        cache.failed = false;
        hashes.forEach(function (m) { cache.asked[m] = true; });
        data.duplicates.forEach(function (m) { cache.found[m] = true; });
        if (hashes.length === 1000) return askServer(); // more than one request's worth
      })
      .catch(function () {
        cache.failed = true; // the server still refuses duplicates; the upload goes ahead
      });
  }

  // Serialise all checking work, and redraw after each step.
  function work(step) {
    list.setAttribute("aria-busy", "true");
    chain = chain.then(step).then(render, render);
    var mine = chain;
    chain.then(function () {
      if (chain === mine) list.setAttribute("aria-busy", "false");
    });
    return chain;
  }

  function addFiles(files) {
    if (busy) return;
    files = labels.takeFiles(files); // a CSV manifest dropped with the images is not an image
    Array.prototype.forEach.call(files, function (file) {
      var entry = { id: nextId++, file: file, reason: "", md5: "", inspected: false };
      entries.push(entry);
      work(function () { return inspect(entry); });
    });
    render();
    work(askServer);
    labels.ask();
  }

  function removeEntry(entry) {
    var index = entries.indexOf(entry);
    if (index === -1 || busy) return;
    entry.removed = true;
    entries.splice(index, 1);
    if (entry.li) entry.li.remove();
    render();
    labels.ask();
    var next = entries[index] || entries[index - 1];
    (next ? next.li.querySelector("button") : input).focus();
  }

  // Decide each file's status: first come, first served for duplicates and the per-upload cap.
  function classify() {
    var h = hospital(), cache = dupes[h];
    var seen = {}, going = 0;
    entries.forEach(function (e) {
      e.storedDuplicate = false;
      if (e.reason) {
        e.status = "rejected";
        e.why = e.reason;
      } else if (!e.inspected) {
        e.status = "checking";
        e.why = "Checking…";
      } else if (seen[e.md5]) {
        e.status = "rejected";
        e.why = MSG.duplicate;
      } else if (cache && cache.found[e.md5]) {
        seen[e.md5] = e.storedDuplicate = true;
        e.status = "rejected";
        e.why = MSG.duplicate;
      } else if (going >= MAX_FILES) {
        e.status = "rejected";
        e.why = MSG.tooMany;
      } else {
        seen[e.md5] = true;
        going += 1;
        if (h && !(cache && (cache.asked[e.md5] || cache.failed))) {
          e.status = "checking";
          e.why = "Checking for duplicates…";
        } else {
          e.status = "ready";
          e.why = cache && cache.failed ? "Ready (duplicate check unavailable)" : "Ready";
        }
      }
    });
    return going;
  }

  function formatSize(bytes) {
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(0) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function plural(n, one, many) {
    return n + " " + (n === 1 ? one : many || one + "s");
  }

  function rowFor(entry) {
    if (entry.li) return entry.li;
    var li = document.createElement("li");
    li.dataset.id = entry.id;
    var name = document.createElement("span");
    name.className = "name";
    name.textContent = entry.file.name;
    var size = document.createElement("span");
    size.className = "size";
    size.textContent = formatSize(entry.file.size);
    var status = document.createElement("span");
    status.className = "status";
    var remove = document.createElement("button");
    remove.type = "button";
    remove.className = "btn btn-small";
    remove.textContent = "Remove";
    remove.setAttribute("aria-label", "Remove " + entry.file.name);
    remove.addEventListener("click", function () { removeEntry(entry); });
    li.append(name, size, status, remove, labels.controlsFor(entry));
    entry.li = li;
    return li;
  }

  function render() {
    var going = classify();
    entries.forEach(function (e) {
      var li = rowFor(e);
      if (li.parentNode !== list) list.appendChild(li);
      if (li.dataset.status !== e.status) li.dataset.status = e.status;
      var status = li.querySelector(".status");
      if (status.textContent !== e.why) status.textContent = e.why;
    });
    labels.update(entries);
    var left = entries.filter(function (e) { return e.status === "rejected"; });
    var checking = entries.some(function (e) { return e.status === "checking"; });
    $("file-tools").hidden = !entries.length;
    $("file-summary").textContent = entries.length
      ? plural(entries.length, "file") + " selected · " + going + " to upload" +
        (left.length ? " · " + left.length + " left out" : "") + (checking ? " · checking…" : "")
      : "";
    $("rejected").value = JSON.stringify(left.map(function (e) {
      return { filename: e.file.name, reason: e.why };
    }));
    updateNotice(left, going, checking);
    recheckError();
  }

  function updateNotice(left, going, checking) {
    var text = "";
    if (!checking && left.length) {
      var dup = left.filter(function (e) { return e.why === MSG.duplicate; }).length;
      var parts = [];
      if (dup) parts.push(plural(dup, "duplicate"));
      if (left.length - dup) parts.push(plural(left.length - dup, "rejected file"));
      text = "Left out of this upload: " + parts.join(" and ") + " (reasons in the list below). " +
        (going ? "Only the other " + plural(going, "file") + " will be uploaded." : "Nothing is left to upload.");
    }
    if (!checking && QUOTA !== null && going > QUOTA) {
      text += (text ? " " : "") + "Your upload quota has room for " + plural(QUOTA, "more file") +
        "; files beyond it will be rejected with \u201cUpload quota exceeded\u201d.";
    }
    if (notice.textContent !== text) notice.textContent = text;
    notice.hidden = !text;
  }

  input.addEventListener("change", function () {
    addFiles(input.files);
    input.value = ""; // choosing the same file again fires "change" again
  });
  $("remove-all").addEventListener("click", function () {
    entries.slice().forEach(function (e) {
      e.removed = true;
      if (e.li) e.li.remove();
    });
    entries = [];
    render();
    labels.ask();
    input.focus();
  });

  // Drag and drop onto the drop zone; a file dropped anywhere else must not replace the page.
  function hasFiles(ev) {
    return ev.dataTransfer && Array.prototype.indexOf.call(ev.dataTransfer.types || [], "Files") !== -1;
  }
  ["dragenter", "dragover"].forEach(function (type) {
    dropzone.addEventListener(type, function (ev) {
      if (!hasFiles(ev)) return;
      ev.preventDefault();
      ev.dataTransfer.dropEffect = busy ? "none" : "copy";
      dropzone.classList.add("over");
    });
  });
  dropzone.addEventListener("dragleave", function (ev) {
    if (!dropzone.contains(ev.relatedTarget)) dropzone.classList.remove("over");
  });
  dropzone.addEventListener("drop", function (ev) {
    ev.preventDefault();
    dropzone.classList.remove("over");
    if (ev.dataTransfer && ev.dataTransfer.files.length) addFiles(ev.dataTransfer.files);
  });
  ["dragover", "drop"].forEach(function (type) {
    window.addEventListener(type, function (ev) {
      if (hasFiles(ev) && !dropzone.contains(ev.target)) {
        ev.preventDefault();
        ev.dataTransfer.dropEffect = "none";
      }
    });
  });

  // ---- Submitting ----

  // The banner's error says what kind it is, so it can go away once it no longer applies.
  var errorKind = "";

  function showError(text, kind) {
    errorBox.textContent = text;
    errorBox.hidden = false;
    errorKind = kind || "other";
    errorBox.scrollIntoView({ block: "nearest" });
  }

  function clearError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    errorKind = "";
  }

  function stillApplies(kind) {
    if (kind === "required") return missingFields().length > 0;
    if (kind === "noFile") return !entries.length;
    if (kind === "nothingLeft") return !entries.some(function (e) { return e.status === "ready"; });
    if (kind === "labels") return !!labels.problem(entries.filter(function (e) { return e.status === "ready"; }));
    return true;
  }

  function recheckError() {
    if (errorKind && !stillApplies(errorKind)) clearError();
    if (entries.length) markField("files", "");
  }

  // ---- Fields left empty: marked where they are, with what to do ----

  var marking = false; // after a submit with fields missing, until they are all filled

  function controlsOf(name) {
    return name === "hospital" ? pills : name === "files" ? [input] : [$(name)];
  }

  function markField(name, message) {
    var note = $(name + "-error");
    controlsOf(name).forEach(function (el) {
      var ids = (el.getAttribute("aria-describedby") || "").split(" ").filter(function (id) {
        return id && id !== note.id;
      });
      if (message) {
        el.setAttribute("aria-invalid", "true");
        ids.unshift(note.id);
      } else {
        el.removeAttribute("aria-invalid");
      }
      if (ids.length) el.setAttribute("aria-describedby", ids.join(" "));
      else el.removeAttribute("aria-describedby");
    });
    note.textContent = message || "";
    note.hidden = !message;
    if (name === "files") dropzone.classList.toggle("invalid", !!message);
    if (name === "hospital") $("hospital-pills").classList.toggle("invalid", !!message);
  }

  function missingFields() {
    var names = hospital() ? [] : ["hospital"];
    return names.concat(SELECTS.filter(function (name) { return !$(name).value; }));
  }

  function markMissing() {
    var missing = missingFields();
    ["hospital"].concat(SELECTS).forEach(function (name) {
      markField(name, missing.indexOf(name) !== -1 ? CHOOSE[name] : "");
    });
    if (!missing.length) marking = false;
    return missing;
  }

  function fieldChanged(name) {
    if (marking) markMissing();
    if (errorKind === "access" && (name === "hospital" || name === "lab_unit")) clearError();
    recheckError();
  }

  function firstMissing() {
    var missing = missingFields();
    if (!missing.length) return null;
    return missing[0] === "hospital" ? pills[0] : $(missing[0]);
  }

  function setBusy(on, label) {
    busy = on;
    submit.disabled = on;
    submit.textContent = label || "Upload Images";
    form.setAttribute("aria-busy", String(on));
    Array.prototype.forEach.call(form.querySelectorAll("input, select, textarea, #file-list button, #remove-all"), function (el) {
      if (el !== submit) el.disabled = on;
    });
    dropzone.classList.toggle("disabled", on);
    if (!on) filterUnits(); // re-disables the lab unit list if no hospital is chosen
  }

  function setProgress(loaded, total) {
    var pct = total ? Math.round((100 * loaded) / total) : 0;
    progress.hidden = false;
    progress.setAttribute("aria-valuenow", pct);
    progress.querySelector(".bar").style.width = pct + "%";
    sendStatus.hidden = false;
    sendStatus.textContent = pct < 100
      ? "Sending… " + pct + "% (" + formatSize(loaded) + " of " + formatSize(total) + ")"
      : "Sent. Creating the upload job…";
  }

  function failed(text) {
    setBusy(false);
    progress.hidden = true;
    sendStatus.hidden = true;
    showError(text, text === NO_ACCESS ? "access" : "other");
  }

  function send(files, rejected) {
    var data = new FormData(form); // before setBusy: disabled controls are not sent
    data.delete("files");
    data.set("rejected", JSON.stringify(rejected));
    labels.appendFields(data, files); // before the files, so the server checks them first
    files.forEach(function (e) { data.append("files", e.file, e.file.name); });
    setBusy(true, "Uploading…");
    setProgress(0, files.reduce(function (n, e) { return n + e.file.size; }, 0));

    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json");
    xhr.setRequestHeader("X-CSRFToken", csrf);
    xhr.upload.addEventListener("progress", function (ev) {
      if (ev.lengthComputable) setProgress(ev.loaded, ev.total);
    });
    xhr.addEventListener("load", function () {
      var body = null;
      try {
        body = JSON.parse(xhr.responseText);
      } catch (e) { /* not JSON: handled below */ }
      if (xhr.status === 201 && body && body.processing_url) {
        window.removeEventListener("beforeunload", holdPage);
        window.location.assign(body.processing_url);
      } else if (body && body.error) {
        failed(body.error);
      } else if (/\/accounts\/login\//.test(xhr.responseURL || "")) {
        failed("Your session has ended. Sign in again, then upload the files again.");
      } else {
        failed("The upload failed (HTTP " + xhr.status + "). Nothing was stored; please try again.");
      }
    });
    xhr.addEventListener("error", function () {
      failed("The upload did not reach the server. Check the connection and try again.");
    });
    window.addEventListener("beforeunload", holdPage);
    xhr.send(data);
  }

  function holdPage(ev) {
    if (!busy) return;
    ev.preventDefault();
    ev.returnValue = "";
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    if (busy) return;
    clearError();
    var missing = firstMissing();
    if (missing) {
      marking = true;
      markMissing();
      showError(MSG.required, "required");
      missing.focus();
      return;
    }
    if (!entries.length) {
      markField("files", CHOOSE.files);
      showError(MSG.noFile, "noFile");
      input.focus();
      return;
    }
    setBusy(true, "Checking files…");
    work(askServer).then(labels.ask).then(function () {
      setBusy(false);
      var going = entries.filter(function (e) { return e.status === "ready"; });
      if (!going.length) {
        showError("Nothing to upload: every selected file was left out (see the list for the reasons).", "nothingLeft");
        return;
      }
      var problem = labels.problem(going); // what the server would refuse the whole upload for
      if (problem) {
        showError(problem.text, "labels");
        if (problem.focus) problem.focus.focus();
        return;
      }
      var rejected = entries
        .filter(function (e) { return e.status === "rejected"; })
        .map(function (e) { return { filename: e.file.name, reason: e.why }; });
      send(going, rejected);
    });
  });

  // An error the server answered (a form posted without script, or before this page's checks):
  // the same rules, so it too goes once it no longer applies.
  var served = errorBox.hidden ? "" : errorBox.textContent.trim();
  restore();
  if (served) {
    errorKind = served === MSG.required ? "required" : served === MSG.noFile ? "noFile"
      : served === NO_ACCESS ? "access" : "other";
    if (errorKind === "required") {
      marking = true;
      markMissing();
    } else if (errorKind === "noFile") {
      markField("files", CHOOSE.files);
    }
  }
  render();
})();
