// Counts down to the moment in data-countdown (ISO 8601) on every such element.
(function () {
  function pad(n) { return String(n).padStart(2, "0"); }
  function tick(el) {
    var target = Date.parse(el.dataset.countdown);
    var left = Math.max(0, Math.floor((target - Date.now()) / 1000));
    var days = Math.floor(left / 86400);
    var rest = left % 86400;
    var text = pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor(rest % 3600 / 60)) + ":" + pad(rest % 60);
    el.textContent = (days ? days + " " + (el.dataset.daysLabel || "d") + " " : "") + text;
    if (left === 0 && el.dataset.reload === "1") { window.location.reload(); }
  }
  document.querySelectorAll("[data-countdown]").forEach(function (el) {
    tick(el);
    setInterval(function () { tick(el); }, 1000);
  });
})();
