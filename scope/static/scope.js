// Scope's few behaviours that HTML cannot express: menus, dialogs, copying, focus after swaps.
(function () {
  "use strict";

  function closeMenus(except) {
    document.querySelectorAll("[data-menu] > [aria-expanded='true']").forEach(function (button) {
      if (button !== except) {
        button.setAttribute("aria-expanded", "false");
        document.getElementById(button.getAttribute("aria-controls")).hidden = true;
      }
    });
  }

  function menuItems(list) {
    return Array.prototype.slice.call(list.querySelectorAll("[role='menuitem']:not([disabled])"));
  }

  // A table's rows share one menu: <template id="…"> holds every item, a row's button names
  // it (data-menu-from), and the row says which of the items marked data-action it offers (data-actions) and fills the
  // {placeholders} in the items' attributes from its own data-* values. The menu is built in
  // the row when its button opens it, so the page carries one menu per table, not per row.
  // The template may be named by the button or by its table body (data-menu-from), and a
  // row's {url} by the row (data-url) or by its table body (data-rows-url + the row's id).
  function borrowMenu(button) {
    var holder = button.closest("[data-menu-from]");
    var source = holder && document.getElementById(holder.getAttribute("data-menu-from"));
    if (!source || document.getElementById(button.getAttribute("aria-controls") || "")) { return; }
    var row = button.closest("tr");
    var values = Object.assign({}, row.dataset);
    var rows = row.closest("[data-rows-url]");
    if (!("url" in values) && rows) { values.url = rows.getAttribute("data-rows-url") + "/" + row.id.split("-").pop(); }
    var offered = (row.getAttribute("data-actions") || "").split(" ");
    var list = source.content.firstElementChild.cloneNode(true);
    list.querySelectorAll("[data-action]").forEach(function (item) {
      if (offered.indexOf(item.getAttribute("data-action")) < 0) { item.remove(); }
    });
    list.querySelectorAll("*").forEach(function (element) {
      Array.prototype.forEach.call(element.attributes, function (attribute) {
        var value = attribute.value.replace(/\{(\w+)\}/g, function (whole, key) {
          return key in values ? values[key] : whole;
        });
        if (value !== attribute.value) { element.setAttribute(attribute.name, value); }
      });
    });
    list.id = row.id + "-menu";
    button.setAttribute("aria-controls", list.id);
    button.after(list);
    if (window.htmx) { window.htmx.process(list); }
  }

  function openMenu(button, focusLast) {
    borrowMenu(button);
    var list = document.getElementById(button.getAttribute("aria-controls"));
    closeMenus(button);
    button.setAttribute("aria-expanded", "true");
    list.hidden = false;
    place(button, list);
    var items = menuItems(list);
    if (items.length) { (focusLast ? items[items.length - 1] : items[0]).focus(); }
  }

  // A menu inside a scrolling table floats above it (position: fixed) so the table's edges
  // cannot clip it, on a phone as on a desktop.
  function place(button, list) {
    if (!button.closest(".table-wrap")) { return; }
    list.classList.add("menu-floating");
    var box = button.getBoundingClientRect();
    var top = box.bottom + 2;
    if (top + list.offsetHeight > window.innerHeight - 4) { top = Math.max(4, box.top - list.offsetHeight - 2); }
    var left = button.closest(".menu-end") ? box.right - list.offsetWidth : box.left;
    list.style.top = top + "px";
    list.style.left = Math.max(4, Math.min(left, window.innerWidth - list.offsetWidth - 4)) + "px";
  }
  function placeOpenMenus() {
    document.querySelectorAll("[data-menu] > [aria-expanded='true']").forEach(function (button) {
      place(button, document.getElementById(button.getAttribute("aria-controls")));
    });
  }
  window.addEventListener("scroll", placeOpenMenus, true);
  window.addEventListener("resize", placeOpenMenus);

  function closeMenu(button) {
    button.setAttribute("aria-expanded", "false");
    document.getElementById(button.getAttribute("aria-controls")).hidden = true;
    button.focus();
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-menu] > [aria-haspopup]");
    if (button) {
      if (button.getAttribute("aria-expanded") === "true") { closeMenu(button); } else { openMenu(button); }
      return;
    }
    if (!event.target.closest("[role='menu']")) { closeMenus(null); }
    else if (event.target.closest("[role='menuitem']")) { closeMenus(null); } // a chosen item ends the menu
    var copy = event.target.closest("[data-copy-target]");
    if (copy) {
      var field = document.getElementById(copy.getAttribute("data-copy-target"));
      field.hidden = false;
      field.select();
      if (navigator.clipboard) { navigator.clipboard.writeText(field.value).catch(function () {}); }
      var note = document.getElementById(copy.getAttribute("data-copy-target") + "-note");
      if (note) { note.textContent = note.getAttribute("data-copied") || "Link copied to the clipboard."; }
    }
    var closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      var dialog = closer.closest("dialog");
      if (dialog) { dialog.close(); }
    }
  });

  // Tabs (WAI-ARIA tabs pattern): arrows, Home and End move between tabs; Enter or Space opens one.
  document.addEventListener("keydown", function (event) {
    var tab = event.target.closest && event.target.closest("[data-tablist] [role='tab']");
    if (!tab) { return; }
    var tabs = Array.prototype.slice.call(tab.parentNode.querySelectorAll("[role='tab']"));
    var index = tabs.indexOf(tab);
    var next = null;
    if (event.key === "ArrowRight") { next = tabs[(index + 1) % tabs.length]; }
    else if (event.key === "ArrowLeft") { next = tabs[(index - 1 + tabs.length) % tabs.length]; }
    else if (event.key === "Home") { next = tabs[0]; }
    else if (event.key === "End") { next = tabs[tabs.length - 1]; }
    else if (event.key === " ") { event.preventDefault(); tab.click(); return; }
    if (next) {
      event.preventDefault();
      tabs.forEach(function (t) { t.setAttribute("tabindex", t === next ? "0" : "-1"); });
      next.focus();
    }
  });

  document.addEventListener("keydown", function (event) {
    var button = event.target.closest("[data-menu] > [aria-haspopup]");
    if (button && (event.key === "ArrowDown" || event.key === "ArrowUp")) {
      event.preventDefault();
      openMenu(button, event.key === "ArrowUp");
      return;
    }
    var list = event.target.closest("[role='menu']");
    if (!list) { return; }
    var owner = document.querySelector("[aria-controls='" + list.id + "']");
    var items = menuItems(list);
    var index = items.indexOf(document.activeElement);
    if (event.key === "Escape") { event.preventDefault(); closeMenu(owner); }
    else if (event.key === "ArrowDown") { event.preventDefault(); items[(index + 1) % items.length].focus(); }
    else if (event.key === "ArrowUp") { event.preventDefault(); items[(index - 1 + items.length) % items.length].focus(); }
    else if (event.key === "Home") { event.preventDefault(); items[0].focus(); }
    else if (event.key === "End") { event.preventDefault(); items[items.length - 1].focus(); }
    else if (event.key === "Tab") { closeMenus(null); }
  });

  // A dialog swapped into the page opens modally; closing it removes it and returns focus.
  var opener = null;
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.matches("[data-opens-dialog]")) {
      // An item of a menu is hidden once chosen: focus goes back to the menu's button.
      var menu = event.detail.elt.closest("[role='menu']");
      opener = menu ? document.querySelector("[aria-controls='" + menu.id + "']") : event.detail.elt;
    }
  });
  // Where focus was right after each swap (htmx restores it by id), kept per swapped element:
  // a swap elsewhere in the page meanwhile (the Notifications count's poll) must not stand in
  // for the one whose content is now loading.
  var focusAtSwap = new WeakMap();
  document.addEventListener("htmx:afterSwap", function (event) { focusAtSwap.set(event.target, document.activeElement); });
  function focusWhenSwapped(root) {
    for (var node = root; node; node = node.parentElement) {
      if (focusAtSwap.has(node)) { return focusAtSwap.get(node); }
    }
    return undefined;
  }
  document.addEventListener("htmx:load", function (event) {
    var root = event.detail.elt;
    var dialogs = root.matches && root.matches("dialog[data-modal]") ? [root] : root.querySelectorAll ? root.querySelectorAll("dialog[data-modal]") : [];
    Array.prototype.forEach.call(dialogs, function (dialog) {
      if (!dialog.open) {
        dialog.showModal();
        dialog.addEventListener("close", function () {
          dialog.remove();
          if (opener && document.body.contains(opener)) { opener.focus(); }
        });
      }
    });
    // Focus lands on the new content: the first field in error, else the marked field;
    // unless the person went into a field of it since the swap (this runs after htmx's
    // settle delay, and moving the caret then would send what they type elsewhere).
    var focus = root.querySelector && (root.querySelector("[aria-invalid='true']") || root.querySelector("[data-autofocus]"));
    var active = document.activeElement;
    var moved = active !== focusWhenSwapped(root) && root.contains(active) && /^(INPUT|SELECT|TEXTAREA)$/.test(active.tagName);
    if (focus && !moved) { focus.focus(); }
  });

  // Feedback on every wait: the control that started a request shows it is busy, the region
  // it will redraw says so to screen readers, and a change cannot be sent twice.
  function busyControls(elt) {
    if (elt.tagName === "FORM") { return Array.prototype.slice.call(elt.querySelectorAll("button[type='submit'], button:not([type])")); }
    return elt.tagName === "BUTTON" && elt.getAttribute("role") !== "menuitem" ? [elt] : [];
  }
  document.addEventListener("htmx:beforeRequest", function (event) {
    var elt = event.detail.elt;
    var target = event.detail.target;
    if (target && target.setAttribute) { target.setAttribute("aria-busy", "true"); }
    var verb = (event.detail.requestConfig && event.detail.requestConfig.verb) || "get";
    if (verb !== "get" && !elt.hasAttribute("hx-disabled-elt")) {
      busyControls(elt).forEach(function (control) {
        if (!control.disabled) { control.disabled = true; control.setAttribute("data-busy-disabled", ""); }
      });
    }
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    var target = event.detail.target;
    if (target && target.removeAttribute) { target.removeAttribute("aria-busy"); }
    busyControls(event.detail.elt).forEach(function (control) {
      if (control.hasAttribute("data-busy-disabled")) { control.disabled = false; control.removeAttribute("data-busy-disabled"); }
    });
  });

  // Destructive actions marked data-confirm ask first, in a modal dialog drawn from
  // <template id="confirm-template">; focus goes back to where the person was.
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    var question = elt.getAttribute && elt.getAttribute("data-confirm");
    var template = document.getElementById("confirm-template");
    if (!question || !template) { return; }
    event.preventDefault();
    var menu = elt.closest("[role='menu']");
    var back = menu ? document.querySelector("[aria-controls='" + menu.id + "']") : (elt.tagName === "FORM" ? elt.querySelector("button[type='submit']") : elt);
    var dialog = template.content.firstElementChild.cloneNode(true);
    dialog.querySelector("[data-confirm-title]").textContent = question;
    dialog.querySelector("[data-confirm-text]").textContent = elt.getAttribute("data-confirm-text") || "";
    var yes = dialog.querySelector("[data-confirm-yes]");
    yes.textContent = elt.getAttribute("data-confirm-button") || "Confirm";
    var confirmed = false;
    yes.addEventListener("click", function () { confirmed = true; dialog.close(); });
    dialog.addEventListener("close", function () {
      dialog.remove();
      if (confirmed) { event.detail.issueRequest(true); }
      if (back && document.body.contains(back)) { back.focus(); }
    });
    document.getElementById("dialog-host").appendChild(dialog);
    dialog.showModal();
    yes.focus();
  });
  // A row removed in place (Revoke, Delete) takes the focus with it: give it to the
  // neighbouring row's Actions, else to the page's heading.
  var removedRow = null;
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    removedRow = target && target.tagName === "TR" && target.id ? { id: target.id, next: target.nextElementSibling, prev: target.previousElementSibling } : null;
  });
  // afterRequest, not afterSwap: a removed target is detached, so its events never reach here.
  document.addEventListener("htmx:afterRequest", function () {
    var row = removedRow;
    removedRow = null;
    if (!row || document.getElementById(row.id)) { return; }
    var active = document.activeElement;
    if (active && active !== document.body && !active.closest("dialog:not([open])")) { return; }
    var neighbour = [row.next, row.prev].filter(function (tr) {
      return tr && document.body.contains(tr) && !tr.classList.contains("empty-row");
    })[0];
    var focus = neighbour && neighbour.querySelector("[aria-haspopup], a[href], button");
    if (!focus) {
      focus = document.querySelector("main h1");
      if (focus) { focus.setAttribute("tabindex", "-1"); }
    }
    if (focus) { focus.focus(); }
  });

  // Fields shown only for one choice of a select (e.g. Occupation for Mentor).
  function syncToggles(root) {
    (root.querySelectorAll ? root.querySelectorAll("[data-shown-for]") : []).forEach(function (box) {
      var source = document.getElementById(box.getAttribute("data-toggled-by"));
      if (source) { box.hidden = source.value !== box.getAttribute("data-shown-for"); }
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target.matches("[data-toggles]")) { syncToggles(event.target.form || document); }
  });
  document.addEventListener("htmx:load", function (event) {
    syncToggles(event.detail.elt);
    var copy = event.detail.elt.querySelector && event.detail.elt.querySelector("[data-copy-on-load]");
    if (copy) {
      copy.select();
      if (navigator.clipboard) {
        navigator.clipboard.writeText(copy.value).then(function () {
          var note = document.getElementById(copy.id + "-note");
          if (note) { note.textContent = note.getAttribute("data-copied") || "Link copied to the clipboard."; }
        }).catch(function () {});
      }
    }
  });

  // Upload progress for forms that carry a <progress data-upload-progress>.
  document.addEventListener("htmx:xhr:progress", function (event) {
    var bar = event.detail.elt.querySelector && event.detail.elt.querySelector("[data-upload-progress]");
    if (bar && event.detail.lengthComputable) {
      bar.hidden = false;
      bar.value = Math.round((event.detail.loaded / event.detail.total) * 100);
    }
  });

  // Organization pickers (WAI-ARIA combobox, list autocomplete): htmx fills the listbox as
  // one types; arrows, Home and End move through it, Enter picks, Escape closes or clears.
  // The pick goes into the hidden input before the box; a changed pick fires "change" there.
  function comboParts(input) {
    var box = input.closest("[data-combobox]");
    return { box: box, input: input, list: document.getElementById(input.getAttribute("aria-controls")), value: box.querySelector("input[type='hidden']"), status: box.querySelector("[data-combobox-status]") };
  }
  function comboOptions(parts) {
    return Array.prototype.slice.call(parts.list.querySelectorAll("[role='option']"));
  }
  function comboOpen(parts, open) {
    open = open && comboOptions(parts).length > 0;
    parts.list.hidden = !open;
    parts.input.setAttribute("aria-expanded", open ? "true" : "false");
    if (!open) { comboActivate(parts, null); }
  }
  function comboActivate(parts, option) {
    comboOptions(parts).forEach(function (o) {
      var on = o === option;
      o.classList.toggle("active", on);
      o.setAttribute("aria-selected", on ? "true" : "false");
    });
    if (option) {
      parts.input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    } else {
      parts.input.removeAttribute("aria-activedescendant");
    }
  }
  function comboSet(parts, value, text) {
    var changed = parts.value.value !== value;
    parts.value.value = value;
    if (text !== null) { parts.input.value = text; }
    if (text === "") { parts.list.replaceChildren(); }  // options of an earlier search
    var choices = parts.box.querySelector("[data-combobox-choices]");
    if (choices) { choices.remove(); }
    if (changed) { parts.value.dispatchEvent(new Event("change", { bubbles: true })); }
  }
  function comboPick(parts, option) {
    // The pick ends the search: an answer still on its way (or one typed a moment before and
    // still waiting out its delay) is not drawn, so it cannot open the list again.
    parts.input.setAttribute("data-picked", "");
    comboSet(parts, option.getAttribute("data-value"), option.getAttribute("data-label"));
    comboOpen(parts, false);
    parts.status.textContent = option.textContent.trim() + " chosen.";
  }
  document.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("[data-combobox] [role='combobox']")) { return; }
    var parts = comboParts(input);
    var options = comboOptions(parts);
    var open = input.getAttribute("aria-expanded") === "true";
    var active = parts.list.querySelector(".active");
    var index = options.indexOf(active);
    var next = null;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      // No options yet: search, then land on the first (or last) of them.
      if (!options.length) { input.removeAttribute("data-picked"); input.setAttribute("data-highlight", event.key); window.htmx.trigger(input, "scope:search"); return; }
      if (!open) { comboOpen(parts, true); if (event.altKey) { return; } }
      if (event.key === "ArrowDown") { next = options[(index + 1) % options.length]; }
      else { next = options[index <= 0 ? options.length - 1 : index - 1]; }
    } else if ((event.key === "Home" || event.key === "End") && open && active) {
      event.preventDefault();
      next = event.key === "Home" ? options[0] : options[options.length - 1];
    } else if (event.key === "Enter" && open && active) {
      event.preventDefault();
      comboPick(parts, active);
    } else if (event.key === "Escape") {
      if (open) { event.preventDefault(); comboOpen(parts, false); }
      else if (input.value) { event.preventDefault(); comboSet(parts, "", ""); }
    } else if (event.key === "Tab") {
      comboOpen(parts, false);
    }
    if (next) { comboActivate(parts, next); }
  });
  document.addEventListener("input", function (event) {
    if (!event.target.matches("[data-combobox] [role='combobox']")) { return; }
    var parts = comboParts(event.target);
    event.target.removeAttribute("data-picked");  // a new search
    // Typing over a pick undoes it; emptying the box is a choice too (no organization).
    if (parts.value.value && event.target.value.trim() === "") { comboSet(parts, "", null); }
    else { parts.value.value = ""; }
    comboActivate(parts, null);
  });
  var comboKept = new WeakMap();  // listbox → the option highlighted when an answer came
  function comboKey(option) {
    // An option is the same only with the same name: "Create employer" is always "new".
    return option.getAttribute("data-value") + "\n" + option.getAttribute("data-label");
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var list = event.detail.target;
    if (!list || !list.matches || !list.matches("[data-combobox] [role='listbox']")) { return; }
    var input = list.closest("[data-combobox]").querySelector("[role='combobox']");
    if (input.hasAttribute("data-picked")) { event.detail.shouldSwap = false; return; }
    // A newer answer keeps the option the person has highlighted, if it still offers it:
    // Enter then picks what they see, not the form's submit.
    var active = list.querySelector(".active");
    comboKept.set(list, active ? comboKey(active) : null);
  });
  document.addEventListener("htmx:afterSwap", function (event) {
    var list = event.detail.target;
    if (!list || !list.matches || !list.matches("[data-combobox] [role='listbox']")) { return; }
    var parts = comboParts(list.closest("[data-combobox]").querySelector("[role='combobox']"));
    var options = comboOptions(parts);
    options.forEach(function (option, i) { option.id = list.id + "-" + i; });
    comboOpen(parts, document.activeElement === parts.input);
    parts.status.textContent = options.length ? options.length + (options.length === 1 ? " choice" : " choices") + " below." : "No organization matches.";
    var highlight = parts.input.getAttribute("data-highlight");
    parts.input.removeAttribute("data-highlight");
    var kept = comboKept.get(list);
    comboKept.delete(list);
    if (parts.list.hidden) { return; }
    if (highlight && options.length) {
      comboActivate(parts, highlight === "ArrowUp" ? options[options.length - 1] : options[0]);
    } else if (kept !== null && kept !== undefined) {
      comboActivate(parts, options.filter(function (option) { return comboKey(option) === kept; })[0] || null);
    }
  });
  document.addEventListener("mousedown", function (event) {
    // Keeps the focus in the box while an option is clicked.
    if (event.target.closest("[data-combobox] [role='listbox']")) { event.preventDefault(); }
  });
  document.addEventListener("click", function (event) {
    var option = event.target.closest("[data-combobox] [role='option']");
    if (option) {
      comboPick(comboParts(option.closest("[data-combobox]").querySelector("[role='combobox']")), option);
    }
  });
  document.addEventListener("focusout", function (event) {
    var input = event.target;
    if (input.matches && input.matches("[data-combobox] [role='combobox']")) { comboOpen(comboParts(input), false); }
  });

  // A server event closes the dialog that made the request (for example after SAVE).
  document.addEventListener("scope:close-dialog", function () {
    document.querySelectorAll("dialog[open]").forEach(function (dialog) { dialog.close(); });
  });
})();
