// Small page behaviours that would otherwise be inline event handlers, which the site's
// Content-Security-Policy (script-src 'self', hardening/csp.py) does not run:
//   <form data-confirm="Really?">      asks before submitting;
//   <input data-select-on-click>       selects its text when clicked (copyable links).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
  document.addEventListener("click", function (event) {
    const input = event.target.closest("input[data-select-on-click]");
    if (input) input.select();
  });
})();
