// Export status: poll the JSON endpoint and move queued → rendering → ready without a reload.
// Without JavaScript the page shows the state it was loaded with and a Refresh button.
// The first polls come soon after the click; then each pause is a quarter of the time waited
// so far (FIRST_POLL_MS at the least, MAX_POLL_MS at the most). So an export is shown ready at
// most a quarter of its wait late: one ready after 0.6 s by about 0.75 s, one ready after 4 s
// by 5 s, and a long wait costs one request every two seconds. A failed request waits the
// longest pause. (bench/export_ready.py reads these constants to say when "ready" is seen.)
(function () {
  "use strict";
  var card = document.getElementById("export-status");
  if (!card) { return; }
  var url = card.getAttribute("data-status-url");
  var text = document.getElementById("export-text");
  var download = document.getElementById("export-download");
  var refresh = document.getElementById("export-refresh");
  var order = ["queued", "rendering", "ready"];
  var FIRST_POLL_MS = 150, LATE_SHARE = 0.25, MAX_POLL_MS = 2000;

  function later(pause) {
    // milliseconds since this page's navigation began: the click, when the export form
    // redirected here
    var waited = window.performance.now();
    setTimeout(poll, pause || Math.min(
      Math.max(FIRST_POLL_MS, Math.round(waited * LATE_SHARE)), MAX_POLL_MS));
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
      .catch(function () { later(MAX_POLL_MS); });
  }

  paint(card.getAttribute("data-status"));
  if (["queued", "rendering"].indexOf(card.getAttribute("data-status")) >= 0) { later(); }
})();
