/* majlis shell: the site header every page shares, built with DOM calls (no HTML strings) into
   <header id="site-header">: brand, navigation (Home, Notifications with an unread badge, my
   profile), "Start a Space", sign in / sign out, and the language switcher. Unread = notices
   newer than the newest one the person has seen on the notifications page (the server's
   seen_at); new ones arrive over SSE. Every page's entry module imports it, which mounts the
   header as soon as the page's modules run. */
import * as C from "./common.js";
import * as I18N from "./i18n.js";
import { ACCOUNT_KEY, TOKEN_KEY, account, api, inboxStream, signOut, token, write } from "./session.js";

var SEEN_KEY = "majlis.notices.seen";
var el = C.el;

/* ---- header ------------------------------------------------------------------------------ */

var unread = 0;
var stream = null;
var streamToken = null;
var streamIsOpen = false;

function after(createdIso, seenIso) {
  return !seenIso || Date.parse(createdIso) > Date.parse(seenIso);
}

/* Called by the notifications page once it shows the inbox. What was seen is the server's
   (POST /notifications/seen), so the badge clears on every device; SEEN_KEY only tells this
   browser's other tabs to recount. */
export async function markSeen(newestIso) {
  setUnread(0);
  if (!newestIso || !token()) { return; }
  try {
    var response = await api("POST", "/api/v1/notifications/seen", { up_to: newestIso });
    if (response.ok) { write(SEEN_KEY, (await response.json()).seen_at); }
  } catch (e) { /* offline: the next page view marks them */ }
}

export function setUnread(n) {
  unread = Math.max(0, n);
  var badge = document.getElementById("nav-unread");
  var link = document.getElementById("nav-notifications");
  if (!badge || !link) { return; }
  badge.hidden = unread === 0;
  badge.textContent = unread > 99 ? I18N.number(99) + "+" : I18N.number(unread);
  if (unread > 0) {
    link.setAttribute("aria-label", I18N.t("nav.notifications.unread", { n: unread }));
  } else {
    link.removeAttribute("aria-label");
  }
}

async function countUnread() {
  if (!token()) { setUnread(0); return; }
  if (document.body.getAttribute("data-page") === "notifications") { return; } /* it marks them */
  try {
    var response = await api("GET", "/api/v1/notifications?limit=50");
    if (!response.ok) { return; }
    var body = await response.json();
    setUnread((body.items || []).filter(function (n) { return after(n.created_at, body.seen_at); }).length);
  } catch (e) { /* offline: the badge waits for the next page */ }
}

/* Pages that hold long requests of their own (the Space page: its event stream and LL-HLS
   blocking playlist reloads) poll the count instead of streaming it: over HTTP/1.1 a browser
   opens at most 6 connections per origin, shared by all its tabs, and two Space tabs with a
   stream each would stall each other's audio. The notifications page has its own stream. */
var POLLING_PAGES = { space: true };
var POLL_S = 60;
var pollTimer = null;

function watchNotices() {
  var tok = token();
  var page = document.body.getAttribute("data-page");
  if (stream && streamToken === tok) { return; }
  if (stream) { stream.close(); stream = null; }
  clearTimeout(pollTimer);
  streamToken = tok;
  if (!tok || page === "notifications") { return; }
  if (POLLING_PAGES[page] || typeof EventSource === "undefined") {
    var poll = function () {
      countUnread();
      pollTimer = setTimeout(poll, C.jitter(POLL_S) * 1000);
    };
    pollTimer = setTimeout(poll, C.jitter(POLL_S) * 1000);
    return;
  }
  /* "open" comes with the response headers, a moment before the server subscribes; and a
     reconnect may have missed notices. Recount once the stream has settled. inboxStream
     reconnects by itself (with a fresh ticket); nothing else to do on error. */
  stream = inboxStream({
    onNotification: function () { setUnread(unread + 1); },
    onOpen: function () {
      streamIsOpen = true;
      setTimeout(countUnread, 1000);
    },
    onError: function () { streamIsOpen = false; },
  });
}

function navLink(href, key, id, current) {
  var a = el("a", { href: href, id: id || null, class: "nav-link", "aria-current": current ? "page" : null }, [
    el("span", { "data-i18n": key, text: I18N.t(key) }),
  ]);
  return a;
}

