// Partner portal: autosave drafts as the partner types, and show/hide conditional
// questions. The form works fully without this file (its buttons save through a POST).
(function () {
  "use strict";
  var form = document.getElementById("portal-form");
  if (!form) { return; }
  var statusEl = document.getElementById("autosave-status");
  var revisionEl = document.getElementById("revision");
  var url = form.getAttribute("data-autosave-url");
  var csrf = form.getAttribute("data-csrf");
  var timer = null;
  var inFlight = false;
  var pending = false;
  var stopped = false;
  var dirty = false;  // typed since the last save started

  var C = window.CounselorConditions;  // conditions.js, loaded first
  function items() { return Array.prototype.slice.call(form.querySelectorAll(".q-item")); }
  function valueOf(el) { return C.valueOf(form, el); }

  function collect() {
    var answers = {};
    items().forEach(function (el) {
      var type = C.typeOf(el);
      if (type && type !== "display" && type !== "group") { answers[C.linkId(el)] = valueOf(el); }
    });
    return answers;
  }

  function say(text, isError) {
    statusEl.textContent = text;
    statusEl.classList.toggle("text-danger", !!isError);
  }

  function save(keepalive) {
    if (stopped) { return; }
    if (inFlight) { pending = true; return; }
    inFlight = true;
    dirty = false;
    say("Saving…");
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      keepalive: !!keepalive,
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf },
      body: JSON.stringify({ revision: parseInt(revisionEl.value, 10), answers: collect() })
    }).then(function (response) {
      return response.json().then(function (data) { return { status: response.status, data: data }; });
    }).then(function (result) {
      if (result.status === 200) {
        revisionEl.value = result.data.revision;
        var t = new Date(result.data.saved_at);
        say("Saved at " + t.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) + ".");
      } else if (result.status === 409) {
        stopped = true;
        say(result.data.error || "Not saved: reload the page.", true);
      } else {
        say((result.data.error || "Not saved.") + " Use the Save button to see details.", true);
      }
    }).catch(function () {
      dirty = true;
      say("Not saved: no connection. Your answers are still on this page; try the Save button.", true);
    }).then(function () {
      inFlight = false;
      if (pending) { pending = false; save(); }
    });
  }

  function schedule() {
    clearTimeout(timer);
    timer = setTimeout(save, 900);
  }

  function applyConditions() { C.apply(form); }

  // Leaving the page (tab closed, app switched) within a second of typing: send what is
  // pending as a beacon, which the browser delivers even as the page goes away. A beacon
  // cannot set headers, so the portal CSRF token rides in the body.
  function flush() {
    if (!dirty || stopped || !navigator.sendBeacon) { return; }
    clearTimeout(timer);
    var body = JSON.stringify({
      revision: parseInt(revisionEl.value, 10), answers: collect(), csrf_token: csrf
    });
    if (navigator.sendBeacon(url, new Blob([body], { type: "text/plain;charset=UTF-8" }))) {
      dirty = false;
      // the beacon's answer is never read, so the next save would start from a revision
      // this page does not know: should the page come back (bfcache), it asks for a reload
      stopped = true;
      say("Saved as you left. Reload the page to go on.");
    }
  }
  window.addEventListener("pagehide", flush);
  // Switching apps or tabs usually keeps the page alive: save at once (keepalive lets the
  // request finish even if the browser then discards the page) and go on as normal.
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden" && dirty && !stopped) { clearTimeout(timer); save(true); }
  });

  form.addEventListener("input", function () { dirty = true; applyConditions(); schedule(); });
  form.addEventListener("change", function () { dirty = true; applyConditions(); schedule(); });
  // A full form post is the source of truth when the partner presses a button.
  form.addEventListener("submit", function () { clearTimeout(timer); stopped = true; });
  applyConditions();
})();
