// Refresh the live updates every 20 seconds without reloading the page.
(function () {
  "use strict";
  var box = document.getElementById("live-updates");
  // Older pages have no source: they do not change.
  if (!box || !box.dataset.src || !window.fetch) { return; }
  var every = parseInt(box.dataset.refreshMs || "20000", 10);
  function refresh() {
    if (document.hidden) { return; }
    fetch(box.dataset.src, { headers: { "X-Requested-With": "fetch" }, cache: "no-store" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        // The fragment is rendered by the server with every text escaped.
        if (html !== null && html !== box.innerHTML) { box.innerHTML = html; }
      })
      .catch(function () { /* try again at the next tick */ });
  }
  window.setInterval(refresh, every);
  document.addEventListener("visibilitychange", refresh);
})();
