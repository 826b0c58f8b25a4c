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

  function items() { return Array.prototype.slice.call(form.querySelectorAll(".q-item")); }
  function linkId(el) { return el.id.replace(/^item-/, ""); }
  function typeOf(el) {
    var m = /(?:^|\s)q-([a-z-]+)(?:\s|$)/.exec(el.className.replace(/q-item/, ""));
    return m ? m[1] : "";
  }
  function checked(name) {
    var el = form.querySelector('input[name="' + CSS.escape(name) + '"]:checked');
    return el ? el.value : "";
  }
  function field(name) {
    var el = form.querySelector('[name="' + CSS.escape(name) + '"]');
    return el ? el.value : "";
  }

  // The answer of one item in the shape the server stores (see engine.py).
  function valueOf(el) {
    var lid = linkId(el), name = "a-" + lid, type = typeOf(el);
    if (type === "desire") {
      var roles = {};
      el.querySelectorAll('input[type=radio][name^="' + name + '-role-"]').forEach(function (input) {
        var key = input.name.slice((name + "-role-").length);
        if (!(key in roles)) { roles[key] = ""; }
        if (input.checked) { roles[key] = input.value; }
      });
      var limits = [];
      el.querySelectorAll('input[type=checkbox][name^="' + name + '-limit-"]').forEach(function (box) {
        if (box.checked) { limits.push(box.name.slice((name + "-limit-").length)); }
      });
      var fantasy = form.querySelector('input[name="' + CSS.escape(name + "-fantasy") + '"]');
      return {
        roles: roles,
        limits: limits,
        fantasy: !!(fantasy && fantasy.checked),
        experience: checked(name + "-experience"),
        note: field(name + "-note")
      };
    }
    if (type === "choice") {
      var boxes = el.querySelectorAll('input[type=checkbox][name="' + CSS.escape(name) + '"]');
      if (boxes.length) {
        return Array.prototype.filter.call(boxes, function (b) { return b.checked; }).map(function (b) { return b.value; });
      }
      return checked(name);
    }
    if (type === "boolean") {
      var yes = checked(name);
      return yes === "true" ? true : yes === "false" ? false : "";
    }
    if (type === "scale") { return checked(name); }
    if (type === "decimal") { return field(name).trim().replace(",", "."); }
    if (type === "open-choice") {
      var v = checked(name);
      return v === "__other__" ? field(name + "-other") : v;
    }
    return field(name);
  }

  function collect() {
    var answers = {};
    items().forEach(function (el) {
      var type = typeOf(el);
      if (type && type !== "display" && type !== "group") { answers[linkId(el)] = valueOf(el); }
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

  // ---- conditional questions (the server applies the same rules) ----
  function has(v) {
    if (v === null || v === undefined || v === "") { return false; }
    if (Array.isArray(v)) { return v.length > 0; }
    if (typeof v === "object") {
      return Object.keys(v.roles || {}).some(function (k) { return v.roles[k]; }) ||
        (v.limits || []).length > 0 || !!v.fantasy || !!v.experience || !!v.note;
    }
    return true;
  }
  // The same rule as compare_values in questionnaires/engine.py: booleans, numbers (JSON
  // numbers and plain numerals such as "2.50", by value) and text; different kinds are
  // never equal and have no order; booleans have no order.
  var NUMERAL = /^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$/;
  function kind(v) {
    if (typeof v === "boolean") { return ["boolean", v]; }
    if (typeof v === "number") { return isFinite(v) ? ["number", v] : ["other", v]; }
    if (typeof v === "string") {
      if (v.length <= 100 && NUMERAL.test(v) && isFinite(Number(v))) { return ["number", Number(v)]; }
      return ["text", v];
    }
    return ["other", v];
  }
  function compare(op, have, want) {
    if (Array.isArray(have)) {
      if (op === "!=") { return !have.some(function (h) { return compare("=", h, want); }); }
      return have.some(function (h) { return compare(op, h, want); });
    }
    var a = kind(have), b = kind(want);
    if (a[0] !== b[0] || a[0] === "other") { return op === "!="; }
    if (op === "=") { return a[1] === b[1]; }
    if (op === "!=") { return a[1] !== b[1]; }
    if (a[0] === "boolean") { return false; }
    switch (op) {
      case ">": return a[1] > b[1];
      case "<": return a[1] < b[1];
      case ">=": return a[1] >= b[1];
      case "<=": return a[1] <= b[1];
    }
    return false;
  }
  function answerOf(rule) {
    if (Object.prototype.hasOwnProperty.call(rule, "known")) { return rule.known; }
    var el = document.getElementById("item-" + rule.question);
    if (!el || el.classList.contains("d-none")) { return null; }
    return valueOf(el);
  }
  function applyConditions() {
    items().forEach(function (el) {
      var raw = el.getAttribute("data-enable-when");
      if (!raw) { return; }
      var rules = JSON.parse(raw);
      var results = rules.map(function (rule) {
        var v = answerOf(rule);
        if (rule.operator === "exists") {
          return has(v) === (rule.answer === undefined ? true : !!rule.answer);
        }
        return has(v) && compare(rule.operator, v, rule.answer);
      });
      var any = el.getAttribute("data-enable-behavior") === "any";
      var on = any ? results.some(Boolean) : results.every(Boolean);
      el.classList.toggle("d-none", !on);
      // A follow-up that is a whole card hides its card too (no empty card is left).
      var card = el.parentElement && el.parentElement.parentElement;
      if (card && card.classList.contains("q-card") && card.firstElementChild.firstElementChild === el) {
        card.classList.toggle("d-none", !on);
      }
    });
  }

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
