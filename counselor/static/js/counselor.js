// Small progressive enhancements; every page works without this file.
(function () {
  "use strict";

  // Buttons that destroy something ask first (the server still requires the POST + CSRF).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
    });
  });

  // Case form: show filled partner slots plus one empty slot (at least two), and an
  // "Add another partner" button for the rest. Without JS all six slots are visible.
  var slots = Array.prototype.slice.call(document.querySelectorAll(".partner-slot"));
  var addButton = document.getElementById("add-partner");
  if (slots.length && addButton) {
    var filled = function (slot) {
      return Array.prototype.some.call(slot.querySelectorAll("input:not([type=hidden])"), function (input) {
        return input.value.trim() !== "";
      }) || slot.querySelector(".is-invalid") !== null;
    };
    var lastFilled = 0;
    slots.forEach(function (slot, i) { if (filled(slot)) { lastFilled = i + 1; } });
    var visible = Math.max(2, lastFilled);
    var update = function () {
      slots.forEach(function (slot, i) { slot.classList.toggle("d-none", i >= visible); });
      addButton.classList.toggle("d-none", visible >= slots.length);
    };
    addButton.addEventListener("click", function () {
      visible += 1;
      update();
      var input = slots[visible - 1].querySelector("input:not([type=hidden])");
      if (input) { input.focus(); }
    });
    update();
  }
})();

// Copy a personal link to the clipboard (the field stays selectable without JS).
(function () {
  "use strict";
  document.querySelectorAll(".copy-btn").forEach(function (button) {
    button.addEventListener("click", function () {
      var input = document.getElementById(button.getAttribute("data-copy-target"));
      if (!input) { return; }
      input.select();
      var done = function () {
        var before = button.textContent;
        button.textContent = "Copied";
        setTimeout(function () { button.textContent = before; }, 1800);
      };
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(input.value).then(done, function () { document.execCommand("copy"); done(); });
      } else {
        document.execCommand("copy");
        done();
      }
    });
  });
})();

// Assign form: show the section choices of the chosen questionnaire only (without this
// script every questionnaire's choices are listed and only the chosen one's are read).
(function () {
  "use strict";
  var select = document.querySelector("select[name=questionnaire]");
  var groups = document.querySelectorAll(".assign-sections");
  if (!select || !groups.length) { return; }
  function show() {
    groups.forEach(function (g) {
      g.hidden = g.getAttribute("data-questionnaire") !== select.value;
    });
  }
  select.addEventListener("change", show);
  show();
})();

// A long comparison's section list scrolls sideways on a phone: bring the section shown into
// view (sideways only, so an opened row's place on the page is kept).
(function () {
  "use strict";
  var list = document.querySelector(".compare-section-list");
  var here = list && list.querySelector("[aria-current=page]");
  if (!here || list.scrollWidth <= list.clientWidth) { return; }
  var item = here.parentElement;
  list.scrollLeft = item.offsetLeft - list.offsetLeft - (list.clientWidth - item.offsetWidth) / 2;
})();