function languageSwitcher() {
  var select = el("select", { id: "lang-select", class: "lang-select", "data-i18n-label": "lang.label", "aria-label": I18N.t("lang.label") }, [
    el("option", { value: "en", lang: "en", text: "English" }),
    el("option", { value: "ar", lang: "ar", text: "العربية" }),
  ]);
  select.value = I18N.lang();
  select.addEventListener("change", function () { I18N.setLang(select.value); });
  return select;
}

function renderHeader() {
  var header = document.getElementById("site-header");
  if (!header) { return; }
  var page = document.body.getAttribute("data-page") || "";
  var me = account();

  var brand = el("a", { class: "brand", href: "/", id: "brand" }, [
    el("span", { class: "brand-mark", "aria-hidden": "true" }, [
      el("span", { class: "bar b1" }), el("span", { class: "bar b2" }), el("span", { class: "bar b3" }),
    ]),
    el("span", { class: "brand-name", "data-i18n": "brand", text: I18N.t("brand") }),
  ]);

  var links = [navLink("/", "nav.home", "nav-home", page === "home")];
  if (me) {
    var notices = navLink("/notifications", "nav.notifications", "nav-notifications", page === "notifications");
    notices.appendChild(el("span", { id: "nav-unread", class: "unread", hidden: true, "aria-hidden": "true" }));
    links.push(notices);
    var mine = navLink(C.profileUrl(me.handle), "nav.profile", "nav-profile", page === "profile" && document.body.getAttribute("data-handle") === me.handle.toLowerCase());
    mine.insertBefore(C.avatar(me, "xs"), mine.firstChild);
    links.push(mine);
  }
  var nav = el("nav", { class: "site-nav", id: "site-nav", "data-i18n-label": "nav.label", "aria-label": I18N.t("nav.label") }, links);

  var actions = [];
  if (me) {
    actions.push(el("a", { class: "button button-primary start", href: "/spaces/new", id: "start-space", "data-i18n-label": "nav.start", "aria-label": I18N.t("nav.start") }, [
      el("span", { "aria-hidden": "true", class: "plus", text: "+" }),
      el("span", { "data-i18n": "nav.start", text: I18N.t("nav.start") }),
    ]));
    var out = el("button", { type: "button", class: "button button-quiet", id: "sign-out", "data-i18n": "nav.signout", text: I18N.t("nav.signout") });
    out.addEventListener("click", async function () {
      out.disabled = true;
      await signOut();
      if (/^\/(notifications|spaces\/new)/.test(window.location.pathname)) { window.location.assign("/"); }
    });
    actions.push(out);
  } else {
    var back = window.location.pathname + window.location.search;
    var next = /^\/sign(in|up)/.test(back) ? "" : "?next=" + encodeURIComponent(back);
    actions.push(el("a", { class: "button button-quiet", href: "/signin" + next, id: "sign-in", "data-i18n": "nav.signin", text: I18N.t("nav.signin") }));
    actions.push(el("a", { class: "button button-primary", href: "/signup" + next, id: "sign-up", "data-i18n": "nav.signup", text: I18N.t("nav.signup") }));
  }
  actions.push(languageSwitcher());

  var inner = el("div", { class: "site-header-inner" }, [brand, nav, el("div", { class: "site-actions" }, actions)]);
  header.replaceChildren(inner);
  setUnread(unread);
}

export function setTitle(text) {
  document.title = text ? text + " · " + I18N.t("brand") : I18N.t("brand");
}

function start() {
  renderHeader();
  countUnread();
  watchNotices();
}

document.addEventListener("majlis:session", start);
document.addEventListener("majlis:lang", function () {
  var select = document.getElementById("lang-select");
  if (select) { select.value = I18N.lang(); }
  setUnread(unread);
});
window.addEventListener("storage", function (event) {
  if (event.key === TOKEN_KEY || event.key === ACCOUNT_KEY) { start(); }
  if (event.key === SEEN_KEY) { countUnread(); }
});
if (document.readyState === "loading") {
  document.addEventListener("DOMContentLoaded", start);
} else {
  start();
}

export function streamOpen() { return streamIsOpen; }
