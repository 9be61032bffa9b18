// MANAGE → Users and Profile details: ticking rows for the bulk ACTIONS menu, and focus after
// a swap. Focus moves in the same task as the swap (htmx:afterSwap), never later, so it cannot
// pull the caret away from a field the person has already started typing in.
(function () {
  "use strict";

  function rowBoxes() {
    return Array.prototype.slice.call(document.querySelectorAll("#users input[name='user_id']"));
  }

  function showSelection() {
    var boxes = rowBoxes();
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    var all = document.querySelector("#users [data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    var count = document.getElementById("selection-count");
    if (count) { count.textContent = ticked ? ticked + " selected" : ""; }
  }

  function focusSwapped() {
    var field = document.querySelector("[data-focus-on-swap]");
    if (!field) { return; }
    field.removeAttribute("data-focus-on-swap");
    var invalid = field.form && field.form.querySelector("[aria-invalid='true']");
    (invalid || field).focus();
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("#users [data-select-all]")) {
      rowBoxes().forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches("#users [data-select-all], #users input[name='user_id']")) { showSelection(); }
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    showSelection();
    focusSwapped();
    // A redrawn row gives focus back to its Actions button, if focus went down with the old row.
    var target = event.detail && event.detail.target;
    var lost = !document.activeElement || document.activeElement === document.body;
    if (lost && target && target.tagName === "TR" && target.id.indexOf("user-") === 0) {
      var row = document.getElementById(target.id);
      var button = row && row.querySelector("[aria-haspopup]");
      if (button) { button.focus(); }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    showSelection();
    focusSwapped();
  });
})();
