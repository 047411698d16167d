// Score-vs-size scatter plot in plain SVG: log-x size (total or trainable parameters, FLOPs
// or latency), y = chosen metric, Pareto front (no other entry is both smaller and better)
// drawn as a step line with ringed points, filters by fine-tuning strategy and backbone, hover
// tooltips, colour per strategy. The x-axis and metric are kept in the URL (?x=&metric=).
// Front labels are placed where they overlap no other label or point; one that finds no free
// spot is left to the tooltip rather than drawn over another.
(function () {
  "use strict";
  const dataEl = document.getElementById("pareto-data");
  const plot = document.getElementById("pareto-plot");
  if (!dataEl || !plot) return;
  const data = JSON.parse(dataEl.textContent);
  const tooltip = document.getElementById("pareto-tooltip");
  const empty = document.getElementById("pareto-empty");
  const metricSel = document.getElementById("metric-select");
  const xSel = document.getElementById("x-select");
  const urlState = window.fbUrlState;
  const X_AXES = data.x_axes || { params_total: "Total parameters" };
  const NS = "http://www.w3.org/2000/svg";
  const COLOURS = { full: "#2f6fdb", decoder_only: "#e07b39", encoder_only: "#8e44ad", from_scratch: "#16a085",
    linear_probe: "#c0392b", lora: "#d4a017", other: "#7f8c8d" };
  const LABELS = { full: "Full", decoder_only: "Decoder only", encoder_only: "Encoder only", from_scratch: "From scratch",
    linear_probe: "Linear probe", lora: "LoRA", other: "Other" };
  const W = 860, H = 520, M = { l: 72, r: 28, t: 22, b: 58 };

  const columns = data.columns || [];
  const arrowOf = c => c.direction === "higher" ? " ↑" : c.direction === "lower" ? " ↓" : "";
  const rows = data.rows || [];
  columns.forEach(c => {
    const o = document.createElement("option");
    o.value = c.key;
    o.textContent = (c.label || c.class_name + " " + c.metric) + arrowOf(c);
    if (c.key === (data.metric || data.default_metric)) o.selected = true;
    metricSel.appendChild(o);
  });

  const strategyOf = r => r.fine_tuning_strategy || "other";
  const backboneOf = r => r.backbone || "(none)";
  function filterBox(containerId, values, swatches) {
    const box = document.getElementById(containerId);
    const state = {};
    values.forEach(v => {
      state[v] = true;
      const label = document.createElement("label");
      label.className = "check";
      const cb = document.createElement("input");
      cb.type = "checkbox"; cb.checked = true; cb.value = v;
      cb.dataset.filter = containerId;
      cb.addEventListener("change", () => { state[v] = cb.checked; draw(); });
      label.appendChild(cb);
      if (swatches) { const s = document.createElement("span"); s.className = "swatch"; s.style.background = COLOURS[v] || COLOURS.other; label.appendChild(s); }
      label.appendChild(document.createTextNode(" " + (swatches ? (LABELS[v] || v) : v)));
      box.appendChild(label);
    });
    return state;
  }
  const uniq = a => Array.from(new Set(a)).sort();
  const strategyOn = filterBox("strategy-filters", uniq(rows.map(strategyOf)), true);
  const backboneOn = filterBox("backbone-filters", uniq(rows.map(backboneOf)), false);

  function el(name, attrs, parent) {
    const node = document.createElementNS(NS, name);
    Object.entries(attrs || {}).forEach(([k, v]) => node.setAttribute(k, v));
    if (parent) parent.appendChild(node);
    return node;
  }
  const short = v => String(Number(v.toPrecision(3)));
  const fmtCount = n => n >= 1e9 ? short(n / 1e9) + "G" : n >= 1e6 ? short(n / 1e6) + "M" : n >= 1e3 ? short(n / 1e3) + "k" : String(n);
  const fmtSize = v => xSel.value === "latency_ms" ? short(v) + " ms" : fmtCount(v);
  const fmt = v => (v === null || v === undefined) ? "–" : Math.abs(v) >= 100 ? v.toFixed(1) : Math.abs(v) >= 1 ? v.toFixed(2) : v.toFixed(3);

  function niceTicks(lo, hi, n) {
    const span = hi - lo || Math.abs(hi) || 1;
    const step0 = span / n, mag = Math.pow(10, Math.floor(Math.log10(step0)));
    const step = [1, 2, 2.5, 5, 10].map(f => f * mag).find(s => span / s <= n) || 10 * mag;
    const ticks = [];
    for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) ticks.push(+t.toFixed(12));
    return ticks;
  }

  // Entries that no other entry beats on both size (fewer or equal) and score (better or equal).
  function paretoFront(points, higher) {
    const better = (a, b) => higher ? a > b : a < b;
    const sorted = points.slice().sort((a, b) => a.x - b.x || (higher ? b.y - a.y : a.y - b.y));
    const front = [];
    let best = null;
    sorted.forEach(p => { if (best === null || better(p.y, best)) { front.push(p); best = p.y; } });
    return front;
  }

  function showTip(evt, p, column) {
    const r = p.row;
    tooltip.innerHTML = "";
    const lines = [
      ["strong", r.method_name || "(unnamed)"],
      ["span", r.participant + " · rank " + r.rank],
      ["span", (LABELS[strategyOf(r)] || strategyOf(r)) + " · " + backboneOf(r)],
      ["span", X_AXES[xSel.value] + ": " + fmtSize(p.x) +
        (xSel.value.startsWith("params") ? " (" + (r.params_source || "declared") + ")" : "")],
      ["span", (column.label || column.metric) + ": " + fmt(p.y) +
        (p.lo !== null && p.hi !== null ? "  [" + fmt(p.lo) + ", " + fmt(p.hi) + "]" : "")],
    ];
    if (p.onFront) lines.push(["em", "on the Pareto front"]);
    lines.forEach(([tag, text], i) => { if (i) tooltip.appendChild(document.createElement("br")); const n = document.createElement(tag); n.textContent = text; tooltip.appendChild(n); });
    const box = plot.parentElement.getBoundingClientRect();
    tooltip.hidden = false;
    let left = evt.clientX - box.left + 14, top = evt.clientY - box.top + 14;
    if (left + 280 > box.width) left = evt.clientX - box.left - 290;
    tooltip.style.left = left + "px"; tooltip.style.top = top + "px";
  }

  function draw() {
    const column = columns.find(c => c.key === metricSel.value);
    const paramKey = xSel.value;
    plot.innerHTML = "";
    tooltip.hidden = true;
    const points = [];
    if (column) rows.forEach(r => {
      if (!strategyOn[strategyOf(r)] || !backboneOn[backboneOf(r)]) return;
      const stats = (r.values || {})[column.key] || {};
      const x = r[paramKey], y = stats.mean;
      if (typeof x !== "number" || x <= 0 || typeof y !== "number") return;
      points.push({ x, y, lo: stats.ci95_low ?? null, hi: stats.ci95_high ?? null, row: r });
    });
    const emptyAxis = document.getElementById("pareto-empty-axis");
    if (emptyAxis) emptyAxis.textContent = (X_AXES[paramKey] || paramKey).toLowerCase();
    empty.hidden = points.length > 0;
    plot.hidden = points.length === 0;
    if (!points.length) return;
    const higher = !!column.higher_is_better;

    const lx = points.map(p => Math.log10(p.x));
    let x0 = Math.floor(Math.min(...lx) - 0.15), x1 = Math.ceil(Math.max(...lx) + 0.15);
    const ys = points.flatMap(p => [p.y, p.lo ?? p.y, p.hi ?? p.y]);
    let y0 = Math.min(...ys), y1 = Math.max(...ys);
    const pad = (y1 - y0) * 0.08 || Math.abs(y1) * 0.05 || 1;
    y0 -= pad; y1 += pad;
    const yt = niceTicks(y0, y1, 6);
    y0 = Math.min(y0, yt[0]); y1 = Math.max(y1, yt[yt.length - 1]);
    const sx = v => M.l + (Math.log10(v) - x0) / (x1 - x0) * (W - M.l - M.r);
    const sy = v => H - M.b - (v - y0) / (y1 - y0) * (H - M.t - M.b);

    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", id: "pareto-svg" }, plot);
    const grid = el("g", { class: "grid" }, svg), axis = el("g", { class: "axis" }, svg);
    for (let e = x0; e <= x1; e++) {
      [1, 2, 5].forEach(f => {
        const v = f * Math.pow(10, e);
        if (Math.log10(v) > x1 + 1e-9) return;
        el("line", { x1: sx(v), x2: sx(v), y1: M.t, y2: H - M.b, "stroke-opacity": f === 1 ? 1 : 0.5 }, grid);
        if (f === 1 || x1 - x0 <= 2) { const t = el("text", { x: sx(v), y: H - M.b + 18, "text-anchor": "middle" }, axis); t.textContent = fmtSize(v); }
      });
    }
    yt.forEach(v => {
      el("line", { x1: M.l, x2: W - M.r, y1: sy(v), y2: sy(v) }, grid);
      const t = el("text", { x: M.l - 8, y: sy(v) + 4, "text-anchor": "end" }, axis); t.textContent = fmt(v);
    });
    el("line", { x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b }, axis);
    el("line", { x1: M.l, x2: M.l, y1: M.t, y2: H - M.b }, axis);
    const xt = el("text", { x: (M.l + W - M.r) / 2, y: H - 14, "text-anchor": "middle", class: "axis-title" }, svg);
    xt.textContent = (X_AXES[paramKey] || paramKey) + " (log scale)";
    const ytl = el("text", { x: 18, y: (M.t + H - M.b) / 2, "text-anchor": "middle", class: "axis-title", transform: `rotate(-90 18 ${(M.t + H - M.b) / 2})` }, svg);
    const sense = column.direction === "higher" ? " (higher is better ↑)" : column.direction === "lower" ? " (lower is better ↓)" : " (a measurement)";
    ytl.textContent = (column.label || column.class_name + " " + column.metric) + sense;

    const front = paretoFront(points, higher);
    front.forEach(p => { p.onFront = true; });
    if (front.length > 1) {
      let d = `M ${sx(front[0].x)} ${sy(front[0].y)}`;
      for (let i = 1; i < front.length; i++) d += ` H ${sx(front[i].x)} V ${sy(front[i].y)}`;
      el("path", { d, class: "front", id: "pareto-front" }, svg);
    }
    const g = el("g", { class: "points" }, svg);
    points.forEach(p => {
      const colour = COLOURS[strategyOf(p.row)] || COLOURS.other;
      if (p.lo !== null && p.hi !== null) el("line", { x1: sx(p.x), x2: sx(p.x), y1: sy(p.lo), y2: sy(p.hi), stroke: colour, "stroke-width": 1.5, "stroke-opacity": 0.45 }, g);
    });
    points.sort((a, b) => (a.onFront ? 1 : 0) - (b.onFront ? 1 : 0)).forEach(p => {
      const colour = COLOURS[strategyOf(p.row)] || COLOURS.other;
      const c = el("circle", { cx: sx(p.x), cy: sy(p.y), r: p.onFront ? 8 : 6.5, fill: colour, class: "pt" + (p.onFront ? " on-front" : ""), "data-method": p.row.method_name || "" }, g);
      c.addEventListener("mousemove", evt => showTip(evt, p, column));
      c.addEventListener("mouseleave", () => { tooltip.hidden = true; });
    });
    placeLabels(svg, points.filter(p => p.onFront), points, sx, sy);
  }

  // Greedy label placement: each front point tries spots around itself (right, left, above,
  // below, then further out) and takes the first whose box stays inside the plot and clears
  // every label already placed and every point. Boxes are measured (getBBox), not guessed.
  function placeLabels(svg, labelled, points, sx, sy) {
    const layer = el("g", { class: "labels" }, svg);
    const placed = [];
    const R = 9;
    const pointBoxes = points.map(p => ({ x: sx(p.x) - R, y: sy(p.y) - R, w: 2 * R, h: 2 * R }));
    const hits = (a, b) => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
    const inside = b => b.x >= M.l && b.x + b.w <= W - M.r && b.y >= M.t && b.y + b.h <= H - M.b;
    const spots = [];
    [1, 2, 3].forEach(k => {
      spots.push([12 * k, -8 * k, "start"], [-12 * k, -8 * k, "end"], [12 * k, 14 * k, "start"],
        [-12 * k, 14 * k, "end"], [0, -16 * k, "middle"], [0, 22 * k, "middle"]);
    });
    labelled.slice().sort((a, b) => a.x - b.x).forEach(p => {
      const text = p.row.method_name || "";
      if (!text) return;
      const t = el("text", { class: "pt-label" }, layer);
      t.textContent = text;
      const spot = spots.find(([dx, dy, anchor]) => {
        t.setAttribute("x", sx(p.x) + dx);
        t.setAttribute("y", sy(p.y) + dy);
        t.setAttribute("text-anchor", anchor);
        const b = t.getBBox();
        const box = { x: b.x - 2, y: b.y - 1, w: b.width + 4, h: b.height + 2 };
        if (!inside(box) || placed.some(o => hits(box, o)) || pointBoxes.some(o => hits(box, o))) return false;
        placed.push(box);
        return true;
      });
      if (!spot) t.remove();  // no free spot: the tooltip still names it
    });
  }

  metricSel.addEventListener("change", () => { if (urlState) urlState.set("metric", metricSel.value); draw(); });
  xSel.addEventListener("change", () => { if (urlState) urlState.set("x", xSel.value); draw(); });
  draw();
})();
