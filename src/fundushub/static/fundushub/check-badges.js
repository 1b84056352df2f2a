// Checks at capture as badges, built from the job status JSON the way checks/_badges.html writes
// them; on the results page, the checks still running are polled until they land.
(function () {
  function span(className, text) {
    var s = document.createElement("span");
    s.className = className;
    s.textContent = text;
    return s;
  }

  // One file's checks (the status JSON's item.checks; null: no image yet) as an element.
  function render(found) {
    var box = span("check-badges", "");
    if (!found) { box.textContent = "\u2014"; return box; }
    if (found.state !== "done") {
      var state = span("badge check check-" + found.state, found.text);
      if (found.state === "checking") state.setAttribute("role", "status");
      box.appendChild(state);
    }
    found.checks.forEach(function (c) {
      if (c.tone === "ok") return;
      var badge = span("badge check check-" + c.tone, c.text);
      if (c.reason && c.reason !== c.text) {
        badge.title = c.reason;
        if (c.tone === "flag") badge.appendChild(span("visually-hidden", " (" + c.reason + ")"));
      }
      box.appendChild(badge);
      if (c.twin_url) {
        var a = document.createElement("a");
        a.className = "check-twin";
        a.href = c.twin_url;
        a.textContent = "see the other image";
        box.appendChild(document.createTextNode(" "));
        box.appendChild(a);
      }
    });
    if (found.clear) box.appendChild(span("badge check check-ok", "No problem found at capture"));
    return box;
  }

  window.fundusChecks = { render: render };

  // Results page: cells marked data-checks-for="<image id>" follow the status until no check runs.
  var table = document.querySelector("[data-checks-status-url]");
  if (!table) return;
  var url = table.dataset.checksStatusUrl, polls = 0, MAX_POLLS = 300;

  function checking() {
    return table.querySelector("[data-checks-for] .check-checking") !== null;
  }

  function poll() {
    if (!checking() || ++polls > MAX_POLLS) return;
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (job) {
        job.items.forEach(function (item) {
          if (!item.image_id) return;
          table.querySelectorAll('[data-checks-for="' + item.image_id + '"]').forEach(function (cell) {
            cell.replaceChildren(render(item.checks));
          });
        });
        setTimeout(poll, 3000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
