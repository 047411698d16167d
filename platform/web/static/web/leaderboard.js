// Client-side sorting of the leaderboard table and the "show all metrics" toggle.
(function () {
  "use strict";
  const table = document.getElementById("leaderboard");
  if (!table) return;
  const toggle = document.getElementById("show-all-metrics");
  if (toggle) toggle.addEventListener("change", () => table.classList.toggle("show-extra", toggle.checked));

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
