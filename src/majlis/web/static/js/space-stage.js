/* majlis Space page, the stage: who is on it, in which role, muted or not, who is speaking right
   now, and my own role, which decides what else the page shows and which audio path it takes. */
import * as C from "./common.js";
import { syncEvents } from "./space-events.js";
import { memberControls } from "./space-host.js";
import { renderMe } from "./space-me.js";
import { audio, syncAudio } from "./space-onstage.js";
import { mayManageRequests } from "./space-policy.js";
import { render } from "./space-render.js";
import { loadRequests } from "./space-requests.js";
import { app, debug, els, isLive, me, model, myMember, sameHandle, say, status, t } from "./space-state.js";

export function renderStage() {
  var talking = speakingSet();
  debug.stage = model.stage.map(function (m) { return m.handle; });
  var mine = me();
  /* Host first, then cohosts, then speakers; each in the order they came up. */
  var rank = { host: 0, cohost: 1, speaker: 2 };
  var ordered = model.stage.map(function (m, i) { return [m, i]; }).sort(function (a, b) {
    var ra = a[0].role in rank ? rank[a[0].role] : 3;
    var rb = b[0].role in rank ? rank[b[0].role] : 3;
    return (ra - rb) || (a[1] - b[1]);
  }).map(function (pair) { return pair[0]; });
  var items = ordered.map(function (m) {
    var key = String(m.handle).toLowerCase();
    var speaking = Boolean(talking[key]) && !m.muted;
    var label = [m.display_name || m.handle, t("role." + m.role)];
    if (m.muted) { label.push(t("sp.stage.muted")); }
    var li = C.el("li", {
      class: "member", "data-handle": m.handle, "data-role": m.role,
      "data-speaking": speaking ? "true" : "false", "data-muted": m.muted ? "true" : "false",
    }, [
      C.el("span", { class: "ring" }, [C.avatar(m, "lg")]),
      C.bdi(m.display_name || m.handle, "name"),
      C.el("span", { class: "role", text: t("role." + m.role) + (key === mine ? " \u00b7 " + t("sp.stage.you") : "") }),
      C.el("span", { class: "mic-state", "aria-hidden": "true", text: m.muted ? "\uD83D\uDD07" : "\uD83C\uDF99\uFE0F" }),
      C.el("span", { class: "visually-hidden", text: label.slice(2).join(", ") }),
    ]);
    var controls = memberControls(m);
    if (controls) { li.appendChild(controls); }
    return li;
  });
  if (items.length === 0) { items.push(C.el("li", { class: "empty", text: t("sp.stage.empty") })); }
  els.stageHeading.textContent = t(model.space && model.space.state === "ended" ? "sp.stage.headingEnded" : "sp.stage.heading");
  /* A rebuild must not close an open management menu (any of them: staff may open several)
     nor take keyboard focus away from it. */
  var openHandles = Array.prototype.map.call(els.stage.querySelectorAll("details[open]"), function (d) {
    return d.closest("li").getAttribute("data-handle");
  });
  var focused = document.activeElement && els.stage.contains(document.activeElement) ? document.activeElement : null;
  var focusLi = focused ? focused.closest("li") : null;
  var focusHandle = focusLi ? focusLi.getAttribute("data-handle") : null;
  var focusAt = focusLi ? Array.prototype.indexOf.call(focusLi.querySelectorAll("summary, button"), focused) : -1;
  els.stage.replaceChildren.apply(els.stage, items);
  function itemOf(handle) { return els.stage.querySelector('li[data-handle="' + CSS.escape(handle) + '"]'); }
  openHandles.forEach(function (handle) {
    var again = itemOf(handle) && itemOf(handle).querySelector("details");
    if (again) { again.open = true; }
  });
  if (focusHandle && focusAt >= 0 && itemOf(focusHandle)) {
    var target = itemOf(focusHandle).querySelectorAll("summary, button")[focusAt];
    if (target) { target.focus(); }
  }
}

/* The handles speaking now, lower-cased, as a set; also mirrored into the debug object. */
function speakingSet() {
  var talking = {};
  model.speaking.forEach(function (h) { talking[String(h).toLowerCase()] = true; });
  debug.speaking = model.speaking.slice();
  return talking;
}

/* Who is speaking changes several times a second: move the rings without rebuilding the stage
   (a rebuild would steal keyboard focus from a staff menu). */
export function markSpeaking(handles) {
  model.speaking = handles || [];
  var talking = speakingSet();
  els.stage.querySelectorAll("li.member").forEach(function (li) {
    var on = Boolean(talking[String(li.getAttribute("data-handle")).toLowerCase()]) &&
      li.getAttribute("data-muted") !== "true";
    li.setAttribute("data-speaking", on ? "true" : "false");
  });
}

/* Someone came on, changed role or left (role null). */
export function onStageEvent(ev) {
  var kept = model.stage.filter(function (m) { return !sameHandle(m.handle, ev.handle); });
  if (ev.role) {
    var member = { handle: ev.handle, display_name: ev.display_name, role: ev.role, muted: Boolean(ev.muted) };
    var at = model.stage.findIndex(function (m) { return sameHandle(m.handle, ev.handle); });
    if (at >= 0) { kept.splice(at, 0, member); } else { kept.push(member); }
  }
  model.stage = kept;
  if (sameHandle(ev.handle, me())) {
    debug.requestPending = false;
    if (ev.role) { say(ev.muted ? "sp.me.welcomeMuted" : "sp.me.welcome"); }
  }
  updateRole();
  render();
  syncAudio();
}

/* Someone was muted or unmuted: mine is also my microphone's state. */
export function onMuteEvent(ev) {
  model.stage.forEach(function (m) {
    if (sameHandle(m.handle, ev.handle)) { m.muted = Boolean(ev.muted); }
  });
  var mine = sameHandle(ev.handle, me());
  if (mine) { audio.setMic(!ev.muted); }
  renderStage();
  renderMe();
  if (debug.hearing === "webrtc") { say(ev.muted && mine ? "sp.me.onStageMuted" : status.key, status.params); }
}

/* My role follows the stage; a new one may open the event stream or load the request queue. */
export function updateRole() {
  var member = myMember();
  var before = debug.role;
  debug.role = member ? member.role : "listener";
  app.setAttribute("data-role", debug.role);
  if (before !== debug.role) { syncEvents(); }
  if (before !== debug.role && mayManageRequests(debug.role) && isLive()) {
    loadRequests();
  }
}
