// The portal's small behaviours, from this file rather than inline, so the pages' Content-
// Security-Policy can forbid inline script:
//   <form data-confirm="Really?">   asks before submitting
//   <button data-copy-target="id">  copies the text of element #id
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy-target]");
    if (!button) {
      return;
    }
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.innerText.trim()).then(function () {
        button.textContent = "Copied";
      });
    }
  });
})();
