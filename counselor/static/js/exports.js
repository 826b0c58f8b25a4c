// Export status: poll the JSON endpoint and move queued → rendering → ready without a reload.
// Without JavaScript the page shows the state it was loaded with and a Refresh button.
// The first poll comes soon after the click, so a fast export (most take well under a
// second) is seen ready about when it is; then the pause grows to two seconds.
(function () {
  "use strict";
  var card = document.getElementById("export-status");
  if (!card) { return; }
  var url = card.getAttribute("data-status-url");
  var text = document.getElementById("export-text");
  var download = document.getElementById("export-download");
  var refresh = document.getElementById("export-refresh");
  var order = ["queued", "rendering", "ready"];
  var FIRST_POLL_MS = 150, BACKOFF = 1.5, MAX_POLL_MS = 2000;
  var delay = FIRST_POLL_MS;

  function later() {
    setTimeout(poll, delay);
    delay = Math.min(Math.round(delay * BACKOFF), MAX_POLL_MS);
  }

  function paint(status) {
    card.setAttribute("data-status", status);
    var reached = order.indexOf(status);
    card.querySelectorAll(".export-step").forEach(function (li) {
      var i = order.indexOf(li.getAttribute("data-step"));
      li.classList.toggle("done", reached >= 0 && i < reached);
      li.classList.toggle("current", i === reached);
    });
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        paint(data.status);
        text.textContent = data.text;
        if (data.status === "ready") {
          download.classList.remove("d-none");
          if (refresh) { refresh.classList.add("d-none"); }
        } else if (data.status === "failed") {
          window.location.reload();  // shows the retry button rendered by the server
        } else {
          later();
        }
      })
      .catch(function () { delay = MAX_POLL_MS; later(); });
  }

  paint(card.getAttribute("data-status"));
  if (["queued", "rendering"].indexOf(card.getAttribute("data-status")) >= 0) { later(); }
})();
