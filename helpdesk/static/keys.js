// Keyboard shortcuts of the agent console (issue 16 item 3); base.html loads this file for agents.
// Queue: j / k move to the next / previous ticket (focus on its link, the row highlighted), o or
// Enter opens it. Ticket page: r the reply box, n the internal-note box (a form of its own), a
// assign to me, e resolve, each through the page's own forms (the server's rules and messages
// apply). Everywhere: / the search box, ? the list of shortcuts. Never while typing in a field, nor with Ctrl, Alt or Meta.
"use strict";

(() => {
  const me = document.currentScript ? document.currentScript.dataset.me : "";

  function isTyping(target) {
    if (!target || !target.closest) return false;
    if (target.isContentEditable) return true;
    const field = target.closest("input, textarea, select");
    if (!field) return false;
    const type = (field.getAttribute("type") || "").toLowerCase();
    return !["checkbox", "radio", "button", "submit", "reset"].includes(type); // a box is not typing
  }

  // A polite live region for what a shortcut did or why it could not.
  function say(text) {
    let box = document.getElementById("keys-status");
    if (!box) {
      box = document.createElement("p");
      box.id = "keys-status";
      box.className = "visually-hidden";
      box.setAttribute("role", "status");
      document.body.appendChild(box);
    }
    box.textContent = "";
    setTimeout(() => { box.textContent = text; }, 50); // a change, so it is read again
  }

  // --- Queue ----------------------------------------------------------------------------------------
  function queueRows() {
    return [...document.querySelectorAll("#queue-table tbody tr")];
  }

  function rowLink(row) {
    return row.querySelector('td a[href*="/tickets/"]');
  }

  function currentRow(rows) {
    const active = document.activeElement && document.activeElement.closest && document.activeElement.closest("tr");
    if (active && rows.includes(active)) return rows.indexOf(active);
    return rows.findIndex((row) => row.classList.contains("kb-current"));
  }

  function moveInQueue(step) {
    const rows = queueRows();
    if (!rows.length) return false;
    const from = currentRow(rows);
    const to = from < 0 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, from + step));
    rows.forEach((row) => row.classList.remove("kb-current"));
    rows[to].classList.add("kb-current");
    const link = rowLink(rows[to]);
    if (link) {
      link.focus();
      rows[to].scrollIntoView({ block: "nearest" });
    }
    return true;
  }

  function openInQueue() {
    const rows = queueRows();
    const index = currentRow(rows);
    const link = index >= 0 ? rowLink(rows[index]) : null;
    if (!link) return false;
    link.click();
    return true;
  }

  // --- Ticket page ------------------------------------------------------------------------------------
  // The reply box (r) and the separate internal-note box (n), each its own form on the page.
  function focusBox(id, spoken) {
    const box = document.getElementById(id);
    if (!box) return false;
    box.focus();
    box.scrollIntoView({ block: "center" });
    if (spoken) say(spoken);
    return true;
  }

  function submitEdit(name, value, missing) {
    const select = document.getElementById(`${name}-value`);
    if (!select || !select.form) return false;
    if (![...select.options].some((o) => o.value === value)) {
      say(missing);
      return true;
    }
    if (select.value === value) {
      say("Already done.");
      return true;
    }
    select.value = value;
    // htmx binds a swapped-in form only once the swap settles (20 ms later): a key pressed sooner
    // would send it as a plain form and reload the page. Binding it now is harmless if done.
    if (window.htmx) window.htmx.process(select.form);
    select.form.requestSubmit(); // the inline edit's own form: the server checks and answers
    return true;
  }

  // --- Everywhere -------------------------------------------------------------------------------------
  function focusSearch() {
    const box = document.getElementById("f-q") || document.getElementById("top-search-q");
    if (!box) return false;
    box.focus();
    box.select();
    return true;
  }

  const SHORTCUTS = [
    ["j", "Next ticket in the queue"],
    ["k", "Previous ticket in the queue"],
    ["o or Enter", "Open the highlighted ticket"],
    ["r", "Reply (ticket page)"],
    ["n", "Internal note (ticket page)"],
    ["a", "Assign the ticket to me (ticket page)"],
    ["e", "Resolve the ticket (ticket page)"],
    ["/", "Search tickets"],
    ["?", "Show these shortcuts"],
  ];

  function shortcutsDialog() {
    let dialog = document.getElementById("keys-dialog");
    if (dialog) return dialog;
    dialog = document.createElement("dialog");
    dialog.id = "keys-dialog";
    dialog.className = "keys-dialog";
    dialog.setAttribute("aria-labelledby", "keys-dialog-title");
    const title = document.createElement("h2");
    title.id = "keys-dialog-title";
    title.textContent = "Keyboard shortcuts";
    const list = document.createElement("dl");
    for (const [keys, what] of SHORTCUTS) {
      const term = document.createElement("dt");
      keys.split(" or ").forEach((key, n) => {
        if (n) term.append(" or ");
        const kbd = document.createElement("kbd");
        kbd.textContent = key;
        term.append(kbd);
      });
      const detail = document.createElement("dd");
      detail.textContent = what;
      list.append(term, detail);
    }
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = "Shortcuts do nothing while you type in a field. Escape closes this list.";
    const form = document.createElement("form");
    form.method = "dialog";
    const close = document.createElement("button");
    close.type = "submit";
    close.textContent = "Close";
    form.append(close);
    dialog.append(title, list, hint, form);
    document.body.appendChild(dialog);
    return dialog;
  }

  function showShortcuts() {
    const dialog = shortcutsDialog();
    if (dialog.open) return true;
    const opener = document.activeElement;
    dialog.addEventListener("close", () => {
      if (opener && opener.isConnected && typeof opener.focus === "function") opener.focus();
    }, { once: true });
    dialog.showModal(); // modal: focus stays inside; Escape closes
    return true;
  }

  const ACTIONS = {
    j: () => moveInQueue(1),
    k: () => moveInQueue(-1),
    o: openInQueue,
    r: () => focusBox("reply-body"),
    n: () => focusBox("note-body", "Internal note: only agents see it. Tab to “Add internal note” to add it."),
    a: () => me && submitEdit("assignee", me, "You cannot be assigned this ticket: its category is not one of yours."),
    e: () => submitEdit("status", "resolved", "This ticket cannot be resolved from here."),
    "/": focusSearch,
    "?": showShortcuts,
  };

  document.addEventListener("keydown", (event) => {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey || event.isComposing) return;
    if (isTyping(event.target)) return;
    if (document.querySelector("dialog[open]")) return; // a dialog (this list, a confirmation) has the keys
    const action = event.key === "Enter" ? null : ACTIONS[event.key];
    if (action && action()) event.preventDefault();
  });

  // Enter on a highlighted row whose link lost focus (a click elsewhere in the row) still opens it.
  document.addEventListener("keydown", (event) => {
    if (event.key !== "Enter" || event.defaultPrevented || isTyping(event.target)) return;
    if (event.target === document.body && openInQueue()) event.preventDefault();
  });

  // A new table (filters, paging, a bulk action) starts without a highlighted row.
  document.addEventListener("htmx:afterSwap", () => {
    document.querySelectorAll("#queue-table tr.kb-current").forEach((row) => {
      if (!row.contains(document.activeElement)) row.classList.remove("kb-current");
    });
  });
})();
