// Keeps a background job's page up to date: polls its status (JSON) every two
// seconds, moves the progress bar, and reloads the page once the job ended so
// that its outcome shows as the server renders it. Without JavaScript the
// page refreshes itself (a <noscript> meta refresh) or by its reload link.
(function () {
  var root = document.getElementById("job");
  if (!root) { return; }
  var bar = document.getElementById("job-progress");
  var rows = document.getElementById("job-rows");
  var left = document.getElementById("job-left");
  var state = document.getElementById("job-state");
  function update(status) {
    if (status.rows_total) {
      bar.max = status.rows_total;
      bar.value = status.rows_done;
    }
    rows.textContent = status.rows;
    left.textContent = status.time_left;
    state.textContent = status.state_label;
    if (status.state === "done" || status.state === "failed") {
      window.location.reload();
      return;
    }
    window.setTimeout(poll, 2000);
  }
  function poll() {
    fetch(root.dataset.statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { if (!response.ok) { throw new Error(response.status); } return response.json(); })
      .then(update)
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 1000);
})();
