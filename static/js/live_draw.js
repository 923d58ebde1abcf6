// The live draw: reveal the winners, then the alternates, one at a time.
// Without JavaScript every name simply shows.
(function () {
  var button = document.getElementById("reveal-next");
  var items = Array.prototype.slice.call(document.querySelectorAll("[data-reveal]"));
  if (!button || !items.length) { return; }
  var shown = 0;
  items.forEach(function (item) { item.classList.add("concealed"); });
  var sections = document.querySelectorAll("[data-reveal-section]");
  sections.forEach(function (section) { section.classList.add("concealed-section"); });

  function label() {
    if (shown >= items.length) {
      button.textContent = button.dataset.labelDone;
      button.disabled = true;
      return;
    }
    var next = items[shown];
    var template = next.dataset.kind === "winner" ? button.dataset.labelWinner : button.dataset.labelAlternate;
    button.textContent = template.replace("%(n)s", next.dataset.position);
  }

  function reveal() {
    if (shown >= items.length) { return; }
    var item = items[shown];
    var section = item.closest("[data-reveal-section]");
    if (section) { section.classList.remove("concealed-section"); }
    items.forEach(function (other) { other.classList.remove("revealed"); });
    item.classList.remove("concealed");
    item.classList.add("revealed");
    item.scrollIntoView({ behavior: "smooth", block: "center" });
    shown += 1;
    label();
  }

  button.addEventListener("click", reveal);
  document.addEventListener("keydown", function (event) {
    // The button itself turns Space and Enter into a click.
    if (event.target === button && (event.key === " " || event.key === "Enter")) { return; }
    if ([" ", "Enter", "ArrowRight", "PageDown"].indexOf(event.key) !== -1) {
      event.preventDefault();
      reveal();
    }
  });
  label();
})();
