// Counts down on every element with data-seconds-left (seconds, measured by the
// server when the page was made), so a visitor's wrong clock does not matter.
(function () {
  function pad(n) { return String(n).padStart(2, "0"); }
  function start(el) {
    var target = Date.now() + Number(el.dataset.secondsLeft) * 1000;
    var timer;
    function tick() {
      var left = Math.max(0, Math.ceil((target - Date.now()) / 1000));
      var days = Math.floor(left / 86400);
      var rest = left % 86400;
      var text = pad(Math.floor(rest / 3600)) + ":" + pad(Math.floor(rest % 3600 / 60)) + ":" + pad(rest % 60);
      el.textContent = (days ? days + " " + (el.dataset.daysLabel || "d") + " " : "") + text;
      if (left === 0) {
        clearInterval(timer);
        // The contest opened or closed: show the page as it is now.
        if (el.dataset.reload === "1") { window.setTimeout(function () { window.location.reload(); }, 1500); }
      }
    }
    tick();
    timer = setInterval(tick, 1000);
  }
  document.querySelectorAll("[data-seconds-left]").forEach(start);
})();
