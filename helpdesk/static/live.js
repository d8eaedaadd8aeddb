// Live updates of the agent console; every page works without this file (issue 16 item 6).
//  - The queue refreshes its table every 30 s while nothing is selected and no field has the focus,
//    by conditional GET: the request carries the ETag of the table it shows (If-None-Match), and an
//    unchanged queue answers 304 Not Modified with no body, which leaves the page alone.
//  - The ticket page's presence heartbeat (htmx, every 10 s) swaps only when its answer differs
//    from the last one, so the polite status region is not announced again for the same news.
"use strict";

(() => {
  const QUEUE_REFRESH_MS = window.helpdeskQueueRefreshMs || 30000; // tests set it shorter
  let queueTag = null; // {url, etag} of the table the page shows, once a refresh has answered

  function queueBusy(table) {
    if (document.hidden || table.classList.contains("htmx-request")) return true;
    // A ticked row (whatever the bulk form names its boxes), a field or a row in use, an open dialog.
    if (table.querySelector("input[type=checkbox]:checked, tr.kb-current")) return true; // kb-current: keys.js
    const active = document.activeElement;
    if (active && active !== document.body && active.matches("input, select, textarea, [contenteditable]")) return true;
    if (active && table.contains(active)) return true;
    return Boolean(document.querySelector("dialog[open], #confirm-host :is(dialog, form)"));
  }

  async function refreshQueue() {
    const table = document.getElementById("queue-table");
    if (!table || queueBusy(table) || !window.htmx) return;
    const url = location.pathname + location.search;
    const headers = { "HX-Request": "true", "HX-Current-URL": location.href };
    if (queueTag && queueTag.url === url) headers["If-None-Match"] = queueTag.etag;
    let response;
    try {
      response = await fetch(url, { headers, credentials: "same-origin", cache: "no-store" });
    } catch {
      return; // offline for a moment: the next round tries again
    }
    if (response.status === 304 || !response.ok || response.redirected) return; // redirected: signed out
    const html = await response.text();
    const current = document.getElementById("queue-table");
    // The agent may have started selecting or moved to another page while the answer travelled.
    if (!current || queueBusy(current) || location.pathname + location.search !== url) return;
    const etag = response.headers.get("ETag");
    queueTag = etag ? { url, etag } : null;
    htmx.swap(current, html, { swapStyle: "outerHTML" });
  }

  function scheduleQueue() {
    setTimeout(async () => {
      await refreshQueue();
      scheduleQueue();
    }, QUEUE_REFRESH_MS);
  }

  // A signed-out agent's polls are redirected to the login page: never swap that into the page.
  function redirected(detail) {
    const xhr = detail.xhr;
    const asked = detail.requestConfig && detail.requestConfig.path;
    if (!xhr || !xhr.responseURL || !asked) return false;
    return new URL(xhr.responseURL).pathname !== new URL(asked, location.href).pathname;
  }

  const LIVE_TARGETS = new Set(["presence", "draft-status", "note-draft-status"]);
  const lastAnswer = new WeakMap(); // presence element -> the text of its last swapped answer
  document.addEventListener("htmx:beforeSwap", (event) => {
    const target = event.detail.target;
    if (!target || !LIVE_TARGETS.has(target.id)) return;
    if (redirected(event.detail)) {
      event.detail.shouldSwap = false;
      return;
    }
    if (target.id !== "presence") return;
    const text = event.detail.serverResponse;
    if (lastAnswer.get(target) === text) event.detail.shouldSwap = false;
    else lastAnswer.set(target, text);
  });

  // The heartbeat and the draft's autosave are background requests, not something the agent did:
  // app.js's handling of actions (busy state and disabled buttons, focus after the swap, view
  // counts asked again after a POST, the error banner) must not see them, so their events stop
  // here, on the way down (capture phase on document runs before app.js's listeners).
  const QUIET_EVENTS = ["htmx:beforeRequest", "htmx:afterRequest", "htmx:afterSwap", "htmx:responseError", "htmx:sendError"];
  function liveSource(detail) {
    const elt = (detail && detail.requestConfig && detail.requestConfig.elt) || (detail && detail.elt);
    return elt && elt.dataset && elt.dataset.live ? elt : null;
  }
  QUIET_EVENTS.forEach((name) => {
    document.addEventListener(name, (event) => {
      const source = liveSource(event.detail);
      if (!source) return;
      event.stopPropagation();
      if (source.dataset.live === "draft" && (name === "htmx:responseError" || name === "htmx:sendError")) {
        const status = document.getElementById(source.id === "note-body" ? "note-draft-status" : "draft-status");
        if (status) status.textContent = "Draft not saved: reload the page (your text is still here).";
      }
    }, true);
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", scheduleQueue);
  else scheduleQueue();
})();
