// A board whose ranks or statistics the worker is still computing refreshes itself: it polls
// the board's API every few seconds and reloads the page once the API's board differs from
// the one shown (no longer stale, or its analysis status changed). No inline code (CSP): the
// element carrying the data-* attributes is found by id. Gives up after ten minutes (a server
// without a worker never catches up; the notice says what to do then).
(function () {
  "use strict";
  const el = document.getElementById("board-refresh");
  if (!el || !el.dataset.api) return;
  const shownStale = el.dataset.stale === "1";
  const shownStatus = el.dataset.status || "";
  const shownPending = el.dataset.pending === "1";
  const until = Date.now() + 10 * 60 * 1000;

  function changed(board) {
    const analysis = board.analysis || {};
    return Boolean(board.stale) !== shownStale
      || (analysis.status || "") !== shownStatus
      || Boolean(analysis.ranks_pending) !== shownPending;
  }

  function poll() {
    if (Date.now() > until) return;
    fetch(el.dataset.api, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(r => (r.ok ? r.json() : null))
      .then(board => {
        if (board && changed(board)) { window.location.reload(); return; }
        setTimeout(poll, 4000);
      })
      .catch(() => setTimeout(poll, 8000));
  }
  setTimeout(poll, 3000);
})();
