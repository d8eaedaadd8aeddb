// Small progressive enhancements; every page works without this file.
"use strict";

document.documentElement.classList.add("js");  // shows controls that need this file (.js-only)

// --- Inline edits that save on their own (the ticket sidebar) -----------------------------------
// A form marked data-autosave saves when a value is chosen with the pointer, on Enter, or when the
// field is left with a changed value; never while the keyboard arrows through a closed <select>
// (Chromium fires "change" for every option passed, which saved and mailed each one).
const BROWSING_KEYS = new Set(["ArrowUp", "ArrowDown", "ArrowLeft", "ArrowRight", "Home", "End", "PageUp", "PageDown"]);

function autosaveForm(control) {
  return control && control.form && control.form.hasAttribute("data-autosave") ? control.form : null;
}

function markPending(select, pending) {
  const form = select.form;
  form.classList.toggle("pending", pending);
  let hint = form.querySelector(".pending-hint");
  if (pending && !hint) {
    hint = document.createElement("p");
    hint.className = "hint pending-hint";
    hint.textContent = "Not saved yet: press Enter or Save (Escape undoes).";
    form.appendChild(hint);
  } else if (!pending && hint) {
    hint.remove();
  }
}

document.addEventListener("keydown", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !autosaveForm(select)) return;
  if (event.key === "Enter") {
    event.preventDefault();
    delete select.dataset.browsing;
    markPending(select, false);
    select.form.requestSubmit();
  } else if (event.key === "Escape" && select.dataset.browsing) {
    const saved = [...select.options].find((o) => o.defaultSelected);
    if (saved) select.value = saved.value;
    delete select.dataset.browsing;
    markPending(select, false);
  } else if (!event.altKey && (BROWSING_KEYS.has(event.key) || (event.key.length === 1 && event.key !== " "))) {
    select.dataset.browsing = "1"; // the change this key causes only previews the value
  } else {
    delete select.dataset.browsing; // Alt+Arrow, Space, F4: the list opens; choosing in it saves
  }
});

document.addEventListener("pointerdown", (event) => {
  if (event.target instanceof HTMLSelectElement) delete event.target.dataset.browsing;
});

document.addEventListener("change", (event) => {
  const control = event.target;
  const form = autosaveForm(control);
  if (!form) return;
  if (control instanceof HTMLSelectElement && control.dataset.browsing) {
    const saved = [...control.options].find((o) => o.defaultSelected);
    markPending(control, !saved || saved.value !== control.value);
    return;
  }
  form.requestSubmit();
});

document.addEventListener("focusout", (event) => {
  const select = event.target;
  if (!(select instanceof HTMLSelectElement) || !select.dataset.browsing || !autosaveForm(select)) return;
  delete select.dataset.browsing;
  const saved = [...select.options].find((o) => o.defaultSelected);
  if (!saved || saved.value !== select.value) {
    markPending(select, false);
    select.form.requestSubmit(); // leaving the field commits the value, as a text field does
  }
});

// --- Confirmation before destructive and money-moving actions ------------------------------------
// The server answers an unconfirmed htmx request with a <dialog> in #confirm-host; confirming sends
// the same form again with confirmed_action=yes (without JavaScript the server shows a page).
let lastSubmit = null;
document.addEventListener("submit", (event) => {
  lastSubmit = { form: event.target, submitter: event.submitter || null };
}, true);

function openConfirmDialog(host) {
  const dialog = host.querySelector("dialog");
  if (!dialog || !lastSubmit) return;
  const { form, submitter } = lastSubmit;
  const opener = submitter || form.querySelector("select, button, input") || form;
  dialog.addEventListener("close", () => {
    const confirmed = dialog.returnValue === "confirm";
    host.replaceChildren();
    if (!confirmed || !form.isConnected) {
      if (form.isConnected && form.hasAttribute("data-autosave")) form.reset(); // undo the unsaved choice
      if (opener.isConnected && typeof opener.focus === "function") opener.focus();
      return;
    }
    const marker = document.createElement("input");
    Object.assign(marker, { type: "hidden", name: "confirmed_action", value: "yes" });
    form.appendChild(marker);
    if (submitter && submitter.isConnected) submitter.click();
    else form.requestSubmit();
    marker.remove();
  }, { once: true });
  dialog.showModal();
}

