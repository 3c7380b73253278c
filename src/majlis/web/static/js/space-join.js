/* majlis Space page, the Space and staying in it: read the Space, join it (counted, with its
   audio's addresses), keep counted with heartbeats, poll the cacheable snapshot for the listener
   count, and move on when it ends (the replay).

   Calm under load: a 503 or 429 on join (or anywhere) waits Retry-After times a random 0.5-1.5
   before the next try, so a crowd spreads out; nothing here retries without waiting. */
import * as C from "./common.js";
import { loadComments } from "./space-comments.js";
import { applySnapshot, closeEvents, streaming, syncEvents } from "./space-events.js";
import { renderCount } from "./space-head.js";
import { audio, syncAudio } from "./space-onstage.js";
import { mayManageRequests } from "./space-policy.js";
import { snapshotReactions } from "./space-reactions.js";
import { render } from "./space-render.js";
import { loadRequests } from "./space-requests.js";
import { updateRole } from "./space-stage.js";
import {
  audible, base, cancel, debug, els, later, model, say, sayText, setPhase, token,
} from "./space-state.js";

export async function load(attempt) {
  var resp;
  try {
    resp = await fetch(base, { headers: { Accept: "application/json" }, cache: "no-cache" });
  } catch (e) {
    return waitThen("offline", "sp.offline", C.backoff(attempt, 2, 60), function () { load(attempt + 1); });
  }
  if (resp.status === 404) {
    setPhase("gone");
    return sayText(await C.problemDetail(resp), true);
  }
  if (!resp.ok) {
    var busy = resp.status === 429 || resp.status === 503;
    return waitThen(busy ? "waiting" : "offline", busy ? "sp.busy" : "sp.offline",
      busy ? C.jitter(C.retryAfterSeconds(resp, 5)) : C.backoff(attempt, 2, 60),
      function () { load(attempt + 1); });
  }
  apply(await resp.json());
}

/* The Space as the server just described it (loaded, started, ended). */
export function apply(space) {
  model.space = space;
  model.stage = (space.stage || []).slice();
  if (typeof space.listener_count === "number" && space.state !== "ended") { debug.listenerCount = space.listener_count; }
  updateRole();
  if (space.state === "ended") {
    ended();
  } else {
    /* An audible Space is joined first: join says whether a listener streams its events. */
    if (model.joined || !audible(space) || debug.role !== "listener") { syncEvents(); }
    if (audible(space)) {
      if (!model.joined && !model.joinBusy) { join(1); }
    } else {
      setPhase("scheduled");
      say("sp.scheduled.wait");
    }
    if (space.state === "live" && mayManageRequests(debug.role)) { loadRequests(); }
  }
  render();
  syncAudio();
}

function ended() {
  closeEvents();
  stopCounting();
  if (audio.onAir()) { audio.hangUp(token(), true); }
  if (debug.hearing !== "replay") { audio.stopListening(); }
  setPhase("ended");
  var space = model.space;
  model.speaking = [];
  debug.listenerCount = null;
  loadComments(); /* what was said stays with the replay */
  if (space.replay_url) {
    say("sp.replay.ready");
    els.downloadLine.hidden = false;
    els.download.setAttribute("href", space.recording_url || base + "/recording.m4a");
    if (!audio.isListening()) { audio.listen(space.replay_url, false); }
  } else {
    say("sp.replay.none");
  }
}

function waitThen(phase, key, seconds, fn) {
  debug.retryInS = seconds;
  debug.waits.push(seconds); /* every wait planned, for tests: a timer may fire late, never early */
  setPhase(phase);
  say(key === "sp.busy" ? "sp.waiting" : key, { s: Math.ceil(seconds) }, phase === "offline");
  later("retry", seconds, function () {
    debug.retryInS = null;
    fn();
  });
}

/* One join at a time: while one is in flight or waiting out Retry-After, events that reload the
   Space (it started, the stream reconnected) must not start another; that would be a retry
   without the wait. Stays set after a refusal (403/404): there is nothing to retry. */
async function join(attempt) {
  model.joinBusy = true;
  debug.joinAttempts += 1;
  setPhase("joining");
  say("sp.joining");
  var resp;
  try {
    resp = await fetch(base + "/join", {
      method: "POST",
      headers: Object.assign({ Accept: "application/json" }, token() ? { Authorization: "Bearer " + token() } : {}),
    });
  } catch (e) {
    debug.joinStatuses.push(0);
    return waitThen("offline", "sp.offline", C.backoff(attempt, 2, 60), function () { join(attempt + 1); });
  }
  debug.joinStatuses.push(resp.status);
  if (resp.ok) {
    model.joinBusy = false;
    model.joined = await resp.json();
    debug.listenerId = model.joined.listener_id || null;
    setPhase("listening");
    scheduleHeartbeat();
    later("snapshot", 0, pollSnapshot);
    syncEvents();
    syncAudio();
    render();
    return undefined;
  }
  if (resp.status === 503 || resp.status === 429) {
    return waitThen("waiting", "sp.busy", C.jitter(C.retryAfterSeconds(resp, 5)), function () { join(attempt + 1); });
  }
  var detail = await C.problemDetail(resp);
  if (resp.status === 409) {
    /* Not live any more (or not yet): look again, calmly. */
    model.joinBusy = false;
    sayText(detail);
    return later("retry", C.jitter(3), function () { load(1); });
  }
  if (resp.status === 403 || resp.status === 404) {
    setPhase("refused");
    return sayText(detail, true);
  }
  return waitThen("offline", "sp.offline", C.backoff(attempt, 2, 60), function () { join(attempt + 1); });
}

export function stopCounting() {
  model.joined = null;
  model.joinBusy = false;
  debug.listenerId = null;
  cancel("heartbeat");
  cancel("snapshot");
  cancel("retry");
}

function scheduleHeartbeat() {
  if (!model.joined) { return; }
  later("heartbeat", Math.max(1, Number(model.joined.heartbeat_interval_s) || 30), heartbeat);
}

async function heartbeat() {
  var current = model.joined;
  if (!current) { return; }
  var resp = null;
  try {
    resp = await fetch(current.heartbeat_url, { method: "POST" });
  } catch (e) { /* offline for a moment: the next beat may get through */ }
  if (current !== model.joined) { return; }
  if (resp && resp.ok) {
    debug.heartbeats += 1;
  } else {
    debug.heartbeatFailures += 1;
    if (resp && (resp.status === 404 || resp.status === 409)) {
      /* This listener id is unknown now, or the Space changed state: look again. */
      stopCounting();
      return later("retry", C.jitter(2), function () { load(1); });
    }
  }
  scheduleHeartbeat();
}

async function pollSnapshot() {
  var current = model.joined;
  if (!current) { return; }
  try {
    var resp = await fetch(current.snapshot_url, { headers: { Accept: "application/json" } });
    if (current !== model.joined) { return; }
    if (resp.ok) {
      var snap = await resp.json();
      debug.snapshots += 1;
      debug.listenerCount = snap.listener_count;
      renderCount();
      if (!streaming()) { /* the event stream is refused: the snapshot stands in */
        applySnapshot(snap);
        snapshotReactions(snap.reactions || {});
      } else {
        snapshotReactions(null);
      }
    }
  } catch (e) { /* try again at the next tick */ }
  /* Every 5 s for the count; every 2 s while the event stream is refused (a full node bounds
     its streams), since then the snapshot, cacheable at the edges, also moves the stage. */
  if (current === model.joined) { later("snapshot", document.hidden ? 15 : (streaming() ? 5 : 2), pollSnapshot); }
}
