// Small progressive enhancements; every page works without this file.
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
