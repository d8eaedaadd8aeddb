// Small progressive enhancements; every page works without this file.
document.documentElement.classList.add("js");  // shows controls that need this file (.js-only)
document.addEventListener("htmx:afterSwap", (event) => {
  // After a swap, move focus to the first error (if any) so keyboard and screen-reader users hear it.
  const error = event.detail.target.querySelector("[aria-invalid=true], .form-errors");
  if (error && typeof error.focus === "function") {
    if (!error.hasAttribute("tabindex") && error.tagName === "DIV") error.setAttribute("tabindex", "-1");
    error.focus();
  }
});

// A failed htmx request is not swapped (htmx 2 ignores 4xx/5xx): tell the user instead of doing nothing.
function showRequestError(text) {
  let box = document.getElementById("request-error");
  if (!box) {
    box = document.createElement("div");
    box.id = "request-error";
    box.className = "banner banner-warning";
    box.setAttribute("role", "alert");
    document.body.insertBefore(box, document.getElementById("main"));
  }
  box.textContent = text;
}
document.addEventListener("htmx:responseError", (event) => {
  const status = event.detail.xhr.status;
  showRequestError(status === 400
    ? "Your form expired. Reload the page and try again; nothing was saved."
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
  const status = document.getElementById("kb-insert-status");
  if (status) status.textContent = "Inserted into the reply.";
});
