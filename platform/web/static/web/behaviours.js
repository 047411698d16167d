// Small page behaviours that would otherwise be inline event handlers, which the site's
// Content-Security-Policy (script-src 'self', hardening/csp.py) does not run:
//   <form data-confirm="Really?">      asks before submitting;
//   <input data-select-on-click>       selects its text when clicked (copyable links);
//   <select data-describes="id_file" data-label-<value>=".." data-help-<value>="..">
//                                      rewrites that field's label and help for the choice.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    const form = event.target.closest("form[data-confirm]");
    if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
  document.addEventListener("change", function (event) {
    const select = event.target.closest("select[data-describes]");
    if (!select) return;
    const field = document.getElementById(select.dataset.describes);
    const box = field && field.closest(".field");
    if (!box) return;
    const label = box.querySelector("label");
    const help = box.querySelector("small.muted");
    const words = select.getAttribute("data-label-" + select.value);
    const advice = select.getAttribute("data-help-" + select.value);
    if (label && words) label.firstChild.textContent = words + " ";
    if (help && advice) help.textContent = advice;
  });
  document.addEventListener("click", function (event) {
    const input = event.target.closest("input[data-select-on-click]");
    if (input) input.select();
  });
})();
