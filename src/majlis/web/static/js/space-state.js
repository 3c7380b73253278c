/* majlis Space page, what its modules share: the page's elements, the model of the Space as
   last heard from the server, the status line, named timers, and `window.majlis`, the debug
   object that mirrors the page's state for tests and for anyone debugging from the console.

   It imports no other part of the Space page, so every other module can import it: the state
   lives here, the behaviour in the modules named after it. */
import "./strings/space.js";
import * as C from "./common.js";
import * as I18N from "./i18n.js";
import * as S from "./session.js";

export var app = document.getElementById("app");
export var spaceId = app.getAttribute("data-space-id");
export var base = "/api/v1/spaces/" + encodeURIComponent(spaceId);
export var params = new URLSearchParams(window.location.search);

function $(id) { return document.getElementById(id); }
export var els = {
  state: $("state"), listeners: $("listeners"), title: $("title"), hostLine: $("host-line"),
  when: $("when"), shareUrl: $("share-url"), share: $("share"), shareStatus: $("share-status"),
  clip: $("clip"), clipsAllowed: $("clips-allowed"), clipsAllowedRow: $("clips-allowed-row"),
  captions: $("captions"), captionLines: $("caption-lines"), captionsNote: $("captions-note"),
  captionsToggle: $("captions-toggle"), captionsOn: $("captions-on"), captionsRow: $("captions-row"),
  transcript: $("transcript"), transcriptLines: $("transcript-lines"),
  transcriptVtt: $("transcript-vtt"), transcriptSrt: $("transcript-srt"),
  scheduled: $("scheduled"), startsAt: $("starts-at"), reminder: $("reminder"), start: $("start"),
  play: $("play"), status: $("status"), error: $("error"), player: $("player"), remote: $("remote"),
  downloadLine: $("download-line"), download: $("download"),
  me: $("me"), meHint: $("me-hint"), micCheck: $("mic-check"), micLevel: $("mic-level"), mic: $("mic"), connect: $("connect"), leave: $("leave"),
  request: $("request"), withdraw: $("withdraw"), signinLink: $("signin-link"),
  stage: $("stage"), stageHeading: $("stage-heading"), reactions: $("reactions"), emoji: $("emoji"), floats: $("floats"),
  comments: $("comments"), commentPinned: $("comment-pinned"), commentList: $("comment-list"),
  commentForm: $("comment-form"), commentText: $("comment-text"), commentCount: $("comment-count"),
  commentSend: $("comment-send"), commentSignin: $("comment-signin"),
  host: $("host"), requests: $("requests"), requestsBadge: $("requests-badge"),
  requestsBadgeText: $("requests-badge-text"), inviteForm: $("invite-form"), inviteHandle: $("invite-handle"),
  link: $("link"), linkAnchor: $("link-a"), linkTitle: $("link-title"), linkDomain: $("link-domain"),
  unpin: $("unpin"), linkForm: $("link-form"), linkUrl: $("link-url"),
  linkTitleInput: $("link-title-input"), linkPin: $("link-pin"),
  end: $("end"), confirm: $("confirm"), confirmText: $("confirm-text"), confirmOk: $("confirm-ok"),
};

export var debug = {
  page: "space", spaceId: spaceId, state: app.getAttribute("data-state"), phase: "loading",
  role: "listener", message: "", listenerId: null, joinAttempts: 0, joinStatuses: [], retryInS: null, waits: [],
  heartbeats: 0, heartbeatFailures: 0, snapshots: 0, events: 0, listenerCount: null, stage: [],
  speaking: [], requestPending: false, streaming: null, player: null, playing: false, currentTime: 0,
  autoplayBlocked: false, playerRestarts: 0, hlsErrors: [], dashErrors: [], dashRepresentation: null, liveLatency: null, hearing: null, constraints: null,
  whipStatus: null, sessionUrl: null, connectionState: null, remoteTracks: 0, packetsSent: 0,
  packetsReceived: 0, totalSamplesReceived: 0, reconnecting: false, reconnects: 0, drops: 0, muted: true, reactionsSent: 0, reactionsReceived: 0,
  reload: window.performance && performance.timeOrigin,
};
window.majlis = debug;

export var model = { space: null, stage: [], speaking: [], requests: [], joined: null, joinBusy: false, connecting: false, reminder: false, reminderAsked: false };

export function t(key, p) { return I18N.t(key, p); }
export function token() { return S.token(); }
export function api(method, path, body) { return S.api(method, path, body); }
export function me() {
  var a = S.account();
  return a && a.handle ? String(a.handle).toLowerCase() : null;
}
/* Handles compare case-insensitively; nobody (null, signed out) is nobody's handle. */
export function sameHandle(a, b) {
  return a !== null && a !== undefined && b !== null && b !== undefined &&
    String(a).toLowerCase() === String(b).toLowerCase();
}

export function myMember() {
  var h = me();
  if (!h) { return null; }
  for (var i = 0; i < model.stage.length; i++) {
    if (sameHandle(model.stage[i].handle, h)) { return model.stage[i]; }
  }
  return null;
}

function doorsOpen(space) { return space.state === "scheduled" && Boolean(space.hls_url); }
export function audible(space) { return space.state === "live" || doorsOpen(space); }
export function isLive() { return Boolean(model.space && model.space.state === "live"); }

/* ---- named timers: one pending call per name, a new one replaces it ---------------------------- */

var timers = {};
export function later(name, seconds, fn) {
  clearTimeout(timers[name]);
  timers[name] = setTimeout(function () { delete timers[name]; fn(); }, Math.max(0, seconds) * 1000);
}
export function cancel(name) {
  clearTimeout(timers[name]);
  delete timers[name];
}
export function pending(name) { return Boolean(timers[name]); }

/* ---- words on the page ------------------------------------------------------------------------- */

export var status = { key: "sp.loading", params: null, error: false };

export function renderStatus() {
  var text = status.key ? t(status.key, status.params) : (status.text || "");
  debug.message = text;
  els.status.textContent = text;
  els.status.classList.toggle("error", status.error);
}
export function say(key, p, isError) {
  Object.assign(status, { key: key, text: null, params: p || null, error: Boolean(isError) });
  renderStatus();
}
export function sayText(text, isError) {
  Object.assign(status, { key: null, text: text, params: null, error: Boolean(isError) });
  renderStatus();
}
export function report(text) { els.error.textContent = text || ""; }

export function setPhase(phase) {
  debug.phase = phase;
  app.setAttribute("data-phase", phase);
}

/* One of my own actions (a button's): the button waits while it runs, a refusal is shown in the
   server's words. Resolves to the Response, or null. */
export async function run(button, method, path, body) {
  report("");
  button.disabled = true;
  try {
    var resp = await api(method, path, body);
    if (!resp.ok) {
      report(await C.describeFailure(resp));
      return null;
    }
    return resp;
  } catch (e) {
    report(t("error.network"));
    return null;
  } finally {
    button.disabled = false;
  }
}
