/* majlis Space page, me: what I can do here now (sign in, request to speak, connect, unmute,
   leave the stage) and the Play button. My request to speak is space-requests.js's. */
import * as S from "./session.js";
import { renderMicCheck } from "./space-miccheck.js";
import { mayManageRequests, mayRunSpace } from "./space-policy.js";
import { audio, syncAudio } from "./space-onstage.js";
import { renderReactions } from "./space-reactions.js";
import { onStageEvent, renderStage } from "./space-stage.js";
import { base, cancel, debug, els, isLive, me, model, myMember, run, say, t } from "./space-state.js";

export function renderMe() {
  var space = model.space;
  var member = myMember();
  var signedIn = Boolean(me());
  var live = isLive();
  var onAir = audio.onAir();
  debug.muted = member ? Boolean(member.muted) : true;
  els.me.hidden = !space || space.state === "ended";
  els.signinLink.hidden = signedIn;
  els.signinLink.setAttribute("href", "/signin?next=" + encodeURIComponent(window.location.pathname));
  els.request.hidden = !(signedIn && live && !member && !debug.requestPending);
  els.withdraw.hidden = !(signedIn && live && !member && debug.requestPending);
  els.leave.hidden = !(member && member.role !== "host" && live);
  els.mic.hidden = !(member && onAir && debug.connectionState === "connected");
  els.connect.hidden = !(member && live && !onAir && !model.connecting);
  els.mic.textContent = t(debug.muted ? "sp.mic.unmute" : "sp.mic.mute");
  els.mic.setAttribute("aria-pressed", debug.muted ? "true" : "false");
  els.mic.classList.toggle("secondary", !debug.muted);
  var hint = "";
  if (!signedIn) { hint = "sp.me.signedOut"; }
  else if (member && model.connecting) { hint = "sp.me.connecting"; }
  else if (member && debug.muted) { hint = "sp.me.unmuteToTalk"; }
  else if (member) { hint = "sp.me.talking"; }
  else if (debug.requestPending) { hint = "sp.me.requested"; }
  else if (live) { hint = "sp.me.listener"; }
  els.meHint.textContent = hint ? t(hint) : "";
  renderMicCheck();
  els.host.hidden = !(mayManageRequests(debug.role) && live);
  els.end.hidden = !(mayRunSpace(debug.role) && space && space.state !== "ended");
  renderReactions(live, signedIn);
}

export function renderPlay() {
  var space = model.space;
  var replay = space && space.state === "ended" && space.replay_url;
  var canPlay = audio.isListening() || audio.onAir() || Boolean(replay);
  /* One play control: once ended, the replay's own controls (play, seek, time) are the one. */
  var ended = Boolean(space && space.state === "ended");
  els.play.hidden = ended || (debug.hearing === "webrtc" && audio.onAir() && !debug.autoplayBlocked);
  els.play.disabled = !canPlay;
  els.play.textContent = t(debug.playing ? "sp.pause" : "sp.play");
}

function myPath(suffix) { return base + "/stage/" + encodeURIComponent(S.account().handle) + (suffix || ""); }

els.mic.addEventListener("click", async function () {
  var member = myMember();
  if (!member) { return; }
  var muting = !member.muted;
  if (muting) { audio.setMic(false); } /* silent at once, before the server even hears of it */
  if (await run(els.mic, "POST", myPath(muting ? "/mute" : "/unmute"))) {
    member.muted = muting;
    if (!muting) { audio.setMic(true); }
    say(muting ? "sp.me.onStageMuted" : "sp.me.onStageLive");
  }
  renderStage();
  renderMe();
});

els.connect.addEventListener("click", function () { cancel("whip"); syncAudio(); });

els.leave.addEventListener("click", async function () {
  if (await run(els.leave, "DELETE", myPath())) {
    onStageEvent({ handle: S.account().handle, role: null, muted: true });
    say("sp.me.left");
  }
});

els.play.addEventListener("click", function () {
  audio.togglePlay(model.space && model.space.state === "ended" ? model.space.replay_url : null);
});
els.player.addEventListener("playing", renderPlay);
els.player.addEventListener("pause", function () {
  renderPlay();
  /* Paused is paused: the status no longer says "Playing live." (a source being swapped or
     a replay that reached its end is not a pause the person made). */
  if (audio.isListening() && !audio.onAir() && !els.player.ended) {
    say(model.space && model.space.state === "ended" ? "sp.audio.replayPaused" : "sp.audio.paused");
  }
});