let focusedId = null; // the id of what had focus when the request left (its control is disabled meanwhile)

// --- Files checked before sending ------------------------------------------------------------------
// The server refuses an oversize request before reading it (413), so nothing typed would come back:
// check the limits written on the file input first and say which one a choice breaks.
function mb(bytes) {
  return `${(bytes / 1048576).toLocaleString("en", { maximumFractionDigits: 1 })} MB`;
}

function fileProblem(input) {
  const files = [...(input.files || [])];
  const each = Number(input.dataset.maxFileBytes);
  const total = Number(input.dataset.maxTotalBytes);
  const count = Number(input.dataset.maxFiles);
  const big = files.find((f) => each && f.size > each);
  if (big) return `${big.name} is ${mb(big.size)}; each file may be up to ${mb(each)}.`;
  if (count && files.length > count) return `${files.length} files chosen; up to ${count} may be attached at once.`;
  const sum = files.reduce((n, f) => n + f.size, 0);
  if (total && sum > total) return `The files are ${mb(sum)} together; up to ${mb(total)} may be sent at once.`;
  return "";
}

function checkFiles(input) {
  const problem = fileProblem(input);
  const box = document.getElementById(`${input.id}-check`);
  input.setCustomValidity(problem);
  input.setAttribute("aria-invalid", problem ? "true" : "false");
  if (box) {
    box.textContent = problem;
    box.hidden = !problem;
    const ids = (input.getAttribute("aria-describedby") || "").split(" ").filter((id) => id && id !== box.id);
    if (problem) ids.push(box.id);
    input.setAttribute("aria-describedby", ids.join(" "));
  }
  return problem;
}

document.addEventListener("change", (event) => {
  if (event.target.matches && event.target.matches("input[type=file][data-max-file-bytes]")) checkFiles(event.target);
});

document.addEventListener("submit", (event) => {
  const inputs = [...event.target.querySelectorAll("input[type=file][data-max-file-bytes]")];
  const bad = inputs.find((input) => checkFiles(input));
  if (bad) {
    event.preventDefault();
    event.stopImmediatePropagation(); // htmx listens on the form: it never sends this
    bad.focus();
  }
}, true);

// --- Search boxes that search as one types ------------------------------------------------------
// A form that searches as one types (hx-trigger "input changed ...", the queue's filters) has
// already asked for what its search box says. Leaving the box fires "change", which would ask
// again and swap the results in under the pointer of someone clicking one of them: a link replaced
// between the button's press and its release gets no click, and the click is lost.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "search" || !input.form) return;
  if ((input.form.getAttribute("hx-trigger") || "").includes("input changed")) event.stopPropagation();
}, true);

// --- Busy controls --------------------------------------------------------------------------------
// Every htmx request marks what sent it busy, and disables its buttons, until the answer arrives.
function busyElements(elt, writes) {
  const form = elt.closest("form");
  // A filter (GET) keeps its fields usable while typing; an action locks its controls.
  const parts = !writes ? [] : form ? [...form.querySelectorAll("button, select, input[type=submit]")] : [elt];
  return { root: form || elt, parts: parts.filter((p) => !p.disabled) };
}

// A region that loads itself (hx-trigger "load" or "every", the panels beside a ticket) is not
// something the user did: it never takes the busy state or focus. Focus moving to a panel that
// finished loading late stole the keys from the control the user was working.
function isBackground(elt) {
  if (!elt || !elt.getAttribute) return true;
  const trigger = elt.getAttribute("hx-trigger") || "";
  return elt.id === "credit-panel" || elt.tagName === "SECTION" || /\b(load|every)\b/.test(trigger);
}

const busyNow = new Set(); // the controls whose request has not been answered yet

function release(elt) {
  const busy = elt && elt._helpdeskBusy;
  if (!busy) return;
  busy.root.removeAttribute("aria-busy");
  busy.parts.forEach((p) => { p.disabled = false; });
  delete elt._helpdeskBusy;
  busyNow.delete(elt);
}

