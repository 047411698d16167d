// The owner's view of a submission, refreshed from each status poll (submission.js calls
// fbParticipant.render with the API's answer): measured parameters, FLOPs and latency, the
// model run's log (stderr lines marked) and, once scored, the own-scores table with 95 %
// intervals per site. No inline code (CSP): elements are found by id, text set with textContent.
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);

  function params(v) {
    if (typeof v !== "number") return "–";
    for (const [unit, size] of [["G", 1e9], ["M", 1e6], ["k", 1e3]]) {
      if (v >= size) return Number((v / size).toPrecision(3)) + unit;
    }
    return String(v);
  }
  function flops(v) {
    if (typeof v !== "number") return "–";
    for (const [unit, size] of [["T", 1e12], ["G", 1e9], ["M", 1e6], ["k", 1e3]]) {
      if (v >= size) return Number((v / size).toPrecision(3)) + " " + unit + "FLOPs";
    }
    return v + " FLOPs";
  }
  function score(v) {
    if (typeof v !== "number" || !Number.isFinite(v)) return "–";
    const a = Math.abs(v);
    if (a !== 0 && (a >= 1000 || a < 0.001)) return v.toPrecision(3);
    return v.toFixed(a < 1 ? 3 : 2);
  }
  function setText(id, text) { const el = $(id); if (el && el.textContent !== text) el.textContent = text; }

  function renderMeasured(sub) {
    setText("params-total", params(sub.params_total));
    setText("params-trainable", params(sub.params_trainable));
    setText("params-source", sub.params_source || "");
    setText("flops", flops(sub.flops));
    setText("latency", typeof sub.latency_ms === "number" ? Number(sub.latency_ms.toPrecision(3)) + " ms" : "–");
  }

  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function renderScores(scores) {
    const panel = $("scores-panel");
    if (!panel || !scores || !(scores.metrics || []).length) return;
    if ($("scores-table")) { panel.hidden = false; return; }  // rendered by the server
    const table = el("table", "table own-scores");
    table.id = "scores-table";
    const head = table.createTHead().insertRow();
    head.appendChild(el("th", "", "Metric"));
    scores.sites.forEach((site) => {
      const th = el("th", "num", site === "all" ? "All cases" : site);
      th.dataset.site = site;
      head.appendChild(th);
    });
    const body = table.createTBody();
    scores.metrics.forEach((m) => {
      const tr = body.insertRow();
      tr.dataset.metric = m.key;
      if (m.ranking) tr.className = "ranking";
      const th = el("th", "", m.label + " ");
      th.scope = "row";
      if (m.higher_is_better === true) th.appendChild(el("span", "arrow", "↑"));
      if (m.higher_is_better === false) th.appendChild(el("span", "arrow", "↓"));
      if (m.ranking) { th.appendChild(document.createTextNode(" ")); th.appendChild(el("span", "pill", "ranked")); }
      tr.appendChild(th);
      scores.sites.forEach((site) => {
        const cell = ((scores.values || {})[site] || {})[m.key] || {};
        const td = el("td", "num", score(cell.mean));
        if (typeof cell.ci95_low === "number" && typeof cell.ci95_high === "number") {
          td.appendChild(document.createTextNode(" "));
          td.appendChild(el("span", "ci", "[" + score(cell.ci95_low) + ", " + score(cell.ci95_high) + "]"));
        }
        if (cell.n_nan) td.appendChild(el("span", "ci", " (" + cell.n_nan + " missing)"));
        tr.appendChild(td);
      });
    });
    $("scores").replaceChildren(table);
    panel.hidden = false;
  }

  function renderRun(run) {
    const panel = $("run-panel");
    if (!panel || !run) return;
    let summary = run.message ? run.message.charAt(0).toUpperCase() + run.message.slice(1) : "";
    if (typeof run.wall_seconds === "number") summary += " · " + run.wall_seconds.toFixed(1) + " s";
    if (run.exit_code !== null && run.exit_code !== undefined) summary += " · exit code " + run.exit_code;
    setText("run-summary", summary);
    const log = $("run-log");
    const lines = run.log || [];
    if (!lines.length) { log.textContent = "(nothing was written to the log)"; }
    else {
      log.replaceChildren(...lines.flatMap((line) => {
        const cls = "log-line" + (line.stream === "stderr" ? " log-stderr" : line.stream ? "" : " log-gap");
        return [el("span", cls, line.text), document.createTextNode("\n")];
      }));
    }
    panel.hidden = false;
  }

  window.fbParticipant = {
    render(sub) {
      renderMeasured(sub);
      if (sub.run) renderRun(sub.run);
      if (sub.scores) renderScores(sub.scores);
    },
  };
})();
