/* majlis Space page, comments: what people say in the room, oldest at the top and the newest
   at the bottom as in a chat, the pinned one above them all; a box to say something while the
   Space is live; delete for the author and the staff, pin for the staff.

   Where they come from: once from the newest page (GET .../comments), then as they happen from
   the event stream; a listener of a large audience (no event stream) polls the newest page,
   which every edge serves from its cache for a second (domain/comments.py). */
import * as C from "./common.js";
import * as I18N from "./i18n.js";
import { mayManageRequests } from "./space-policy.js";
import {
  api, base, debug, els, isLive, later, me, model, report, run, sameHandle, t,
} from "./space-state.js";

/* The most a page keeps on screen: the room's recent conversation, not its whole history. */
var KEEP = 200;
var POLL_S = 3;
var streamingNow = function () { return true; };

/* space-events.js says whether the event stream is open (without it, the page polls). */
export function followComments(isStreaming) { streamingNow = isStreaming; }

function path(id, suffix) {
  return base + "/comments" + (id ? "/" + encodeURIComponent(id) : "") + (suffix || "");
}

export async function loadComments() {
  if (!model.space) { return; }
  try {
    var resp = await fetch(path(), { headers: { Accept: "application/json" } });
    if (!resp.ok) { return; }
    var page = await resp.json();
    model.comments = (page.items || []).slice().reverse(); /* oldest first, as read */
    model.pinnedComment = page.pinned || null;
    renderComments();
  } catch (e) { /* the next poll or event brings them */ }
}

/* Polls the newest page while there is no event stream and the Space is live. */
export function pollComments() {
  if (!isLive() || streamingNow()) { return; }
  loadComments().then(function () {
    later("comments", document.hidden ? 15 : POLL_S, pollComments);
  });
}

export function onCommentEvent(ev) {
  var list = model.comments || [];
  var c = ev.comment;
  if (ev.action === "added" && c && !list.some(function (x) { return x.id === c.id; })) {
    list.push(c);
  } else if (ev.action === "deleted") {
    list = list.filter(function (x) { return x.id !== ev.id; });
    if (model.pinnedComment && model.pinnedComment.id === ev.id) { model.pinnedComment = null; }
  } else if (ev.action === "pinned" && c) {
    model.pinnedComment = c;
  } else if (ev.action === "unpinned") {
    model.pinnedComment = null;
  }
  model.comments = list.slice(-KEEP);
  renderComments();
}

function item(c, pinnedId) {
  var mine = sameHandle(c.account.handle, me());
  var staff = mayManageRequests(debug.role);
  var actions = [];
  if (staff && isLive()) {
    var pinned = c.id === pinnedId;
    actions.push(action(t(pinned ? "sp.comments.unpin" : "sp.comments.pin"), function () {
      return api(pinned ? "DELETE" : "POST", path(c.id, "/pin"));
    }));
  }
  if (mine || staff) {
    actions.push(action(t("sp.comments.delete"), function () {
      return api("DELETE", path(c.id));
    }));
  }
  return C.el("li", { class: "comment", "data-id": c.id }, [
    C.avatar(c.account, "sm"),
    C.el("div", { class: "comment-body" }, [
      C.el("p", { class: "comment-head" }, [
        C.bdi(c.account.display_name || c.account.handle, "name"), " ",
        C.el("time", { datetime: c.created_at, text: I18N.relative(c.created_at) }),
      ]),
      C.el("p", { class: "comment-text" }, [C.el("bdi", { dir: "auto", text: c.text })]),
      /* Under the text, not beside it: on a phone the text keeps the whole width. */
      actions.length ? C.el("span", { class: "comment-actions" }, actions) : null,
    ]),
  ]);
}

function action(label, call) {
  var b = C.el("button", { type: "button", class: "button-quiet small", text: label });
  b.addEventListener("click", async function () {
    b.disabled = true;
    try {
      var resp = await call();
      if (!resp.ok) { report(await C.describeFailure(resp)); }
    } catch (e) { report(t("error.network")); }
    b.disabled = false;
  });
  return b;
}

export function renderComments() {
  var space = model.space;
  var shown = Boolean(space && (space.state === "live" || space.state === "ended"));
  els.comments.hidden = !shown;
  if (!shown) { return; }
  var list = model.comments || [];
  var pinned = model.pinnedComment;
  debug.comments = list.length;
  debug.pinnedComment = pinned ? pinned.id : null;
  els.commentPinned.hidden = !pinned;
  if (pinned) { els.commentPinned.replaceChildren(item(pinned, pinned.id)); }
  var atBottom = els.commentList.scrollHeight - els.commentList.scrollTop - els.commentList.clientHeight < 40;
  els.commentList.replaceChildren.apply(els.commentList, list.length
    ? list.map(function (c) { return item(c, pinned && pinned.id); })
    : [C.el("li", { class: "empty", text: t("sp.comments.none") })]);
  if (atBottom) { els.commentList.scrollTop = els.commentList.scrollHeight; }
  var signedIn = Boolean(me());
  els.commentForm.hidden = !(signedIn && isLive());
  els.commentSignin.hidden = signedIn || !isLive();
  els.commentSignin.setAttribute("href", "/signin?next=" + encodeURIComponent(window.location.pathname));
}

function renderCount() {
  var n = Array.from(els.commentText.value || "").length;
  els.commentCount.textContent = I18N.number(280 - n);
  els.commentCount.classList.toggle("over", n > 280);
}

els.commentText.addEventListener("input", renderCount);

els.commentForm.addEventListener("submit", async function (event) {
  event.preventDefault();
  var text = String(els.commentText.value || "").trim();
  if (!text) { return; }
  var resp = await run(els.commentSend, "POST", path(), { text: text });
  if (resp) {
    onCommentEvent({ action: "added", comment: await resp.json() });
    els.commentText.value = "";
    renderCount();
    els.commentList.scrollTop = els.commentList.scrollHeight;
  }
});
