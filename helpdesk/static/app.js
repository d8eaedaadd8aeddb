// Small progressive enhancements; every page works without this file.
document.addEventListener("htmx:afterSwap", (event) => {
  // After a swap, move focus to the first error (if any) so keyboard and screen-reader users hear it.
  const error = event.detail.target.querySelector("[aria-invalid=true], .form-errors");
  if (error && typeof error.focus === "function") {
    if (!error.hasAttribute("tabindex") && error.tagName === "DIV") error.setAttribute("tabindex", "-1");
    error.focus();
  }
});
