/* The questionnaire builder's editor of a desire item's roles (builder.js): each partner
   answers a desire once per role ("Giving" and "Receiving", or one shared role such as
   "Together"). One to four roles; two roles may be paired as counterparts, each completing the
   other, which the comparison uses to match one partner's giving with the other's receiving.
   window.BuilderRoles(ui) gives rolesEditor(item, path), ui being window.BuilderUI's helpers. */
(function () {
  "use strict";
  var MAX_ROLES = 4;
  window.BuilderRoles = function (ui) {
    var el = ui.el, labelled = ui.labelled, textInput = ui.textInput, textArea = ui.textArea,
      select = ui.select, button = ui.button, problemsAt = ui.problemsAt;

    function freshKey(roles) {
      var keys = roles.map(function (r) { return r.key; }); var n = roles.length + 1;
      while (keys.indexOf("role_" + n) >= 0) { n += 1; }
      return "role_" + n;
    }
    // Pairs are two-way (the validator refuses a one-way pair): pairing r with the role stored
    // as `key` unpairs whatever either of them was paired with; an empty key unpairs r.
    function pair(roles, r, key) {
      var other = roles.filter(function (o) { return o.key === key && o !== r; })[0];
      [r, other].forEach(function (one) {
        if (!one || !one.counterpart) { return; }
        roles.forEach(function (o) { if (o.key === one.counterpart && o.counterpart === one.key) { delete o.counterpart; } });
        delete one.counterpart;
      });
      if (other) { r.counterpart = other.key; other.counterpart = r.key; }
    }
    // a role renamed or removed is no longer anyone's counterpart
    function renameCounterpart(roles, from, to) {
      roles.forEach(function (r) {
        if (r.counterpart === from) { if (to) { r.counterpart = to; } else { delete r.counterpart; } }
      });
    }

    return function rolesEditor(item, path) {
      var roles = item.roles;
      var box = el("fieldset", { "class": "b-sub" }, [
        el("legend", { "class": "small fw-semibold", text: "Roles (each partner answers per role)" }),
        el("p", { "class": "form-text mt-0", text: "One role for something done together, or two that complete each other, such as giving and receiving." }),
        problemsAt(path + ".roles")]);
      var pickers = [];  // the "Completed by" selects, kept in step as keys and labels are typed
      function eachOption(value, fn) {
        pickers.forEach(function (sel) {
          Array.prototype.forEach.call(sel.options, function (o) { if (o.value === value) { fn(o); } });
        });
      }
      roles.forEach(function (r, i) {
        var others = roles.filter(function (o) { return o !== r; });
        var counterpart = select([["", "None (a shared role)"]].concat(others.map(function (o) { return [o.key, o.label || o.key]; })),
          r.counterpart || "", function (v) { pair(roles, r, v); }, true);
        pickers.push(counterpart);
        box.appendChild(el("div", { "class": "b-row" }, [
          labelled("Role " + (i + 1), textInput(r.label, function (v) {
            r.label = v; eachOption(r.key, function (o) { o.textContent = v || r.key; });
          }, { maxlength: 120 })),
          labelled("Stored as", textInput(r.key, function (v) {
            var old = r.key; r.key = v; renameCounterpart(roles, old, v);
            eachOption(old, function (o) { o.value = v; });
          }, { maxlength: 32, "class": "form-control form-control-sm b-code" })),
          labelled("Completed by", counterpart),
          roles.length > 1 ? button("Remove", function () {
            roles.splice(i, 1); renameCounterpart(roles, r.key, null); ui.render();
          }, "btn btn-sm btn-outline-danger align-self-end mb-2", { "aria-label": "Remove role " + (i + 1) }) : null
        ]));
      });
      if (roles.length < MAX_ROLES) {
        box.appendChild(button("Add a role", function () {
          roles.push({ key: freshKey(roles), label: "Role " + (roles.length + 1) }); ui.render();
        }));
      }
      box.appendChild(labelled("Caution shown first (optional, for high-risk items)", textArea(item.advisory, function (v) { if (v) { item.advisory = v; } else { delete item.advisory; } }, 2)));
      return box;
    };
  };
})();
