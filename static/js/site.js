// Behaviour shared by every page, kept out of the HTML so that the
// Content-Security-Policy can refuse inline scripts.
(function () {
  "use strict";
  // The language switcher (and any select marked so) sends its form on change.
  document.querySelectorAll("select[data-submit-on-change]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.addEventListener("click", function () { window.print(); });
  });
  // A form sent back with mistakes opens on its error summary, which a screen
  // reader then reads out; each link in it moves to its field and shows the
  // field's label with it, as GOV.UK's error summary does.
  var summary = document.querySelector("[data-error-summary]");
  if (summary) {
    // Once loaded: going to the page's #fragment (the form, which the summary
    // opens) moves the focus to the page, and scrolls there by itself.
    window.addEventListener("load", function () {
      summary.focus({ preventScroll: true });
      if (!window.location.hash) { summary.scrollIntoView(); }
    });
    summary.querySelectorAll('a[href^="#"]').forEach(function (link) {
      link.addEventListener("click", function (event) {
        var field = document.getElementById(decodeURIComponent(link.hash.slice(1)));
        if (!field) { return; }
        event.preventDefault();
        var label = document.querySelector('label[for="' + CSS.escape(field.id) + '"]');
        (label || field).scrollIntoView();
        field.focus({ preventScroll: true });
      });
    });
  }
  // A form with data-confirm asks before it is sent.
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.dataset.confirm)) { event.preventDefault(); }
    });
  });
})();
