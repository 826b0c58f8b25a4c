/* The builder's phone preview (builder.js hands it the server's rendering): it behaves as the
   partner portal does, with the portal's own condition rules (conditions.js): answers can be
   given, follow-ups appear, and a stop shows what the partner would read. Also the builder's
   wording of the parts of an item the live check names. No framework; no inline script. */
(function () {
  "use strict";
  var root = document.getElementById("builder-editor");
  var preview = document.getElementById("builder-preview");
  if (!root || !preview) { return; }
  var C = window.CounselorConditions;
  function applyStops() {
    Array.prototype.forEach.call(preview.querySelectorAll("[data-stop]"), function (box) {
      var rule = JSON.parse(box.getAttribute("data-stop"));
      var item = preview.querySelector('[id="item-' + box.getAttribute("data-stop-for").replace(/"/g, "") + '"]');
      var v = item && !item.classList.contains("d-none") ? C.valueOf(preview, item) : null;
      box.classList.toggle("d-none", !(C.has(v) && C.compare(rule.operator, v, rule.answer)));
    });
  }
  function previewChanged() { if (C) { C.apply(preview); applyStops(); } }
  // What was answered in the preview survives a refresh of it (ids are the portal's).
  function showPreview(html) {
    var kept = {};
    Array.prototype.forEach.call(preview.querySelectorAll("input[id], textarea[id]"), function (input) {
      kept[input.id] = input.type === "radio" || input.type === "checkbox" ? input.checked : input.value;
    });
    var scroll = preview.scrollTop;
    preview.innerHTML = html;
    Object.keys(kept).forEach(function (id) {
      var input = document.getElementById(id);
      if (!input || !preview.contains(input)) { return; }
      if (input.type === "radio" || input.type === "checkbox") { input.checked = kept[id]; } else { input.value = kept[id]; }
    });
    previewChanged();
    preview.scrollTop = scroll;
  }
  preview.addEventListener("input", previewChanged);
  preview.addEventListener("change", previewChanged);

  // Editing an item brings it into view in the phone preview (the preview's ids are the
  // portal's: item-<link_id>).
  root.addEventListener("focusin", function (ev) {
    var card = ev.target.closest ? ev.target.closest("[data-link-id]") : null;
    if (!card) { return; }
    var shown = preview.querySelector('[id="item-' + card.getAttribute("data-link-id").replace(/"/g, "") + '"]');
    if (shown) { preview.scrollTop = shown.getBoundingClientRect().top - preview.getBoundingClientRect().top + preview.scrollTop - 60; }
  });
  // "enable_when[0].answer: reason" in a counselor's words: "condition 1, answer: reason".
  var PART_WORDS = [[/^enable_when\[(\d+)\]/, function (m) { return "condition " + (Number(m[1]) + 1); }],
    [/^enable_when/, "conditions"], [/^enable_behavior/, "several conditions"], [/^stop_if/, "stop"],
    [/^options\[(\d+)\]/, function (m) { return "answer " + (Number(m[1]) + 1); }],
    [/^reverse\[(\d+)\]/, function (m) { return "reverse-scored item " + (Number(m[1]) + 1); }],
    [/^cutoffs\[(\d+)\]/, function (m) { return "cut-off " + (Number(m[1]) + 1); }],
    [/^items\[(\d+)\]/, function (m) { return "item " + (Number(m[1]) + 1); }],
    [/^max_missing/, "unanswered items allowed"], [/^hidden_as/, "hidden follow-up counts as"]];
  function plainPart(rest) {
    for (var i = 0; i < PART_WORDS.length; i += 1) {
      var m = PART_WORDS[i][0].exec(rest);
      if (m) {
        var words = typeof PART_WORDS[i][1] === "function" ? PART_WORDS[i][1](m) : PART_WORDS[i][1];
        var tail = rest.slice(m[0].length).replace(/^\./, "");
        return words + (tail ? ", " + tail.replace(/_/g, " ") : "");
      }
    }
    return rest.replace(/_/g, " ");
  }
  window.BuilderPreview = { show: showPreview, plainPart: plainPart };
  previewChanged();
})();
