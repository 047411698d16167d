// Leaderboard table: client-side sorting and the column chooser.
// The chooser hides and shows columns by their data-col id; the shown set is kept in the URL
// as ?cols=a,b,c (left out while it is the default), so a reload or a shared link keeps it.
// Rank and team are not choosable: they stay visible and sticky while the table scrolls.
(function () {
  "use strict";
  const table = document.getElementById("leaderboard");
  if (!table) return;
  const chooser = document.getElementById("column-chooser");
  const boxes = chooser ? Array.from(chooser.querySelectorAll("input[type=checkbox]")) : [];
  const urlState = window.fbUrlState;

  function apply(shown) {
    boxes.forEach(box => { box.checked = shown.has(box.value); });
    table.querySelectorAll("[data-col]").forEach(cell => {
      cell.classList.toggle("col-hidden", !shown.has(cell.dataset.col));
    });
  }
  const defaults = () => new Set(boxes.filter(b => b.dataset.default === "1").map(b => b.value));
  const chosen = () => new Set(boxes.filter(b => b.checked).map(b => b.value));
  function save(shown) {
    if (!urlState) return;
    const def = defaults();
    const same = shown.size === def.size && Array.from(shown).every(id => def.has(id));
    urlState.set("cols", same ? null : Array.from(shown).join(","));
  }

  const fromUrl = urlState && urlState.get("cols");
  if (fromUrl !== null && fromUrl !== undefined) {
    const known = new Set(boxes.map(b => b.value));
    apply(new Set(fromUrl.split(",").filter(id => known.has(id))));
  }
  boxes.forEach(box => box.addEventListener("change", () => { const s = chosen(); apply(s); save(s); }));
  if (chooser) chooser.addEventListener("click", event => {
    const button = event.target.closest("button[data-columns]");
    if (!button) return;
    const s = button.dataset.columns === "all" ? new Set(boxes.map(b => b.value)) : defaults();
    apply(s); save(s);
  });

  const headers = Array.from(table.tHead.rows[0].cells);
  headers.forEach((th, index) => {
    th.addEventListener("click", () => {
      // First click sorts best-first (the column's own direction), the next click reverses.
      const natural = th.dataset.dir || "asc";
      const current = th.classList.contains("sorted-asc") ? "asc" : th.classList.contains("sorted-desc") ? "desc" : null;
      const dir = current ? (current === "asc" ? "desc" : "asc") : natural;
      headers.forEach(h => h.classList.remove("sorted-asc", "sorted-desc"));
      th.classList.add("sorted-" + dir);
      const numeric = th.dataset.type === "num";
      const rows = Array.from(table.tBodies[0].rows);
      const key = r => {
        const cell = r.cells[index];
        const raw = cell.dataset.value !== undefined ? cell.dataset.value : cell.textContent.trim();
        if (!numeric) return raw.toLowerCase();
        const v = parseFloat(raw);
        return Number.isFinite(v) ? v : null;
      };
      rows.sort((a, b) => {
        const x = key(a), y = key(b);
        if (x === null && y === null) return 0;
        if (x === null) return 1;  // missing values always last
        if (y === null) return -1;
        const c = x < y ? -1 : x > y ? 1 : 0;
        return dir === "asc" ? c : -c;
      });
      rows.forEach(r => table.tBodies[0].appendChild(r));
    });
  });
})();
