// Conditional questions as the partner portal shows them: reading an item's answer from its
// widgets, and showing or hiding follow-ups (data-enable-when) as answers change. Shared by
// the portal (portal.js) and the builder's live preview (builder.js), so the preview behaves
// as the portal does. The server applies the same rules (questionnaires/engine.py).
(function () {
  "use strict";
  function linkId(el) { return el.id.replace(/^item-/, ""); }
  function typeOf(el) {
    var m = /(?:^|\s)q-([a-z-]+)(?:\s|$)/.exec(el.className.replace(/q-item/, ""));
    return m ? m[1] : "";
  }
  function checked(root, name) {
    var el = root.querySelector('input[name="' + CSS.escape(name) + '"]:checked');
    return el ? el.value : "";
  }
  function field(root, name) {
    var el = root.querySelector('[name="' + CSS.escape(name) + '"]');
    return el ? el.value : "";
  }

  // The answer of one item (a .q-item inside root) in the shape the server stores.
  function valueOf(root, el) {
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
      var fantasy = root.querySelector('input[name="' + CSS.escape(name + "-fantasy") + '"]');
      return {
        roles: roles,
        limits: limits,
        fantasy: !!(fantasy && fantasy.checked),
        experience: checked(root, name + "-experience"),
        note: field(root, name + "-note")
      };
    }
    if (type === "choice") {
      var boxes = el.querySelectorAll('input[type=checkbox][name="' + CSS.escape(name) + '"]');
      if (boxes.length) {
        return Array.prototype.filter.call(boxes, function (b) { return b.checked; }).map(function (b) { return b.value; });
      }
      return checked(root, name);
    }
    if (type === "boolean") {
      var yes = checked(root, name);
      return yes === "true" ? true : yes === "false" ? false : "";
    }
    if (type === "scale") { return checked(root, name); }
    if (type === "decimal") { return field(root, name).trim().replace(",", "."); }
    if (type === "open-choice") {
      var v = checked(root, name);
      return v === "__other__" ? field(root, name + "-other") : v;
    }
    return field(root, name);
  }

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
  function answerOf(root, rule) {
    if (Object.prototype.hasOwnProperty.call(rule, "known")) { return rule.known; }
    var el = root.querySelector('[id="item-' + rule.question.replace(/"/g, "") + '"]');
    if (!el || el.classList.contains("d-none")) { return null; }
    return valueOf(root, el);
  }
  // Show the follow-ups of root whose conditions are met, hide the others.
  function apply(root) {
    root.querySelectorAll(".q-item").forEach(function (el) {
      var raw = el.getAttribute("data-enable-when");
      if (!raw) { return; }
      var rules = JSON.parse(raw);
      var results = rules.map(function (rule) {
        var v = answerOf(root, rule);
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

  window.CounselorConditions = {
    apply: apply, valueOf: valueOf, has: has, compare: compare, linkId: linkId, typeOf: typeOf
  };
})();
