/* majlis: helpers shared by every page (waiting, errors, avatars, Space cards). An ES module,
   no build step; its words come from strings/common.js through i18n.js. */
import "./strings/common.js";
import * as I18N from "./i18n.js";

/* A wait of `seconds` spread uniformly over 0.5x-1.5x, so a crowd told "come back in 5 s"
   does not come back in the same millisecond. Never less than half a second. */
export function jitter(seconds) {
  return Math.max(0.5, seconds * (0.5 + Math.random()));
}

/* Exponential backoff for attempt 1, 2, 3 ...: base, 2*base, 4*base ... capped, then jittered. */
export function backoff(attempt, baseS, capS) {
  var s = Math.min(capS, baseS * Math.pow(2, Math.max(0, attempt - 1)));
  return jitter(s);
}

/* Retry-After in seconds (delta-seconds or an HTTP date), clamped to [1, 600]. */
export function retryAfterSeconds(response, fallbackS) {
  var raw = response && response.headers ? response.headers.get("Retry-After") : null;
  var s = NaN;
  if (raw !== null && raw !== undefined) {
    if (/^\s*\d+\s*$/.test(raw)) {
      s = parseInt(raw, 10);
    } else {
      var at = Date.parse(raw);
      if (!isNaN(at)) { s = (at - Date.now()) / 1000; }
    }
  }
  if (!isFinite(s)) { s = fallbackS; }
  return Math.min(600, Math.max(1, s));
}

/* The words to show for a failed response: RFC 9457 `detail`, else its title, else the status. */
export async function problemDetail(response) {
  var fallback = "the server answered " + response.status +
    (response.statusText ? " " + response.statusText : "");
  try {
    var type = response.headers.get("Content-Type") || "";
    if (type.indexOf("json") !== -1) {
      var body = await response.json();
      if (body && typeof body.detail === "string" && body.detail) { return body.detail; }
      if (body && typeof body.title === "string" && body.title) { return body.title; }
    }
  } catch (e) { /* not JSON after all */ }
  return fallback;
}

/* document.createElement with attributes and children; strings become text nodes (never HTML). */
export function el(tag, attrs, children) {
  var node = document.createElement(tag);
  Object.keys(attrs || {}).forEach(function (name) {
    var v = attrs[name];
    if (v === null || v === undefined || v === false) { return; }
    if (name === "class") { node.className = v; } else if (name === "text") { node.textContent = v; } else { node.setAttribute(name, v === true ? "" : String(v)); }
  });
  (children || []).forEach(function (child) {
    if (child === null || child === undefined) { return; }
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  });
  return node;
}

/* User text, isolated: a name in another script (or with bidi controls) cannot reorder the
   sentence around it. */
export function bdi(text, cls) {
  return el("bdi", { class: cls || null, text: String(text === undefined || text === null ? "" : text) });
}

export function initials(name) {
  var words = String(name || "?").trim().split(/\s+/).filter(Boolean);
  /* Joined by a zero-width non-joiner, so two Arabic initials stay two letters, not a ligature. */
  /* The Arabic article "ال" is not an initial: "نور الهدى" is "ن ه", not "ن ا". */
  var letters = words.slice(0, 2).map(function (w) {
    var chars = Array.from(w);
    return chars.length > 2 && chars[0] === "\u0627" && chars[1] === "\u0644" ? chars[2] : chars[0];
  }).join("\u200c");
  return (letters || "?").toUpperCase();
}

/* A stable hue per handle, so a person keeps their colour on every page. */
function hue(key) {
  var h = 0;
  var s = String(key || "");
  for (var i = 0; i < s.length; i++) { h = (h * 31 + s.charCodeAt(i)) % 360; }
  return h;
}

var HUES = ["a", "b", "c", "d", "e", "f"];

/* Initials in a circle; `size` is "sm" | "md" | "lg" | "xl". Decorative: the name is next to it. */
export function avatar(account, size) {
  var a = account || {};
  var name = a.display_name || a.handle || "?";
  return el("span", {
    class: "avatar avatar-" + (size || "md") + " hue-" + HUES[hue(a.handle || name) % HUES.length],
    "aria-hidden": "true",
    "data-handle": a.handle || null,
    text: initials(name),
  });
}

