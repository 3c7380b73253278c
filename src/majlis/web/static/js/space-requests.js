/* majlis Space page, requests to speak: mine (request, withdraw) and, for the host and cohosts,
   the queue, each with Approve and Decline. The queue is loaded once the stream says I manage
   it, then kept current by "request" events. */
import * as C from "./common.js";
import * as I18N from "./i18n.js";
import * as S from "./session.js";
import { renderBar } from "./space-bar.js";
import { syncEvents } from "./space-events.js";
import { act, button, stagePath } from "./space-host.js";
import { renderMe } from "./space-me.js";
import { mayManageRequests, mayPutOnStage } from "./space-policy.js";
import { render } from "./space-render.js";
import { api, base, debug, els, me, model, report, run, sameHandle, t } from "./space-state.js";

/* The staff's badge: pending requests, in sight at every width (fixed to the viewport's end
   corner), so a host on a phone sees a raised hand without scrolling to the queue. */
function renderBadge() {
  var n = mayManageRequests(debug.role) && model.space && model.space.state === "live"
    ? model.requests.length : 0;
  debug.requestsBadge = n;
  els.requestsBadge.hidden = n === 0;
  if (n > 0) {
    els.requestsBadgeText.textContent = I18N.plural("sp.host.requestsBadge", n, { n: I18N.number(n) });
  }
  renderBar();
}

export function renderRequests() {
  renderBadge();
  if (!mayManageRequests(debug.role)) { return; }
  var items = model.requests.map(function (r) {
    var name = "@" + r.handle;
    var approve = button(t("sp.host.approve"), "small", function () {
      return act("PUT", stagePath(["stage", r.handle]), { role: "speaker" });
    });
    approve.setAttribute("aria-label", t("sp.host.approveLabel", { name: name }));
    approve.disabled = !mayPutOnStage(debug.role, "listener", "speaker", false);
    var decline = button(t("sp.host.decline"), null, function () {
      return act("DELETE", stagePath(["requests", r.handle]));
    });
    decline.setAttribute("aria-label", t("sp.host.declineLabel", { name: name }));
    return C.el("li", { class: "request", "data-handle": r.handle }, [
      C.avatar(r, "sm"),
      C.el("span", { class: "who" }, [C.bdi(r.display_name || r.handle, "name"), " ",
        C.el("span", { class: "handle", dir: "ltr", text: name })]),
      C.el("span", { class: "actions" }, [approve, decline]),
    ]);
  });
  if (items.length === 0) {
    items.push(C.el("li", { class: "empty", text: t("sp.host.noRequests") }));
  }
  els.requests.replaceChildren.apply(els.requests, items);
}

/* Request events heard so far: a queue fetched while one arrives may predate it. */
var requestEvents = 0;

export function onRequestEvent(ev) {
  requestEvents += 1;
  model.requests = model.requests.filter(function (r) { return !sameHandle(r.handle, ev.handle); });
  if (ev.action === "added") { model.requests.push({ handle: ev.handle, display_name: ev.display_name }); }
  if (sameHandle(ev.handle, me())) { debug.requestPending = ev.action === "added"; }
  render();
}

/* The whole queue, when the stream (re)connects. An answer that crossed a request event on
   the way (asked before the event, answered after) would undo it: ask again instead. */
export async function loadRequests() {
  for (var attempt = 0; attempt < 3; attempt++) {
    var heard = requestEvents;
    try {
      var resp = await api("GET", base + "/requests");
      if (!resp.ok) { return; }
      var body = await resp.json();
      if (heard !== requestEvents) { continue; }
      model.requests = body.items || body.requests || [];
      render();
      return;
    } catch (e) { return; /* the events keep the queue current anyway */ }
  }
}

els.request.addEventListener("click", async function () {
  var resp = await run(els.request, "POST", base + "/requests");
  if (resp || /already/i.test(els.error.textContent)) {
    debug.requestPending = true;
    syncEvents(); /* an answer to the request should not wait for the next snapshot */
    report("");
  }
  renderMe();
});

els.withdraw.addEventListener("click", async function () {
  if (await run(els.withdraw, "DELETE", base + "/requests/" + encodeURIComponent(S.account().handle))) {
    debug.requestPending = false;
  }
  renderMe();
});

els.requestsBadge.addEventListener("click", function (event) {
  event.preventDefault();
  els.host.scrollIntoView({ behavior: "smooth", block: "start" });
  var first = els.requests.querySelector("button");
  if (first) { first.focus({ preventScroll: true }); }
});
