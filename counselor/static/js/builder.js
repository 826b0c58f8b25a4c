/* The questionnaire builder: edits the definition JSON in the page, asks the server's one
   validator about it as the counselor types (problems beside their items, and the partner's
   phone view), and posts it to be saved as a new version. No framework; no inline script. */
(function () {
  "use strict";
  var root = document.getElementById("builder-editor");
  var form = document.getElementById("builder-form");
  if (!root || !form) { return; }
  var doc = JSON.parse(root.getAttribute("data-doc"));
  var vocab = JSON.parse(root.getAttribute("data-vocab"));
  var csrf = root.getAttribute("data-csrf");
  var hidden = document.getElementById("builder-definition");
  var checkStatus = document.getElementById("builder-check");
  var previewNote = document.getElementById("builder-preview-note");
  var open = {};          // link_id -> true for item cards shown expanded
  var problems = { items: {}, scores: {}, general: [] };
  var dragged = null;      // {list, index} while an item is dragged

  var TYPE_LABELS = {
    group: "Group of questions", display: "Text to read (no answer)", boolean: "Yes / no",
    choice: "Choice", "open-choice": "Choice or own words", string: "Short text", text: "Long text",
    integer: "Whole number", decimal: "Number", date: "Date", scale: "Scale (0–10 or 1–5)",
    desire: "Desire (per role)"
  };
  var OP_LABELS = { "exists": "is answered", "=": "is", "!=": "is not", ">": "is more than",
    "<": "is less than", ">=": "is at least", "<=": "is at most" };
  var SHARE_LABELS = { counselor_only: "Only the counselor", shared: "Shared with the partners after release",
    mutual: "Partners see it only where they match" };
  var SEVERITY_LABELS = { urgent: "Urgent", review: "Review (default)", info: "Info" };
  var KINDS = ["intake", "exercise", "agreement", "debrief", "check-in", "reflection", "plan"];
  var ALERTABLE = ["boolean", "choice", "scale", "integer", "decimal"];
  var SCORABLE = ["scale", "integer", "decimal", "choice"];

  // ---- small DOM helpers (builder-ui.js) ---------------------------------------------------
  var ui = window.BuilderUI({ changed: function () { changed(); }, render: function (id) { render(id); } });
  var el = ui.el, nextId = ui.nextId, labelled = ui.labelled, textInput = ui.textInput, textArea = ui.textArea,
    select = ui.select, checkbox = ui.checkbox, button = ui.button, shorten = ui.shorten, problemsAt = ui.problemsAt,
    answerControl = ui.answerControl;
  var rolesEditor = window.BuilderRoles(ui);  // builder-roles.js

  // ---- the definition --------------------------------------------------------------------
  function walk(items, fn, path) {
    (items || []).forEach(function (item, i) {
      var here = (path || "$.items") + "[" + i + "]";
      fn(item, here);
      if (item.type === "group") { walk(item.items, fn, here + ".items"); }
    });
  }
  function allIds() { var ids = {}; walk(doc.items, function (i) { ids[i.link_id] = true; }); return ids; }
  function freshId(prefix) {
    var ids = allIds(); var n = 1;
    while (ids[prefix + "-" + n]) { n += 1; }
    return prefix + "-" + n;
  }
  function answerable(item) { return item.type !== "group" && item.type !== "display"; }
  function questionsBefore(target) {
    var out = []; var done = false;
    walk(doc.items, function (item) {
      if (item === target) { done = true; }
      if (!done && answerable(item)) { out.push(item); }
    });
    return out;
  }
  function findItem(linkId) { var found = null; walk(doc.items, function (i) { if (i.link_id === linkId) { found = i; } }); return found; }
  function newQuestion() { return { link_id: freshId("item"), type: "text", text: "New question" }; }

  function retype(item, type) {
    ["options", "multiple", "min", "max", "min_label", "max_label", "roles", "advisory", "max_length"].forEach(function (k) { delete item[k]; });
    if (ALERTABLE.indexOf(type) < 0) { delete item.alert; delete item.stop_if; }
    if (type === "display") { delete item.required; delete item.share; }
    if (type === "choice" || type === "open-choice") {
      item.options = [{ value: "option-1", label: "First answer" }, { value: "option-2", label: "Second answer" }];
    }
    if (type === "scale") { item.min = 0; item.max = 10; item.min_label = "Not at all"; item.max_label = "Very much"; }
    if (type === "desire") {
      item.roles = [{ key: "giving", label: "Giving", counterpart: "receiving" }, { key: "receiving", label: "Receiving", counterpart: "giving" }];
    }
    item.type = type;
    if (item.alert) { item.alert.answer = defaultAnswer(item); }
  }
  function defaultAnswer(q) {
    if (!q) { return ""; }
    if (q.type === "boolean") { return true; }
    if (q.type === "choice" || q.type === "open-choice") { return q.options && q.options.length ? q.options[0].value : ""; }
    if (q.type === "scale") { return q.max; }
    if (q.type === "integer" || q.type === "decimal") { return 0; }
    return "";
  }

  // ---- rendering -------------------------------------------------------------------------
  function changed() {
    hidden.value = JSON.stringify(doc);
    scheduleCheck();
  }

  function render(focusId) {
    var scrollY = window.scrollY;
    root.textContent = "";
    root.appendChild(generalCard());
    var list = el("div", { "class": "b-list b-top" });
    renderList(doc.items, "$.items", list, 1);
    root.appendChild(list);
    root.appendChild(el("div", { "class": "d-flex flex-wrap gap-2 mb-4" }, [
      button("Add a section", function () {
        var q = newQuestion();
        var s = { link_id: freshId("section"), type: "group", text: "New section", items: [q] };
        doc.items.push(s); open[s.link_id] = true; open[q.link_id] = true;
        render("b-head-" + s.link_id);
      }, "btn btn-outline-primary", { id: "b-add-section" })
    ]));
    root.appendChild(scoresCard());
    showProblems();
    changed();
    window.scrollTo(0, scrollY);
    if (focusId) { var f = document.getElementById(focusId); if (f) { f.focus(); } }
  }

  function generalCard() {
    var body = el("div", { "class": "card-body" }, [
      el("h2", { "class": "h5", text: "About this questionnaire" }),
      labelled("Title (partners see it)", textInput(doc.title, function (v) { doc.title = v; }, { maxlength: 200, id: "b-title" })),
      labelled("Purpose (one line, only for you)", textInput(doc.purpose, function (v) { doc.purpose = v; }, { maxlength: 400, id: "b-purpose" })),
      el("div", { "class": "row g-2" }, [
        el("div", { "class": "col-sm-6" }, [labelled("Kind", select(KINDS.map(function (k) { return [k, k]; }), doc.kind, function (v) { doc.kind = v; }))]),
        el("div", { "class": "col-sm-6" }, [labelled("About how many minutes", textInput(doc.estimated_minutes, function (v) {
          var n = parseInt(v, 10); if (v.trim() === "") { delete doc.estimated_minutes; } else { doc.estimated_minutes = isNaN(n) ? v : n; }
        }, { inputmode: "numeric", id: "b-minutes" }))])
      ]),
      labelled("What partners read first (optional)", textArea(doc.intro, function (v) { if (v) { doc.intro = v; } else { delete doc.intro; } }, 3)),
      el("ul", { "class": "b-problems list-unstyled mb-0", id: "b-general-problems" })
    ]);
    return el("section", { "class": "card shadow-sm mb-3", "aria-label": "About this questionnaire" }, [body]);
  }

  function renderList(items, path, container, depth) {
    items.forEach(function (item, i) {
      container.appendChild(itemCard(items, i, path + "[" + i + "]", depth));
    });
  }

  function move(list, from, to, focusId) {
    if (to < 0 || to >= list.length) { return; }
    var item = list.splice(from, 1)[0];
    list.splice(to, 0, item);
    render(focusId);
  }

  function itemCard(list, index, path, depth) {
    var item = list[index];
    var lid = item.link_id;
    var isSection = depth === 1 && item.type === "group";
    var expanded = isSection || !!open[lid];
    var bodyId = "b-body-" + lid;
    var name = shorten(item.text, 60);
    var head = el("div", { "class": "b-item-head" }, [
      el("span", { "class": "b-handle", "aria-hidden": "true", title: "Drag to move", text: "⠿" }),
      el("span", { "class": "badge text-bg-light border b-type", text: isSection ? "Section" : (TYPE_LABELS[item.type] || item.type) }),
      isSection ? el("h2", { "class": "h5 mb-0 b-title", id: "b-head-" + lid, tabindex: "-1", text: item.text || "Untitled section" })
        : button(name || "(no text yet)", function () { open[lid] = !open[lid]; render("b-head-" + lid); }, "btn btn-link b-toggle", { id: "b-head-" + lid, "aria-expanded": String(expanded), "aria-controls": bodyId }),
      el("span", { "class": "b-problem-count badge text-bg-danger d-none", "data-count-for": path }),
      el("span", { "class": "b-tools" }, [
        button("↑", function () { move(list, index, index - 1, "b-up-" + lid); }, "btn btn-sm btn-outline-secondary", { id: "b-up-" + lid, "aria-label": "Move “" + name + "” up", disabled: index === 0 }),
        button("↓", function () { move(list, index, index + 1, "b-down-" + lid); }, "btn btn-sm btn-outline-secondary", { id: "b-down-" + lid, "aria-label": "Move “" + name + "” down", disabled: index === list.length - 1 }),
        button("Remove", function () {
          if (!window.confirm("Remove “" + name + "”" + (item.type === "group" ? " and everything in it" : "") + "?")) { return; }
          list.splice(index, 1); render("b-add-section");
        }, "btn btn-sm btn-outline-danger", { "aria-label": "Remove “" + name + "”" })
      ])
    ]);
    var body = el("div", { "class": "b-item-body" + (expanded ? "" : " d-none"), id: bodyId });
    fillBody(body, item, path, depth);
    var card = el("div", { "class": "b-item card mb-2" + (isSection ? " b-section shadow-sm" : "") + (item.type === "group" && !isSection ? " b-group" : ""),
      "data-path": path, "data-link-id": lid, draggable: "true" }, [
      el("div", { "class": "card-body" }, [head, el("ul", { "class": "b-problems list-unstyled mb-0", "data-problems-for": path }), body])
    ]);
    card.addEventListener("dragstart", function (ev) {
      if (ev.target !== card) { return; }
      dragged = { list: list, index: index };
      ev.dataTransfer.effectAllowed = "move";
      ev.dataTransfer.setData("text/plain", lid);
      ev.stopPropagation();
    });
    card.addEventListener("dragover", function (ev) {
      if (dragged && dragged.list === list) { ev.preventDefault(); ev.stopPropagation(); card.classList.add("b-drop"); }
    });
    card.addEventListener("dragleave", function () { card.classList.remove("b-drop"); });
    card.addEventListener("drop", function (ev) {
      card.classList.remove("b-drop");
      if (dragged && dragged.list === list) { ev.preventDefault(); ev.stopPropagation(); var d = dragged; dragged = null; move(list, d.index, index, "b-head-" + lid); }
    });
    card.addEventListener("dragend", function () { dragged = null; });
    return card;
  }

  function fillBody(body, item, path, depth) {
    var lid = item.link_id;
    if (item.type === "group") {
      body.appendChild(labelled(depth === 1 ? "Section title" : "Group title", textInput(item.text, function (v) { item.text = v; }, { maxlength: 2000, id: "b-text-" + lid })));
    } else {
      var types = vocab.types.filter(function (t) { return t !== "group"; }).map(function (t) { return [t, TYPE_LABELS[t] || t]; });
      body.appendChild(labelled("Kind of question", select(types, item.type, function (v) { retype(item, v); }, true)));
      body.appendChild(labelled(item.type === "display" ? "Text" : "Question", textArea(item.text, function (v) { item.text = v; }, 2, "b-text-" + lid)));
    }
    body.appendChild(labelled("Help text (optional)", textArea(item.help, function (v) { if (v) { item.help = v; } else { delete item.help; } }, 1)));
    if (answerable(item)) {
      var row = el("div", { "class": "row g-2" }, [
        el("div", { "class": "col-sm-6" }, [labelled("Who sees the answer", select(vocab.shares.map(function (s) { return [s, SHARE_LABELS[s] || s]; }),
          item.share || (item.type === "desire" ? "mutual" : "counselor_only"), function (v) { item.share = v; }))]),
        el("div", { "class": "col-sm-6 pt-sm-4" }, [checkbox("Required", item.required, function (v) { if (v) { item.required = true; } else { delete item.required; } })])
      ]);
      body.appendChild(row);
    }
    if (item.type === "choice" || item.type === "open-choice") { body.appendChild(optionsEditor(item, path)); }
    if (item.type === "scale") {
      body.appendChild(el("div", { "class": "row g-2" }, [
        el("div", { "class": "col-6 col-sm-3" }, [labelled("From", select([[0, "0"], [1, "1"]], item.min, function (v) { item.min = parseInt(v, 10); }, true))]),
        el("div", { "class": "col-6 col-sm-3" }, [labelled("To", select([[5, "5"], [10, "10"]], item.max, function (v) { item.max = parseInt(v, 10); }, true))]),
        el("div", { "class": "col-sm-3" }, [labelled("Label of the lowest", textInput(item.min_label, function (v) { item.min_label = v; }, { maxlength: 120 }))]),
        el("div", { "class": "col-sm-3" }, [labelled("Label of the highest", textInput(item.max_label, function (v) { item.max_label = v; }, { maxlength: 120 }))])
      ]));
    }
    if (item.type === "integer" || item.type === "decimal") {
      ["min", "max"].forEach(function (k) {
        body.appendChild(labelled(k === "min" ? "Smallest allowed (optional)" : "Largest allowed (optional)", textInput(item[k], function (v) {
          var n = Number(v); if (v.trim() === "") { delete item[k]; } else { item[k] = isFinite(n) ? n : v; }
        }, { inputmode: "decimal" })));
      });
    }
    if (item.type === "desire") { body.appendChild(rolesEditor(item, path)); }
    body.appendChild(conditionsEditor(item, path));
    if (ALERTABLE.indexOf(item.type) >= 0) { body.appendChild(alertEditor(item, path)); }
    if (ALERTABLE.indexOf(item.type) >= 0) { body.appendChild(stopEditor(item, path)); }
    if (item.type === "group") {
      var list = el("div", { "class": "b-list" });
      renderList(item.items, path + ".items", list, depth + 1);
      body.appendChild(list);
      body.appendChild(el("div", { "class": "d-flex flex-wrap gap-2" }, [
        button(depth === 1 ? "Add a question to this section" : "Add a question to this group", function () {
          var q = newQuestion(); item.items.push(q); open[q.link_id] = true; render("b-text-" + q.link_id);
        }, "btn btn-sm btn-outline-primary", { id: "b-add-q-" + lid }),
        button("Add text to read", function () {
          var d = { link_id: freshId("text"), type: "display", text: "Something to read" }; item.items.push(d); open[d.link_id] = true; render("b-text-" + d.link_id);
        }),
        depth === 1 ? button("Add a group", function () {
          var q = newQuestion(); var g = { link_id: freshId("group"), type: "group", text: "New group", items: [q] };
          item.items.push(g); open[g.link_id] = true; open[q.link_id] = true; render("b-text-" + g.link_id);
        }) : null
      ]));
    }
  }

  function optionsEditor(item, path) {
    var box = el("fieldset", { "class": "b-sub" }, [el("legend", { "class": "small fw-semibold", text: "Answers to choose from" }), problemsAt(path + ".options")]);
    item.options.forEach(function (o, i) {
      box.appendChild(el("div", { "class": "b-row" }, [
        labelled("Answer " + (i + 1), textInput(o.label, function (v) { o.label = v; }, { maxlength: 300 })),
        labelled("Stored as", textInput(o.value, function (v) { o.value = v; }, { maxlength: 64, "class": "form-control form-control-sm b-code" })),
        button("Remove", function () { item.options.splice(i, 1); render(); }, "btn btn-sm btn-outline-danger align-self-end mb-2", { "aria-label": "Remove answer " + (i + 1) })
      ]));
    });
    box.appendChild(button("Add an answer", function () {
      var n = item.options.length + 1; var values = item.options.map(function (o) { return o.value; });
      while (values.indexOf("option-" + n) >= 0) { n += 1; }
      item.options.push({ value: "option-" + n, label: "Answer " + n }); render();
    }));
    if (item.type === "choice") {
      box.appendChild(checkbox("Partners may choose more than one", item.multiple, function (v) { if (v) { item.multiple = true; } else { delete item.multiple; } }));
    }
    return box;
  }

  function conditionsEditor(item, path) {
    var box = el("fieldset", { "class": "b-sub b-conditions" }, [el("legend", { "class": "small fw-semibold", text: "Show this only when…" }), problemsAt(path + ".enable_when"),
      problemsAt(path + ".enable_behavior")]);
    var earlier = questionsBefore(item);
    (item.enable_when || []).forEach(function (c, i) {
      var q = findItem(c.question);
      var qSel = select(earlier.map(function (e) { return [e.link_id, shorten(e.text, 70)]; }).concat(q ? [] : [[c.question, c.question + " (not an earlier question)"]]),
        c.question, function (v) { c.question = v; var nq = findItem(v); if (c.operator !== "exists") { c.answer = defaultAnswer(nq); } }, true);
      var ops = vocab.operators.map(function (o) { return [o, OP_LABELS[o] || o]; });
      var opSel = select(ops, c.operator, function (v) { c.operator = v; if (v === "exists") { delete c.answer; } else if (!("answer" in c)) { c.answer = defaultAnswer(findItem(c.question)); } }, true);
      box.appendChild(el("div", { "class": "b-row" }, [
        labelled("Question", qSel), labelled("Answer", opSel),
        c.operator === "exists" ? null : labelled("Value", answerControl(q, c.answer, function (v) { c.answer = v; })),
        button("Remove", function () { item.enable_when.splice(i, 1); if (!item.enable_when.length) { delete item.enable_when; delete item.enable_behavior; } render(); },
          "btn btn-sm btn-outline-danger align-self-end mb-2", { "aria-label": "Remove condition " + (i + 1) })
      ]));
    });
    if (item.enable_when && item.enable_when.length > 1) {
      box.appendChild(labelled("When there are several conditions", select([["all", "all of them must be met"], ["any", "any one is enough"]], item.enable_behavior || "all",
        function (v) { if (v === "any") { item.enable_behavior = "any"; } else { delete item.enable_behavior; } })));
    }
    if (earlier.length) {
      box.appendChild(button("Add a condition", function () {
        var q = earlier[earlier.length - 1];
        item.enable_when = item.enable_when || [];
        item.enable_when.push({ question: q.link_id, operator: "=", answer: defaultAnswer(q) }); render();
      }, "btn btn-sm btn-outline-secondary", { id: "b-add-cond-" + item.link_id }));
    } else if (!item.enable_when) {
      box.appendChild(el("p", { "class": "small text-body-secondary mb-0", text: "Always shown (no earlier question to depend on)." }));
    }
    return box;
  }

  function stopEditor(item, path) {
    var box = el("fieldset", { "class": "b-sub b-stop" }, [el("legend", { "class": "small fw-semibold", text: "Stop after this answer" }), problemsAt(path + ".stop_if")]);
    box.appendChild(checkbox("Stop the questionnaire after a given answer (for example, under 18)", !!item.stop_if, function (v) {
      if (v) { item.stop_if = { operator: "=", answer: defaultAnswer(item), message: "Thank you. This questionnaire is not the right one for you; please talk to your counselor." }; } else { delete item.stop_if; }
    }, true));
    if (item.stop_if) {
      var st = item.stop_if;
      box.appendChild(el("div", { "class": "b-row" }, [
        labelled("When the answer", select(vocab.operators.filter(function (o) { return o !== "exists"; }).map(function (o) { return [o, OP_LABELS[o]]; }), st.operator, function (v) { st.operator = v; })),
        labelled("Value", answerControl(item, st.answer, function (v) { st.answer = v; }))
      ]));
      box.appendChild(labelled("What the partner reads instead of the next page", textArea(st.message, function (v) { st.message = v; }, 2, "b-stop-msg-" + item.link_id),
        "Say why, kindly, and whom to reach."));
    }
    return box;
  }

  function alertEditor(item, path) {
    var box = el("fieldset", { "class": "b-sub" }, [el("legend", { "class": "small fw-semibold", text: "Alert for the counselor" }), problemsAt(path + ".alert")]);
    box.appendChild(checkbox("Raise an alert when the answer meets a rule", !!item.alert, function (v) {
      if (v) { item.alert = { operator: "=", answer: defaultAnswer(item), message: "Please look at this answer.", severity: "review" }; } else { delete item.alert; }
    }, true));
    if (item.alert) {
      var a = item.alert;
      box.appendChild(el("div", { "class": "b-row" }, [
        labelled("When the answer", select(vocab.operators.filter(function (o) { return o !== "exists"; }).map(function (o) { return [o, OP_LABELS[o]]; }), a.operator, function (v) { a.operator = v; })),
        labelled("Value", answerControl(item, a.answer, function (v) { a.answer = v; })),
        labelled("Severity", select(vocab.severities.map(function (s) { return [s, SEVERITY_LABELS[s] || s]; }), a.severity || "review", function (v) { a.severity = v; }))
      ]));
      box.appendChild(labelled("Message on the case page", textInput(a.message, function (v) { a.message = v; }, { maxlength: 300, id: "b-alert-msg-" + item.link_id })));
    }
    return box;
  }

  // The lowest and highest answer a scored item can have (a reverse-scored one counts
  // lowest + highest - answer).
  function answerRange(q) {
    if (q.type === "choice") {
      var nums = (q.options || []).map(function (o) { return Number(o.value); }).filter(function (x) { return isFinite(x); });
      return nums.length ? [Math.min.apply(null, nums), Math.max.apply(null, nums)] : [0, 1];
    }
    return [typeof q.min === "number" ? q.min : 0, typeof q.max === "number" ? q.max : 10];
  }
  function scoreItemRow(s, q) {
    var lid = q.link_id;
    var counted = s.items.indexOf(lid) >= 0;
    var rev = (s.reverse || []).filter(function (r) { return r.item === lid; })[0];
    function dropReverse() {
      s.reverse = (s.reverse || []).filter(function (r) { return r.item !== lid; });
      if (!s.reverse.length) { delete s.reverse; }
    }
    var row = el("div", { "class": "b-score-item" }, [checkbox(shorten(q.text, 80), counted, function (v) {
      var at = s.items.indexOf(lid);
      if (v && at < 0) { s.items.push(lid); } else if (!v && at >= 0) { s.items.splice(at, 1); dropReverse(); }
    }, true)]);
    if (!counted) { return row; }
    var sub = el("div", { "class": "b-reverse" }, [checkbox("Reverse-scored (a high answer counts low)", !!rev, function (v) {
      if (v) { var r = answerRange(q); s.reverse = s.reverse || []; s.reverse.push({ item: lid, min: r[0], max: r[1] }); } else { dropReverse(); }
    }, true)]);
    if (rev) {
      sub.appendChild(el("div", { "class": "b-row" }, ["min", "max"].map(function (k) {
        return labelled(k === "min" ? "Lowest answer" : "Highest answer", textInput(rev[k], function (v) { var x = Number(v); rev[k] = v.trim() !== "" && isFinite(x) ? x : v; }, { inputmode: "decimal" }));
      })));
      sub.appendChild(el("p", { "class": "form-text mt-0 mb-2", text: "Counts as lowest + highest − the answer." }));
    }
    row.appendChild(sub);
    return row;
  }

  function scoresCard() {
    var scorable = [];
    walk(doc.items, function (i) { if (SCORABLE.indexOf(i.type) >= 0 && !(i.type === "choice" && i.multiple)) { scorable.push(i); } });
    var body = el("div", { "class": "card-body" }, [el("h2", { "class": "h5", text: "Scores" }),
      el("p", { "class": "small text-body-secondary", text: "A score adds up (or averages) numeric answers per partner, for you; cut-offs give it a meaning." })]);
    (doc.scores || []).forEach(function (s, n) {
      var path = "$.scores[" + n + "]";
      var box = el("fieldset", { "class": "b-sub", "data-path": path }, [el("legend", { "class": "small fw-semibold", text: s.title || "Score " + (n + 1) }),
        el("ul", { "class": "b-problems list-unstyled mb-1", "data-problems-for": path })]);
      box.appendChild(labelled("Title", textInput(s.title, function (v) { s.title = v; }, { maxlength: 200 })));
      box.appendChild(el("div", { "class": "row g-2" }, [
        el("div", { "class": "col-sm-6" }, [labelled("How", select([["sum", "Sum"], ["mean", "Mean"]], s.method, function (v) { s.method = v; }))]),
        el("div", { "class": "col-sm-6" }, [labelled("Unanswered items allowed", textInput(s.max_missing || 0, function (v) {
          var k = Number(v); if (v.trim() === "" || k === 0) { delete s.max_missing; } else { s.max_missing = Number.isInteger(k) ? k : v; }
        }, { inputmode: "numeric" }), "More unanswered than this: no score. Fewer: the answered ones are prorated.")]),
        problemsAt(path + ".max_missing"), problemsAt(path + ".method")
      ]));
      var items = el("fieldset", { "class": "mb-2 b-score-items" }, [el("legend", { "class": "small", text: "Items it adds up" }), problemsAt(path + ".items"), problemsAt(path + ".reverse")]);
      if (!scorable.length) { items.appendChild(el("p", { "class": "small text-body-secondary mb-1", text: "Add a scale, number or choice question first." })); }
      scorable.forEach(function (q) { items.appendChild(scoreItemRow(s, q)); });
      box.appendChild(items);
      box.appendChild(labelled("A follow-up left hidden counts as (optional)", textInput(s.hidden_as, function (v) {
        var x = Number(v); if (v.trim() === "") { delete s.hidden_as; } else { s.hidden_as = isFinite(x) ? x : v; }
      }, { inputmode: "decimal" }), "Leave empty to count a hidden follow-up as unanswered."));
      box.appendChild(problemsAt(path + ".cutoffs"));
      (s.cutoffs || []).forEach(function (c, i) {
        box.appendChild(el("div", { "class": "b-row" }, [
          labelled("From", textInput(c.at_least, function (v) { var x = Number(v); c.at_least = v.trim() !== "" && isFinite(x) ? x : v; }, { inputmode: "decimal" })),
          labelled("Means", textInput(c.text, function (v) { c.text = v; }, { maxlength: 400 })),
          button("Remove", function () { s.cutoffs.splice(i, 1); if (!s.cutoffs.length) { delete s.cutoffs; } render(); }, "btn btn-sm btn-outline-danger align-self-end mb-2", { "aria-label": "Remove cut-off " + (i + 1) })
        ]));
      });
      box.appendChild(button("Add a cut-off", function () { s.cutoffs = s.cutoffs || []; s.cutoffs.push({ at_least: 0, text: "" }); render(); }));
      box.appendChild(labelled("Where the scoring comes from", textArea(s.source, function (v) { s.source = v; }, 2)));
      box.appendChild(labelled("Who sees it", select([["counselor_only", "Only the counselor"], ["shared", "Each partner their own, after release"]], s.share || "counselor_only", function (v) { s.share = v; })));
      box.appendChild(button("Remove this score", function () { doc.scores.splice(n, 1); if (!doc.scores.length) { delete doc.scores; } render(); }, "btn btn-sm btn-outline-danger"));
      body.appendChild(box);
    });
    body.appendChild(button("Add a score", function () {
      doc.scores = doc.scores || [];
      var n = doc.scores.length + 1; var keys = doc.scores.map(function (s) { return s.key; });
      while (keys.indexOf("score_" + n) >= 0) { n += 1; }
      doc.scores.push({ key: "score_" + n, title: "New score", method: "sum", items: [], source: "Practice-defined; not a validated instrument." }); render();
    }, "btn btn-sm btn-outline-primary"));
    return el("section", { "class": "card shadow-sm mb-3", "aria-label": "Scores" }, [body]);
  }

  // ---- the live check: the server's validator, and the partner's view ----------------------
  var timer = null; var seq = 0;
  function scheduleCheck() { clearTimeout(timer); timer = setTimeout(check, 350); }
  function check() {
    var mine = ++seq;
    checkStatus.textContent = "Checking…";
    fetch(vocab.check_url, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify(doc) })
      .then(function (r) { return r.json(); })
      .then(function (data) {
        if (mine !== seq) { return; }
        problems = data.problems || { items: {}, scores: {}, general: [] };
        showProblems();
        if (data.preview) { window.BuilderPreview.show(data.preview); previewNote.textContent = ""; }
        else { previewNote.textContent = "The preview shows the last version without problems."; }
      })
      .catch(function () { if (mine === seq) { checkStatus.textContent = "Could not check just now; saving still checks everything."; } });
  }
  // Each problem of the live check goes to the part of its item (or score) it names, when
  // that part has a place for problems, else to the top of the item.
  function showProblems() {
    var count = 0;
    var places = {};
    Array.prototype.forEach.call(root.querySelectorAll("[data-problems-for]"), function (ul) {
      places[ul.getAttribute("data-problems-for")] = ul;
      ul.textContent = "";
    });
    var perItem = {};
    [problems.items || {}, problems.scores || {}].forEach(function (group) {
      Object.keys(group).forEach(function (key) {
        perItem[key] = group[key].length;
        group[key].forEach(function (p) {
          var cut = p.indexOf(": ");
          var rest = cut > 0 ? p.slice(0, cut) : "";
          var part = /^[a-z_]+/.exec(rest);
          var ul = (part && places[key + "." + part[0]]) || places[key];
          if (!ul) { return; }
          var words = rest ? window.BuilderPreview.plainPart(rest) + ": " + p.slice(cut + 2) : p;
          ul.appendChild(el("li", { "class": "b-problem", text: words }));
          count += 1;
          var body = ul.closest(".b-item") ? ul.closest(".b-item").querySelector(".b-item-body") : null;
          if (body) { body.classList.remove("d-none"); }
        });
      });
    });
    Array.prototype.forEach.call(root.querySelectorAll("[data-count-for]"), function (badge) {
      var n = perItem[badge.getAttribute("data-count-for")] || 0;
      badge.textContent = n ? n + (n === 1 ? " problem" : " problems") : "";
      badge.classList.toggle("d-none", !n);
    });
    var general = document.getElementById("b-general-problems");
    if (general) {
      general.textContent = "";
      (problems.general || []).forEach(function (p) { general.appendChild(el("li", { "class": "b-problem", text: p })); });
      count += (problems.general || []).length;
    }
    checkStatus.textContent = count ? count + (count === 1 ? " problem, shown beside its item. Fix it before saving." : " problems, each shown beside its item. Fix them before saving.")
      : "No problems: ready to save.";
    checkStatus.className = "small mb-2 " + (count ? "text-danger" : "text-success");
  }

  form.addEventListener("submit", function () { hidden.value = JSON.stringify(doc); });
  render();
})();
