// Quick exit: leave at once for a neutral page, in place of this history entry (Back does
// not return here), and end the portal session on the server with a beacon that survives
// the page going away. Without JavaScript the form posts and the server page moves on.
(function () {
  "use strict";
  var form = document.getElementById("quick-exit");
  if (!form) { return; }
  function leave(event) {
    if (event) { event.preventDefault(); }
    var token = form.querySelector('input[name="csrf_token"]').value;
    if (token) {
      var body = new FormData();
      body.append("csrf_token", token);
      var sent = navigator.sendBeacon && navigator.sendBeacon(form.getAttribute("data-beacon-url"), body);
      if (!sent) {
        fetch(form.getAttribute("data-beacon-url"), { method: "POST", body: body, credentials: "same-origin", keepalive: true });
      }
    }
    document.body.hidden = true;  // nothing of the page stays on screen while the next loads
    window.location.replace(form.getAttribute("data-exit-url"));
  }
  form.addEventListener("submit", leave);
})();
