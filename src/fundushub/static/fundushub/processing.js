// Live progress: polls the job status API every 2 s until the job is finished, then goes to results.
(function () {
  var box = document.getElementById("job");
  if (!box) return;
  var statusUrl = box.dataset.statusUrl, resultsUrl = box.dataset.resultsUrl;
  var LABELS = { done: "Completed" };
  var timer = null;

  function badge(state) {
    var span = document.createElement("span");
    span.className = "badge badge-" + state;
    span.textContent = LABELS[state] || state.charAt(0).toUpperCase() + state.slice(1);
    return span;
  }

  // A file's eye: its area's name, or a visible "Unknown eye" (uploads/_eye.html).
  function eye(name) {
    if (name) return document.createTextNode(name);
    var span = document.createElement("span");
    span.className = "badge badge-eye-unknown";
    span.textContent = "Unknown eye";
    return span;
  }

  function render(job) {
    document.getElementById("job-badge").replaceChildren(badge(job.status));
    var progress = document.getElementById("progress");
    progress.setAttribute("aria-valuenow", job.percent);
    progress.querySelector(".bar").style.width = job.percent + "%";
    document.getElementById("progress-text").textContent =
      job.processed + " of " + job.total + (job.total === 1 ? " file" : " files") + " processed";
    var rows = job.items.map(function (item) {
      var tr = document.createElement("tr");
      var checks = window.fundusChecks ? window.fundusChecks.render(item.checks) : "";
      [item.filename, item.subject || "\u2014", eye(item.eye), badge(item.state), item.detail, checks].forEach(function (cell) {
        var td = document.createElement("td");
        if (typeof cell === "string") td.textContent = cell; else td.appendChild(cell);
        tr.appendChild(td);
      });
      return tr;
    });
    document.getElementById("items").replaceChildren.apply(document.getElementById("items"), rows);
    document.getElementById("view-results").hidden = !job.finished;
    document.getElementById("worker-hint").hidden = !job.waiting_for_worker;
  }

  function poll() {
    clearTimeout(timer);
    fetch(statusUrl, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (r) { if (!r.ok) throw new Error(r.status); return r.json(); })
      .then(function (job) {
        render(job);
        if (job.finished) { window.location.assign(resultsUrl); return; }
        timer = setTimeout(poll, 2000);
      })
      .catch(function () { timer = setTimeout(poll, 3000); });
  }

  // The server's percentage comes as data (the CSP allows no inline style attribute).
  var bar = document.querySelector("#progress .bar");
  bar.style.width = bar.dataset.percent + "%";
  document.getElementById("refresh").addEventListener("click", poll);
  timer = setTimeout(poll, 1000);
})();
