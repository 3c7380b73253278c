/* The inbox: GET /api/v1/notifications (paged), then new notices live over SSE
   (/api/v1/notifications/stream?ticket=..., a single-use ticket: EventSource cannot send the token).
   Each notice links to its Space (or to the person, for a follow). Seeing the page marks
   everything read for the header's badge. */
import "./strings/notifications.js";
import * as C from "./common.js";
import * as S from "./session.js";
import * as I18N from "./i18n.js";
import * as Shell from "./shell.js";

var el = C.el;

var items = [];
var fresh = {};
var cursor = null;
var stream = null;

window.majlis = { page: "notifications", loaded: false, streamOpen: false };

function $(id) { return document.getElementById(id); }

function link(n) {
  if (n.space) { return C.spaceUrl(n.space); }
  if (n.actor) { return C.profileUrl(n.actor.handle); }
  return "/";
}

function sentence(n) {
  var name = n.actor ? C.bdi(n.actor.display_name || n.actor.handle, "who") : I18N.t("notice.someone");
  var title = n.space ? el("bdi", { class: "what", dir: "auto", text: n.space.title }) : I18N.t("notice.aSpace");
  var key = "notice." + n.kind;
  return C.textWith(I18N.has(key) ? key : "notice.live", { name: name, title: title });
}

function item(n) {
  var who = n.actor || (n.space && n.space.host) || { handle: n.kind, display_name: "•" };
  return el("li", { class: "notice-item" + (fresh[n.id] ? " fresh" : ""), "data-kind": n.kind, "data-id": n.id }, [
    C.avatar(who, "md"),
    el("div", { class: "notice-body" }, [
      el("p", null, [el("a", { href: link(n), class: "notice-link" }, sentence(n))]),
      el("time", { datetime: n.created_at, title: I18N.date(n.created_at), text: I18N.relative(n.created_at) }),
    ]),
    n.space ? C.badge(n.space) : null,
  ]);
}

function render() {
  var list = $("notices");
  list.replaceChildren.apply(list, items.map(item));
  $("notices-empty").hidden = !window.majlis.loaded || items.length > 0;
  $("notices-more").hidden = !cursor;
  Shell.setTitle(I18N.t("notices.title"));
}

function status(text, kind) {
  $("notices-status").textContent = text || "";
  $("notices-status").className = "status" + (kind ? " notice " + kind : "");
}

async function loadPage(after) {
  var path = "/api/v1/notifications?limit=30" + (after ? "&cursor=" + encodeURIComponent(after) : "");
  var response = await S.api("GET", path);
  if (!response.ok) {
    status(await C.describeFailure(response), response.status === 503 || response.status === 429 ? "wait" : "error");
    if (response.status === 503 || response.status === 429) {
      setTimeout(function () { loadPage(after); }, C.jitter(C.retryAfterSeconds(response, 5)) * 1000);
    }
    return;
  }
  status("");
  var body = await response.json();
  items = after ? items.concat(body.items || []) : body.items || [];
  cursor = body.next_cursor || null;
  window.majlis.loaded = true;
  render();
  if (items.length) { Shell.markSeen(items[0].created_at); }
}

/* Newest first in, newest first out; already shown ones are skipped. */
function add(newer) {
  var known = {};
  items.forEach(function (x) { known[x.id] = true; });
  var added = newer.filter(function (n) { return n && n.id && !known[n.id]; });
  if (!added.length) { return; }
  added.forEach(function (n) { fresh[n.id] = true; });
  items = added.concat(items);
  render();
  Shell.markSeen(items[0].created_at);
}

async function catchUp() {
  if (!window.majlis.loaded) { return; } /* the first page is still on its way */
  try {
    var response = await S.api("GET", "/api/v1/notifications?limit=30");
    if (response.ok) { add(((await response.json()).items || [])); }
  } catch (e) { /* the stream is still there; the next reconnect catches up again */ }
}

function listen() {
  if (stream) { stream.close(); }
  var tok = S.token();
  if (!tok || typeof EventSource === "undefined") { return; }
  /* "open" comes with the response headers, a moment before the server subscribes (and a
     reconnect may have missed notices): once settled, fetch the newest page and add what is new. */
  stream = S.inboxStream({
    onOpen: function () {
      window.majlis.streamOpen = true;
      setTimeout(catchUp, 1000);
    },
    onError: function () { window.majlis.streamOpen = false; },
    onNotification: function (event) {
      var n;
      try { n = JSON.parse(event.data); } catch (e) { return; }
      if (n) { add([n]); }
    },
  });
}

function start() {
  if (!S.account()) {
    $("notices-signin").hidden = false;
    items = [];
    render();
    if (stream) { stream.close(); stream = null; }
    return;
  }
  $("notices-signin").hidden = true;
  loadPage(null).catch(function () { status(I18N.t("error.network"), "error"); });
  listen();
}

document.addEventListener("DOMContentLoaded", function () {
  $("notices-more").addEventListener("click", function () { loadPage(cursor); });
  document.addEventListener("majlis:lang", render);
  document.addEventListener("majlis:session", start);
  start();
});
