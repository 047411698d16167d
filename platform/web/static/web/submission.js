// Live submission status: polls the JSON API with fetch and updates the page in place (no
// reload), then fetches and renders the per-case table once scoring is done.
(function () {
  "use strict";
  const panel = document.getElementById("status-panel");
  if (!panel) return;
  const statusEl = document.getElementById("submission-status");
  const detailEl = document.getElementById("status-detail");
  const barEl = document.getElementById("progress-bar");
  const progressEl = document.getElementById("progress");
  const updatedEl = document.getElementById("status-updated");
  const finals = (panel.dataset.final || "done,failed,cancelled").split(",");
  const labels = { queued: "Queued", inferring: "Running inference", validating: "Validating", scoring: "Scoring", done: "Done", failed: "Failed", cancelled: "Cancelled" };
  let delay = 1000;
  // The page's own value first (markup may carry no style attribute under the site's CSP).
  barEl.style.width = (progressEl.getAttribute("aria-valuenow") || "0") + "%";

  function render(sub) {
    const status = sub.status || "queued";
    statusEl.textContent = sub.status_display || labels[status] || status;
    statusEl.className = "status status-" + status;
    statusEl.dataset.status = status;
    panel.className = "panel status-panel status-" + status + "-panel";
    let pct = Math.round(100 * (Number(sub.progress) || 0));
    if (status === "done") pct = 100;
    barEl.style.width = pct + "%";
    progressEl.setAttribute("aria-valuenow", String(pct));
    let detail = sub.status_detail || "";
    if (status === "scoring" && !detail) detail = "Scoring… " + pct + "% of cases";
    if (status === "queued" && !detail) detail = "Waiting for a scoring worker.";
    detailEl.textContent = detail;
    updatedEl.textContent = "updated " + new Date().toLocaleTimeString();
    if (window.fbParticipant) window.fbParticipant.render(sub);
  }

  function fmt(v) {
    if (v === null || v === undefined || Number.isNaN(v)) return "–";
    if (typeof v !== "number") return String(v);
    const a = Math.abs(v);
    return a !== 0 && (a >= 1000 || a < 0.001) ? v.toPrecision(3) : v.toFixed(a < 1 ? 3 : 2);
  }

  function renderCases(data) {
    const box = document.getElementById("cases");
    const cases = data.cases || [];
    if (!cases.length) { box.innerHTML = '<p class="muted">No per-case results.</p>'; return; }
    const keys = [];
    cases.forEach(c => Object.entries(c.metrics || {}).forEach(([cls, ms]) =>
      Object.keys(ms || {}).forEach(m => { const k = cls + "\u0000" + m; if (!keys.includes(k)) keys.push(k); })));
    const table = document.createElement("table");
    table.className = "table cases-table";
    const head = table.createTHead().insertRow();
    ["Case", "Site", "Flags"].forEach(t => { const th = document.createElement("th"); th.textContent = t; head.appendChild(th); });
    keys.forEach(k => { const [cls, m] = k.split("\u0000"); const th = document.createElement("th"); th.className = "num"; th.textContent = cls + " " + m; head.appendChild(th); });
    const body = table.createTBody();
    cases.forEach(c => {
      const tr = body.insertRow();
      [c.case, c.site, (c.flags || []).join(", ")].forEach(t => { tr.insertCell().textContent = t || ""; });
      keys.forEach(k => { const [cls, m] = k.split("\u0000"); const td = tr.insertCell(); td.className = "num"; td.textContent = fmt(((c.metrics || {})[cls] || {})[m]); });
    });
    box.replaceChildren(table);
  }

  function loadCases() {
    const url = panel.dataset.casesApi;
    if (!url) return;
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(r => (r.ok ? r.json() : null)).then(d => { if (d) renderCases(d); }).catch(() => {});
  }

  // A submission that ends without scores has no per-case results to wait for: say why.
  function noCases(status) {
    const box = document.getElementById("cases");
    if (!box) return;
    const why = status === "failed" ? "None: the submission failed, so no case was scored."
      : "None: the submission was cancelled before it was scored.";
    box.innerHTML = '<p class="muted"></p>';
    box.firstChild.textContent = why;
  }

  function poll() {
    fetch(panel.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(r => { if (!r.ok) throw new Error("HTTP " + r.status); return r.json(); })
      .then(sub => {
        render(sub);
        delay = 1000;
        if (finals.includes(sub.status)) { if (sub.status === "done") loadCases(); else noCases(sub.status); return; }
        setTimeout(poll, delay);
      })
      .catch(() => { delay = Math.min(delay * 2, 15000); setTimeout(poll, delay); });
  }

  if (finals.includes(statusEl.dataset.status)) {
    panel.className = "panel status-panel status-" + statusEl.dataset.status + "-panel";
    if (statusEl.dataset.status === "done") loadCases();
  } else {
    poll();
  }
})();
