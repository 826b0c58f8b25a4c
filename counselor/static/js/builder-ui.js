/* The questionnaire builder's small DOM helpers (builder.js): labelled controls that tell the
   builder when the definition changed. window.BuilderUI(hooks) gives them, hooks being
   { changed(), render(focusId) }. No framework; no inline script. */
(function () {
  "use strict";
  window.BuilderUI = function (hooks) {
    var uid = 0;
    function changed() { hooks.changed(); }
    function render(focusId) { hooks.render(focusId); }
    function el(tag, attrs, children) {
      var node = document.createElement(tag);
      Object.keys(attrs || {}).forEach(function (k) {
        var v = attrs[k];
        if (v === null || v === undefined || v === false) { return; }
        if (k === "text") { node.textContent = v; } else if (k === "on") {
          Object.keys(v).forEach(function (ev) { node.addEventListener(ev, v[ev]); });
        } else if (v === true) { node.setAttribute(k, ""); } else { node.setAttribute(k, v); }
      });
      (children || []).forEach(function (c) { if (c) { node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); } });
      return node;
    }
    function nextId(prefix) { uid += 1; return "b-" + prefix + "-" + uid; }
    function labelled(label, control, hint) {
      var id = control.id || nextId("f");
      control.id = id;
      if (!control.className) { control.className = control.tagName === "SELECT" ? "form-select form-select-sm" : "form-control form-control-sm"; }
      return el("div", { "class": "mb-2" }, [el("label", { "class": "form-label small mb-1", "for": id, text: label }), control,
        hint ? el("div", { "class": "form-text", text: hint }) : null]);
    }
    function textInput(value, onInput, attrs) {
      var input = el("input", Object.assign({ type: "text", value: value === undefined ? "" : value }, attrs || {}));
      input.addEventListener("input", function () { onInput(input.value); changed(); });
      return input;
    }
    function textArea(value, onInput, rows, id) {
      var area = el("textarea", { rows: rows || 2, id: id || null });
      area.value = value || "";
      area.addEventListener("input", function () { onInput(area.value); changed(); });
      return area;
    }
    function select(options, value, onChange, structural) {
      var sel = el("select", {});
      options.forEach(function (o) {
        var opt = el("option", { value: o[0], text: o[1] });
        if (String(o[0]) === String(value)) { opt.selected = true; }
        sel.appendChild(opt);
      });
      sel.addEventListener("change", function () { onChange(sel.value); if (structural) { render(sel.id); } else { changed(); } });
      return sel;
    }
    function checkbox(label, checked, onChange, structural) {
      var id = nextId("c");
      var box = el("input", { type: "checkbox", "class": "form-check-input", id: id, checked: !!checked });
      box.addEventListener("change", function () { onChange(box.checked); if (structural) { render(id); } else { changed(); } });
      return el("div", { "class": "form-check mb-2" }, [box, el("label", { "class": "form-check-label small", "for": id, text: label })]);
    }
    function button(label, onClick, cls, attrs) {
      var b = el("button", Object.assign({ type: "button", "class": cls || "btn btn-sm btn-outline-secondary", text: label }, attrs || {}));
      b.addEventListener("click", onClick);
      return b;
    }
    function shorten(text, n) { text = String(text || ""); return text.length > n ? text.slice(0, n - 1) + "…" : text; }

    // Where the live check names a problem of this part of an item (see showProblems).
    function problemsAt(key) { return el("ul", { "class": "b-problems list-unstyled mb-1", "data-problems-for": key }); }
    // A control for an answer to question q (conditions and alerts compare with it).
    function answerControl(q, value, onChange) {
      if (q && q.type === "boolean") {
        return select([["true", "Yes"], ["false", "No"]], String(value), function (v) { onChange(v === "true"); });
      }
      if (q && (q.type === "choice" || q.type === "open-choice")) {
        return select((q.options || []).map(function (o) { return [o.value, o.label]; }), value, onChange);
      }
      if (q && q.type === "scale") {
        var opts = [];
        for (var n = q.min; n <= q.max; n += 1) { opts.push([n, String(n)]); }
        return select(opts, value, function (v) { onChange(parseInt(v, 10)); });
      }
      if (q && (q.type === "integer" || q.type === "decimal")) {
        return textInput(value, function (v) { var num = Number(v); onChange(v.trim() !== "" && isFinite(num) ? num : v); }, { inputmode: "decimal" });
      }
      return textInput(value, onChange, q && q.type === "date" ? { type: "date" } : {});
    }
    return { el: el, answerControl: answerControl, nextId: nextId, labelled: labelled, textInput: textInput, textArea: textArea, select: select,
      checkbox: checkbox, button: button, shorten: shorten, problemsAt: problemsAt, render: render };
  };
})();
