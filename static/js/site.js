// Behaviour shared by every page, kept out of the HTML so that the
// Content-Security-Policy can refuse inline scripts.
(function () {
  "use strict";
  // The language switcher sends its form when a language is picked with the
  // mouse or a touch screen's picker. From the keyboard each arrow press changes
  // the value, so there the choice is sent only by Enter or the Go button
  // beside it: moving through the options never leaves the page.
  document.querySelectorAll("select[data-submit-on-pick]").forEach(function (select) {
    var byKeyboard = false;
    select.addEventListener("pointerdown", function () { byKeyboard = false; });
    select.addEventListener("keydown", function (event) {
      byKeyboard = true;
      if (event.key === "Enter") { event.preventDefault(); select.form.requestSubmit(); }
    });
    select.addEventListener("change", function () {
      if (!byKeyboard) { select.form.requestSubmit(); }
    });
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
