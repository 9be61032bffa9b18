// MANAGE → Users, Invitations and Profile details: ticking rows for the bulk ACTIONS menu, and focus after
// a swap. Focus moves in the same task as the swap (htmx:afterSwap), never later, so it cannot
// pull the caret away from a field the person has already started typing in.
(function () {
  "use strict";

  // A table with bulk actions (data-bulk-table names its checkboxes, data-bulk-form the form
  // they belong to): its ACTIONS menu is disabled while nothing is selected, and once every
  // row of the page is ticked it offers "select all N matching", which puts the listing's
  // query in the form instead of the ticked ids.
  function rowBoxes(table) {
    var name = table.getAttribute("data-bulk-table");
    return Array.prototype.slice.call(table.querySelectorAll("input[name='" + name + "']"));
  }

  function matchingField(table) {
    var form = document.getElementById(table.getAttribute("data-bulk-form") || "");
    return form && form.querySelector("[data-matching]");
  }

  function showSelection(table) {
    var boxes = rowBoxes(table);
    var ticked = boxes.filter(function (box) { return box.checked; }).length;
    var matching = matchingField(table);
    if (matching && (!boxes.length || ticked < boxes.length)) { matching.disabled = true; }
    var allMatching = matching && !matching.disabled;
    var all = table.querySelector("[data-select-all]");
    if (all) {
      all.checked = boxes.length > 0 && ticked === boxes.length;
      all.indeterminate = ticked > 0 && ticked < boxes.length;
    }
    var offer = table.querySelector("[data-select-matching]");
    if (offer) { offer.hidden = allMatching || boxes.length === 0 || ticked < boxes.length; }
    var count = table.querySelector(".selection-count");
    if (count) {
      // The words come from the page (data-one, data-other, data-all), in its language.
      var words = allMatching ? count.getAttribute("data-all") || "All {n} matching selected"
        : ticked === 1 ? count.getAttribute("data-one") || "{n} selected"
        : count.getAttribute("data-other") || "{n} selected";
      var n = allMatching ? offer.getAttribute("data-matching-count") : String(ticked);
      count.textContent = ticked || allMatching ? words.replace("{n}", n) : "";
    }
    var actions = table.querySelector("[data-bulk-actions]");
    if (actions) { actions.disabled = !ticked && !allMatching; }
  }

  function showSelections() {
    document.querySelectorAll("[data-bulk-table]").forEach(showSelection);
  }

  document.addEventListener("click", function (event) {
    var offer = event.target.closest("[data-select-matching]");
    if (!offer) { return; }
    var table = offer.closest("[data-bulk-table]");
    var matching = matchingField(table);
    matching.value = offer.getAttribute("data-select-matching");
    matching.disabled = false;
    showSelection(table);
    var actions = table.querySelector("[data-bulk-actions]");
    if (actions) { actions.focus(); }
  });

  function focusSwapped() {
    var field = document.querySelector("[data-focus-on-swap]");
    if (!field) { return; }
    field.removeAttribute("data-focus-on-swap");
    var invalid = field.form && field.form.querySelector("[aria-invalid='true']");
    (invalid || field).focus();
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    var table = target.closest("[data-bulk-table]");
    if (!table) { return; }
    if (target.matches("[data-select-all]")) {
      rowBoxes(table).forEach(function (box) { box.checked = target.checked; });
    }
    showSelection(table);
  });

  document.addEventListener("htmx:afterSwap", function (event) {
    showSelections();
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
    showSelections();
    focusSwapped();
  });
})();
