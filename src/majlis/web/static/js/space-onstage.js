/* majlis Space page, which audio path: on the stage of a live Space I speak and hear over WHIP;
   otherwise I listen over HTTP (space-audio.js does the switch). A WHIP connection that drops
   is offered again by itself, jittered and backing off, while the Space is heard over HTTP. */
import * as C from "./common.js";
import { createAudio } from "./space-audio.js";
import { renderMe, renderPlay } from "./space-me.js";
import { api, base, cancel, debug, els, later, model, myMember, params, pending, report, say, t, token } from "./space-state.js";

export var audio = createAudio({
  player: els.player,
  remote: els.remote,
  debug: debug,
  raw: params.get("raw") === "1",
  token: token,
  status: function (key, p, isError) {
    say(key, p, isError);
    renderPlay();
  },
  onHeard: function (kind) {
    renderPlay();
    if (kind === "hls") { say(debug.reconnecting ? "sp.reconnecting" : "sp.audio.live"); }
    if (kind === "replay") { say("sp.audio.replay"); }
    if (kind === "webrtc") { say(debug.muted ? "sp.me.onStageMuted" : "sp.me.onStageLive"); }
  },
  onStage: function (what) {
    if (what === "dropped") { stageAudioDropped(); }
    if (what === "connected" && debug.reconnecting) {
      debug.reconnecting = false;
      debug.reconnects += 1;
      model.whipRetries = 0;
    }
    renderMe();
  },
});

/* The live audio, the way join said to play it (dash_url where the browser can). */
export function listenLive() {
  var j = model.joined;
  audio.listen(j.hls_url, true, j.low_latency, j.dash_url);
}

/* Brings the audio in line with the role: on stage (Space live) → WHIP; otherwise HTTP. */
export function syncAudio() {
  var space = model.space;
  if (!space || space.state === "ended" || debug.phase === "removed") { return; }
  var member = myMember();
  if (member && space.state === "live") {
    if (!audio.onAir() && !model.connecting && !pending("whip")) { goOnStage(); }
    return;
  }
  stopReconnecting();
  if (!audio.onAir()) { audio.hangUp(token()); } /* a microphone kept for a reconnect */
  if (audio.onAir()) {
    /* Off the stage: the live stream first, so the audio continues, then hang up. */
    if (model.joined) { listenLive(); }
    audio.hangUp(token());
    debug.hearing = null;
    renderMe();
    return;
  }
  if (model.joined && !audio.isListening()) { listenLive(); }
}

/* Going live from this page (the new-Space page's "Start now" sends ?mic=check; Start sets
   it too) starts the host muted, with the mic check showing: nobody goes out unheard-of. */
model.micCheck = params.get("mic") === "check";
if (model.micCheck && window.history.replaceState) {
  window.history.replaceState(null, "", window.location.pathname); /* a reload does not mute again */
}

async function muteFirst(member) {
  model.micCheck = false;
  try {
    var path = base + "/stage/" + encodeURIComponent(member.handle) + "/mute";
    if ((await api("POST", path)).ok) { member.muted = true; }
  } catch (e) { /* still offered; muted or not, as the server says */ }
}

async function goOnStage() {
  model.connecting = true;
  renderMe();
  var member = myMember();
  if (member && model.micCheck && !member.muted) { await muteFirst(member); }
  var result = await audio.speak(base + "/whip", token(), member ? member.muted : true);
  model.connecting = false;
  if (!result.ok && myMember()) {
    if (result.status === 403 || result.status === 409) {
      /* Not (or no longer) allowed on the stage: stop offering; the stage event follows. */
      stopReconnecting();
      audio.hangUp(token());
      if (result.detail) { report(result.detail); }
    } else if (result.retryAfterS) {
      later("whip", C.jitter(result.retryAfterS), syncAudio);
      say(debug.reconnecting ? "sp.reconnecting" : "sp.waiting", { s: Math.ceil(result.retryAfterS) });
    } else if (debug.reconnecting) {
      /* The Space may be moving to another media node: offer again, backing off. */
      model.whipRetries = (model.whipRetries || 0) + 1;
      later("whip", C.backoff(model.whipRetries, 1, 30), syncAudio);
      say("sp.reconnecting");
    } else if (result.key) {
      report(t(result.key, { detail: result.detail || "" }));
    } else if (result.detail) {
      report(result.detail);
    }
    /* Keep hearing the Space meanwhile. */
    if (model.joined && !audio.isListening()) { listenLive(); }
  } else if (result.ok) {
    report("");
  }
  renderMe();
  renderPlay();
}

/* The WebRTC connection dropped while on stage (issue 6: its media node may have died and the
   Space moved to another): hear the Space over HTTP meanwhile and offer again by ourselves,
   soon and jittered (every speaker of a dead node comes back at once), keeping the microphone.
   Leaving the stage, being removed or a 403/409 answer stops it (stopReconnecting). */
function stageAudioDropped() {
  debug.hearing = null;
  debug.drops += 1;
  if (model.joined && !audio.isListening()) { listenLive(); }
  var space = model.space;
  if (!myMember() || !space || space.state !== "live" || debug.phase === "removed") {
    audio.hangUp(token());
    return;
  }
  debug.reconnecting = true;
  model.whipRetries = 0;
  say("sp.reconnecting");
  later("whip", C.jitter(1), syncAudio);
}

/* The event stream says the Space's room moved to another media node (its node died): the
   connection is dead though the browser has not noticed. Offer again at once (spread over a
   quarter second: the whole stage comes back together), rather than after SILENT_MS. */
export function roomMoved() {
  if (!audio.onAir()) { return; }
  audio.dropStage();
  if (debug.reconnecting) { later("whip", Math.random() * 0.25, syncAudio); }
}

export function stopReconnecting() {
  if (!debug.reconnecting) { return; }
  debug.reconnecting = false;
  cancel("whip");
}