document.addEventListener("htmx:beforeRequest", (event) => {
  const elt = event.detail.elt;
  if (isBackground(elt)) return; // loads, not actions
  elt._helpdeskFocus = document.activeElement; // where the user was when the request left
  focusedId = document.activeElement && document.activeElement.id ? document.activeElement.id : null;
  const verb = event.detail.requestConfig ? event.detail.requestConfig.verb : "post";
  const busy = busyElements(elt, verb !== "get");
  busy.root.setAttribute("aria-busy", "true");
  busy.parts.forEach((p) => { p.disabled = true; });
  elt._helpdeskBusy = busy;
  busyNow.add(elt);
});

document.addEventListener("htmx:afterRequest", (event) => {
  const elt = event.detail.elt;
  const verb = event.detail.requestConfig ? event.detail.requestConfig.verb : "get";
  if (event.detail.successful && verb !== "get") {
    // Something changed without leaving the page (a bulk action, an inline edit): the agent
    // console's view counts ask again (an unchanged count answers 304).
    document.body.dispatchEvent(new CustomEvent("helpdesk:changed"));
  }
  release(elt);
});

// An answer that replaces the very control that sent it (a permission box, whose cell comes back)
// takes it out of the page before htmx:afterRequest, which then reaches no listener here: its form
// stayed busy and its "Save permissions" button disabled. Once a swap settles, such controls let go.
document.addEventListener("htmx:afterSettle", () => {
  busyNow.forEach((elt) => { if (!elt.isConnected) release(elt); });
});

// --- Focus after a swap ---------------------------------------------------------------------------
// The first error, else the new message, else the control that had focus (same id), else the region.
function focusable(el) {
  if (!el.hasAttribute("tabindex") && !el.matches("input, select, textarea, button, a[href]")) {
    el.setAttribute("tabindex", "-1");
  }
  el.focus();
}


// --- Saying what a replaced list now shows ---------------------------------------------------------
// A list that a filter, a search or a page link replaces (htmx, outerHTML) carries a sentence of
// what it now shows in data-announce ("12 tickets, page 1 of 2"); it is read out through the
// layout's status region (#live-status), which is on the page from the start. A live region that
// is itself swapped in whole is not announced by screen readers, and one that did would read the
// whole new table. Background loads announce only where the list asks (data-announce-background:
// the answers that appear beside the new-ticket form's subject), and not the same words twice.
let lastAnnounced = "";
function announce(text) {
  const region = document.getElementById("live-status");
  if (!region || !text) return;
  lastAnnounced = text;
  region.textContent = "";
  setTimeout(() => { region.textContent = text; }, 100); // a change the reader notices, even for equal words
}

function announceList(target, source, verb) {
  if (verb !== "get") return; // a change's own result is announced where focus goes (below)
  const shown = target.isConnected ? target : target.id && document.getElementById(target.id);
  if (!shown || !shown.dataset || shown.dataset.announce === undefined) return;
  if (!shown.dataset.announce) { lastAnnounced = ""; return; } // nothing to say (no answers beside the subject)
  if (isBackground(source) && (!("announceBackground" in shown.dataset) || shown.dataset.announce === lastAnnounced)) return;
  announce(shown.dataset.announce);
}

document.addEventListener("htmx:afterSwap", (event) => {
  let target = event.detail && event.detail.target;
  if (!target) return; // a history restore swaps the whole body and passes no target
  const source = (event.detail.requestConfig && event.detail.requestConfig.elt) || event.detail.elt;
  if (target.id === "confirm-host") {
    openConfirmDialog(target);
    return;
  }
  announceList(target, source, event.detail.requestConfig && event.detail.requestConfig.verb);
  if (isBackground(source)) return; // a panel that loaded itself leaves focus where the user is
  if (!target.isConnected && target.id) target = document.getElementById(target.id);
  const before = source && source._helpdeskFocus;
  if (target && target.isConnected) setTimeout(() => focusAfterSwap(target, before), 0); // after afterRequest re-enables
});

// The user went on to another control while the answer was on its way (a slow connection: a
// category's price quote arriving while the subject is typed): the focus stays theirs. Moving it
// to the answer took the rest of the typing with it.
function movedOn(before, target) {
  const now = document.activeElement;
  return Boolean(now && now !== document.body && now !== before && now.isConnected && !target.contains(now));
}

