// Page state kept in the URL (column choice, Pareto x-axis and metric), so a reload, a shared
// link or the back button shows what the reader chose. Pages call fbUrlState.set(name, value)
// when a choice changes; links marked <a data-keep-params="cols,x"> carry those parameters
// along (site tabs, the one-row/every-entry toggle), so switching site keeps the rest.
(function () {
  "use strict";
  function current() { return new URLSearchParams(window.location.search); }

  function refreshLinks() {
    const here = current();
    document.querySelectorAll("a[data-keep-params]").forEach(a => {
      const url = new URL(a.getAttribute("href"), window.location.href);
      a.dataset.keepParams.split(",").forEach(name => {
        name = name.trim();
        if (!name) return;
        if (here.has(name)) url.searchParams.set(name, here.get(name));
        else url.searchParams.delete(name);
      });
      a.setAttribute("href", url.pathname + url.search);
    });
  }

  function set(name, value) {
    const params = current();
    if (value === null || value === undefined || value === "") params.delete(name);
    else params.set(name, value);
    const query = params.toString();
    window.history.replaceState(null, "", window.location.pathname + (query ? "?" + query : ""));
    refreshLinks();
  }

  window.fbUrlState = { get: name => current().get(name), set, refreshLinks };
  refreshLinks();
})();
