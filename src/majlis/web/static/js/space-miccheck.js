/* majlis Space page, the mic check: while a stage member is muted, a level meter of their own
   microphone, so a host who goes live (muted, from the new-Space page or Start) sees that the
   microphone works before saying a word. It reads a local copy of the track, enabled, while the
   track sent to the stage stays disabled: muted is muted, nothing leaves the browser. */
import { audio } from "./space-onstage.js";
import { debug, els, myMember } from "./space-state.js";

var meter = null;

function start(track) {
  var Ctx = window.AudioContext || window.webkitAudioContext;
  if (!Ctx) { return; }
  var copy = track.clone();
  copy.enabled = true;
  var ctx = new Ctx();
  var analyser = ctx.createAnalyser();
  analyser.fftSize = 1024;
  ctx.createMediaStreamSource(new MediaStream([copy])).connect(analyser);
  meter = { ctx: ctx, copy: copy, analyser: analyser, data: new Float32Array(analyser.fftSize) };
  meter.timer = setInterval(tick, 100);
  /* A context made without a gesture may start suspended: the next click wakes it. */
  document.addEventListener("click", resume, { once: true });
}

function resume() { if (meter && meter.ctx.state === "suspended") { meter.ctx.resume(); } }

function tick() {
  meter.analyser.getFloatTimeDomainData(meter.data);
  var sum = 0;
  for (var i = 0; i < meter.data.length; i++) { sum += meter.data[i] * meter.data[i]; }
  var rms = Math.sqrt(sum / meter.data.length);
  debug.micLevel = rms;
  els.micLevel.value = Math.min(1, rms * 6); /* speech sits around 0.02-0.15 RMS */
}

function stop() {
  clearInterval(meter.timer);
  meter.copy.stop();
  meter.ctx.close();
  meter = null;
  debug.micLevel = null;
}

export function renderMicCheck() {
  var member = myMember();
  var track = audio.micTrack();
  var show = Boolean(member && member.muted && track && audio.onAir() &&
    debug.connectionState === "connected");
  els.micCheck.hidden = !show;
  if (show && !meter) { start(track); }
  if (!show && meter) { stop(); }
}