export function spaceUrl(space) { return "/spaces/" + encodeURIComponent(space.id); }
export function profileUrl(handle) { return "/@" + encodeURIComponent(handle); }
export function absoluteUrl(path) { return new URL(path, window.location.origin).href; }

/* A translated sentence as DOM nodes, with elements (e.g. a <bdi> name) in its {placeholders}:
   the sentence's word order stays the translator's, the name stays isolated. */
export function textWith(key, nodes) {
  var template = I18N.t(key);
  var out = [];
  var last = 0;
  template.replace(/\{(\w+)\}/g, function (whole, name, at) {
    if (at > last) { out.push(template.slice(last, at)); }
    var node = nodes[name];
    out.push(node === undefined ? whole : (typeof node === "string" || typeof node === "number" ? String(node) : node));
    last = at + whole.length;
    return whole;
  });
  if (last < template.length) { out.push(template.slice(last)); }
  return out;
}

export function listenersText(n) {
  return I18N.plural("listeners", n);
}

/* Doors are open once their time has come, not as soon as a pre-show is planned (a Space
   scheduled for tomorrow with a pre-show is "scheduled" until its doors open). */
export function doorsOpen(space) {
  return space.state === "scheduled" && Boolean(space.doors_open_at) &&
    Date.parse(space.doors_open_at) <= Date.now();
}

export function badge(space) {
  var state = doorsOpen(space) ? "doors" : space.state;
  return el("span", { class: "badge badge-" + state, "data-state": space.state }, [
    state === "live" ? el("span", { class: "dot", "aria-hidden": "true" }) : null,
    I18N.t("state." + state),
  ]);
}

function when(space) {
  if (space.state === "live" && space.started_at) { return I18N.t("space.startedAt", { when: I18N.relative(space.started_at) }); }
  if (space.state === "scheduled" && space.scheduled_start) {
    return I18N.t("space.startsAt", { when: I18N.date(space.scheduled_start, { weekday: "short", day: "numeric", month: "short", hour: "numeric", minute: "2-digit" }) });
  }
  if (space.state === "ended" && space.ended_at) { return I18N.t("space.endedAt", { when: I18N.relative(space.ended_at) }); }
  return "";
}

/* A Space as a card: the whole card is one link to the Space page; title and names isolated. */
export function spaceCard(space) {
  var host = space.host || {};
  var stage = (space.stage || []).slice(0, 5);
  var faces = el("span", { class: "faces", "aria-hidden": "true" }, stage.map(function (m) { return avatar(m, "sm"); }));
  var hostLine = el("p", { class: "card-host" }, [
    avatar(host, "sm"),
    el("span", null, textWith("space.hostedBy", { name: bdi(host.display_name || host.handle) })),
  ]);
  var meta = el("p", { class: "card-meta" }, [
    space.state === "live" || doorsOpen(space) ? el("span", { class: "listeners", text: listenersText(space.listener_count || 0) }) : null,
    el("span", { class: "when", text: when(space) }),
  ]);
  return el("li", { class: "card space-card", "data-space-id": space.id, "data-state": space.state }, [
    el("a", { class: "card-link", href: spaceUrl(space) }, [
      el("div", { class: "card-top" }, [badge(space), stage.length ? faces : null]),
      el("h3", { class: "card-title" }, [el("bdi", { dir: "auto", text: space.title })]),
      hostLine,
      meta,
    ]),
  ]);
}

/* What to tell a person about a failed response, in their language: waiting states for
   429/503 (with the Retry-After time; `manual` when the page leaves the retry to the person),
   otherwise the server's own `detail` (in English: the API speaks one language). */
export async function describeFailure(response, manual) {
  if (response.status === 503 || response.status === 429) {
    var s = Math.round(retryAfterSeconds(response, 5));
    /* "in 7 seconds" / "خلال 7 ثوانٍ": Intl gets the Arabic number agreement right. */
    var when = I18N.relative(new Date(Date.now() + s * 1000));
    var key = response.status === 429 ? "error.rateLimited" : manual ? "error.busyManual" : "error.busy";
    return I18N.t(key, { s: s, when: when });
  }
  return problemDetail(response);
}