function focusAfterSwap(target, before) {
  if (movedOn(before, target)) return;
  const wanted = target.querySelector("[aria-invalid=true], .form-errors, .errors[role=alert]:not([hidden])")
    || target.querySelector("[role=status]:not(.banner), .flash, .saved");
  if (wanted) {
    focusable(wanted);
  } else if (focusedId && document.getElementById(focusedId)) {
    document.getElementById(focusedId).focus();
  }
}

// A failed htmx request is not swapped (htmx 2 ignores 4xx/5xx): tell the user instead of doing nothing.
function showRequestError(text) {
  let box = document.getElementById("request-error");
  if (!box) {
    box = document.createElement("div");
    box.id = "request-error";
    box.className = "banner banner-warning";
    box.setAttribute("role", "alert");
    // at the top of the page's content: #main is inside the console's layout on agents' pages
    const main = document.getElementById("main");
    if (main) main.prepend(box);
    else document.body.prepend(box);
  }
  box.textContent = text;
}
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  showRequestError(status === 400
    ? "Your form expired. Reload the page and try again; nothing was saved."
    : status === 401
      ? "You are signed out (here or on another device). Reload the page to sign in again; nothing was saved."
      : status === 413
      ? "The files are larger than the server accepts. Nothing was sent; your text is still here."
      : `The server could not complete this (error ${status}). Nothing was saved; please try again.`);
});
document.addEventListener("htmx:sendError", () => {
  showRequestError("The server could not be reached. Check your connection and try again.");
});

// Registration: take the browser's time zone so due times show in local time from the start.
document.addEventListener("DOMContentLoaded", () => {
  const field = document.querySelector("input[type=hidden][name=timezone]");
  if (field && !field.value && window.Intl) {
    field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  }
});

// Knowledge-base panel on the agent's ticket page: "Insert link" / "Insert text" put an article's
// Markdown link or text into the reply box at the cursor (without this file the panel's page shows
// the text to copy).
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-kb-insert]");
  if (!button) return;
  const box = document.getElementById(button.dataset.kbTarget || "reply-body");
  if (!box) return;
  const text = button.dataset.kbInsert;
  const start = box.selectionStart ?? box.value.length;
  const end = box.selectionEnd ?? box.value.length;
  const before = box.value.slice(0, start);
  const gap = before && !before.endsWith("\n") ? "\n\n" : "";
  box.value = before + gap + text + box.value.slice(end);
  const caret = (before + gap + text).length;
  box.focus();
  box.setSelectionRange(caret, caret);
  box.dispatchEvent(new Event("input", { bubbles: true }));
  const status = document.getElementById(button.dataset.kbStatus || "kb-insert-status");
  if (status) status.textContent = "Inserted into the reply.";
  // A saved reply counts its use (the server fills and counts when inserted without JavaScript).
  if (button.dataset.usedUrl) {
    const headers = JSON.parse(document.body.getAttribute("hx-headers") || "{}");
    fetch(button.dataset.usedUrl, { method: "POST", headers, credentials: "same-origin" }).catch(() => {});
  }
});

// --- Relative times ("3 min ago") kept current, without the network --------------------------------
// The server writes <time datetime data-relative>words<span class="visually-hidden"> (exact)</span>
// (web.moment). Every minute the words of moments within 12 hours are worked out again by the same
// rules; further ones ("yesterday", "12 Nov") count calendar days in the viewer's zone, which the
// server knows, so they are left as written.
function relativeWords(seconds) {
  const future = seconds > 0;
  const span = Math.abs(seconds);
  if (span < 60) return future ? "in under a minute" : "just now";
  if (span < 3600) {
    const minutes = Math.floor(span / 60);
    return future ? `in ${minutes} min` : `${minutes} min ago`;
  }
  const hours = Math.floor(span / 3600);
  return future ? `in ${hours} h` : `${hours} h ago`;
}

function refreshRelativeTimes() {
  const now = Date.now();
  document.querySelectorAll("time[data-relative]").forEach((el) => {
    const at = Date.parse(el.getAttribute("datetime"));
    const words = el.firstChild;
    if (Number.isNaN(at) || !words || words.nodeType !== Node.TEXT_NODE) return;
    const seconds = (at - now) / 1000;
    if (Math.abs(seconds) >= 12 * 3600) return;
    const text = relativeWords(seconds);
    if (words.nodeValue !== text) words.nodeValue = text;
  });
}

