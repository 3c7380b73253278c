/* The embed player (/embed/spaces/{id}, /embed/clips/{id}): one play control in a small card
   that a news page frames. A clip plays its .m4a; a live Space joins (counted like any
   listener, with heartbeats) and plays through the Space page's own player (space-player.js:
   low-latency DASH, LL-HLS, hls.js); an ended Space plays its replay; a scheduled one says when.
   Calm under load like the Space page: a 503 or 429 waits Retry-After before trying again. */
import "./strings/clip.js";
import * as C from "./common.js";
import * as I18N from "./i18n.js";
import { createPlayer } from "./space-player.js";

var root = document.querySelector(".embed");
var audio = document.getElementById("embed-audio");
var button = document.getElementById("embed-play");
var debug = { page: "embed", loaded: false, playing: false, player: null, joined: false };
window.majlis = debug;
var space = null;
var joined = null;
var player = null;
var heartbeatTimer = null;

function status(key, params, isError) {
  var line = document.getElementById("embed-status");
  line.textContent = key ? I18N.t(key, params) : "";
  line.classList.toggle("error", Boolean(isError));
}

function showState(state) {
  var badge = document.getElementById("embed-state");
  var key = { live: "embed.live", scheduled: "embed.scheduled", ended: "embed.replay", clip: "clip.badge" }[state];
  badge.textContent = key ? I18N.t(key) : "";
  badge.className = "badge" + (state === "live" ? " badge-live" : state === "scheduled" ? " badge-scheduled" : "");
}

function showPlaying() {
  debug.playing = !audio.paused;
  button.classList.toggle("is-playing", !audio.paused);
  button.setAttribute("aria-label", I18N.t(audio.paused ? "embed.play" : "embed.pause"));
}

async function loadSpace() {
  var resp;
  try {
    resp = await fetch("/api/v1/spaces/" + encodeURIComponent(root.getAttribute("data-id")), { headers: { Accept: "application/json" } });
  } catch (e) {
    status("embed.offline", null, true);
    return;
  }
  if (!resp.ok) { status(null); document.getElementById("embed-status").textContent = await C.problemDetail(resp); return; }
  space = await resp.json();
  showState(space.state);
  if (space.state === "scheduled" && space.scheduled_start) {
    status("embed.startsAt", { when: I18N.date(space.scheduled_start) });
  }
  button.disabled = !(space.state === "live" || space.replay_url);
  if (space.state === "ended" && !space.replay_url) { status("embed.noReplay"); }
}

async function join() {
  var resp;
  try {
    resp = await fetch("/api/v1/spaces/" + encodeURIComponent(space.id) + "/join", { method: "POST", headers: { Accept: "application/json" } });
  } catch (e) {
    status("embed.offline", null, true);
    return null;
  }
  if (resp.status === 503 || resp.status === 429) {
    status("embed.busy");
    await new Promise(function (done) { setTimeout(done, 1000 * C.jitter(C.retryAfterSeconds(resp, 5))); });
    return join();
  }
  if (!resp.ok) { document.getElementById("embed-status").textContent = await C.problemDetail(resp); return null; }
  status(null);
  joined = await resp.json();
  debug.joined = true;
  var every = Math.max(1, Number(joined.heartbeat_interval_s) || 30) * 1000;
  heartbeatTimer = setInterval(function () { fetch(joined.heartbeat_url, { method: "POST" }).catch(function () {}); }, every);
  return joined;
}

async function play() {
  if (root.getAttribute("data-kind") === "clip") {
    if (!audio.getAttribute("src")) { audio.src = root.getAttribute("data-audio"); }
    if (audio.paused) { audio.play().catch(function () {}); } else { audio.pause(); }
    return;
  }
  if (!space) { return; }
  if (!player) {
    player = createPlayer({ player: audio, debug: debug, status: status, heard: function () {}, stageConnected: function () { return false; } });
  }
  if (player.isListening()) {
    if (audio.paused) { player.tryPlay(); } else { audio.pause(); }
    return;
  }
  if (space.state === "live") {
    var got = joined || await join();
    if (!got) { return; }
    player.listen(got.hls_url, true, got.low_latency, got.dash_url);
    player.tryPlay();
  } else if (space.replay_url) {
    player.listen(space.replay_url, false);
    player.tryPlay();
  }
}

document.addEventListener("DOMContentLoaded", async function () {
  ["play", "pause", "playing", "ended"].forEach(function (name) { audio.addEventListener(name, showPlaying); });
  button.addEventListener("click", play);
  if (root.getAttribute("data-kind") === "clip") {
    showState("clip");
  } else {
    await loadSpace();
  }
  window.addEventListener("pagehide", function () { if (heartbeatTimer) { clearInterval(heartbeatTimer); } });
  debug.loaded = true;
});