setInterval(refreshRelativeTimes, 60_000);

// --- Colour pickers beside a #rrggbb text field (branding) ----------------------------------------
// The text field is what the form sends; the picker (shown only with this file) writes into it,
// and follows what is typed there.
document.querySelectorAll("input[type=color][data-colour-for]").forEach((picker) => {
  const text = document.getElementById(picker.dataset.colourFor);
  if (!text) return;
  picker.addEventListener("input", () => { text.value = picker.value; });
  text.addEventListener("input", () => {
    if (/^#[0-9a-fA-F]{6}$/.test(text.value.trim())) picker.value = text.value.trim().toLowerCase();
  });
});

// Agent console: up to a small laptop (app.css) the sidebar starts folded under its "Menu"
// (without this file it is simply open above the page).
document.addEventListener("DOMContentLoaded", () => {
  if (!window.matchMedia("(max-width: 75rem)").matches) return;
  document.querySelectorAll("details.sidebar-fold[open]").forEach((fold) => { fold.open = false; });
});

// Agent console: the queue's filters swap only the table and push the new address; the sidebar
// then marks the view that address is (the server marks it on a full page load).
document.addEventListener("htmx:pushedIntoHistory", () => {
  const here = location.pathname + location.search;
  document.querySelectorAll(".sidebar .views a").forEach((link) => {
    if (link.getAttribute("href") === here) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  });
});

// The profile menu (a <details>) closes with Escape, back on its summary, or with a click elsewhere.
document.addEventListener("keydown", (event) => {
  const menu = event.key === "Escape" && document.querySelector("details.profile-menu[open]");
  if (!menu) return;
  menu.open = false;
  menu.querySelector("summary").focus();
});
document.addEventListener("click", (event) => {
  document.querySelectorAll("details.profile-menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.open = false;
  });
});

// --- Queue selection (issue 16): select-all, the bulk bar, "Assign to" narrowed to the selection ---
// Without this file the bulk form is always shown and lists the agents of the page's categories
// (the server refuses one not allowed in every selected ticket's category). With it the bar shows
// while rows are selected, says how many, and "Assign to" keeps only the agents whose
// data-categories cover every selected row's data-category.
function updateQueueSelection() {
  const form = document.getElementById("bulk-form");
  if (!form) return;
  const boxes = [...form.querySelectorAll("input[type=checkbox][name=selected]")];
  const chosen = boxes.filter((box) => box.checked);
  const all = document.getElementById("select-all");
  if (all) {
    all.checked = chosen.length > 0 && chosen.length === boxes.length;
    all.indeterminate = chosen.length > 0 && chosen.length < boxes.length;
  }
  const bar = document.getElementById("bulk-bar");
  if (bar) bar.hidden = chosen.length === 0;
  const count = document.getElementById("bulk-count");
  if (count) count.textContent = chosen.length ? `${chosen.length} ticket${chosen.length === 1 ? "" : "s"} selected` : "";
  const assign = document.getElementById("bulk-assignee");
  if (!assign) return;
  const categories = [...new Set(chosen.map((box) => box.dataset.category))];
  for (const option of assign.options) {
    const allowed = option.dataset.categories;
    if (allowed === undefined) continue; // "Choose…"
    const ok = allowed === "*" || categories.every((c) => allowed.split(" ").includes(c));
    option.hidden = !ok;
    option.disabled = !ok;
    if (!ok && option.selected) assign.value = "";
  }
}

document.addEventListener("change", (event) => {
  const box = event.target;
  if (box.id === "select-all") {
    document.querySelectorAll("#bulk-form input[type=checkbox][name=selected]").forEach((row) => { row.checked = box.checked; });
  }
  if (box.id === "select-all" || (box.name === "selected" && box.closest("#bulk-form"))) updateQueueSelection();
});
document.addEventListener("DOMContentLoaded", updateQueueSelection);
document.addEventListener("htmx:afterSettle", updateQueueSelection);

// "Save this view" saves what the address bar shows: htmx swapped only the table (and pushed the
// filters' address), so the form's own action may be older (the server drops paging).
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches || !form.matches("form[data-queue-save]")) return;
  form.action = new URL(form.getAttribute("action"), location.href).pathname + location.search;
}, true);
