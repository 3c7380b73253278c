// The hls.js or dash.js listener of bench/media_latency.py: plays the Space, finds beep onsets,
// and samples what the player says about its own latency. Loaded by bench/medialib/browser.py.
"use strict";

const ONSET_RMS = 0.05;   // same thresholds as medialib/beeps.py
const QUIET_MS = 20;
const PITCH_SAMPLES = 960;
const POLL_MS = 5;

window.bench = { onsets: [], stats: [], errors: [], events: [], started: null };

function pitchHz(buf, from, to, rate) {
  let crossings = 0;
  for (let i = from + 1; i < to; i++) {
    if ((buf[i] < 0) !== (buf[i - 1] < 0)) crossings++;
  }
  return crossings / 2 / ((to - from) / rate);
}

// Scans the analyser's window (the newest fftSize samples rendered) for rising edges after
// QUIET_MS of quiet. An onset is dated by its position in the window: the window's last
// sample was rendered "now", so a sample k samples earlier was rendered k / rate earlier.
function scan(buf, rate, now) {
  const blk = Math.round(rate / 1000);
  const blocks = Math.floor(buf.length / blk);
  let quiet = 0;
  for (let b = 0; b < blocks; b++) {
    let sum = 0;
    for (let i = b * blk; i < (b + 1) * blk; i++) sum += buf[i] * buf[i];
    if (Math.sqrt(sum / blk) <= ONSET_RMS) { quiet++; continue; }
    if (quiet >= QUIET_MS) {
      let start = b * blk;
      while (Math.abs(buf[start]) <= ONSET_RMS) start++;
      const from = start + blk, to = from + PITCH_SAMPLES;
      if (to <= buf.length) {
        const at = now - ((buf.length - start) / rate) * 1000;
        const seen = window.bench.onsets.slice(-4).some((o) => Math.abs(o.at - at) < 300);
        if (!seen) window.bench.onsets.push({ at, freq: pitchHz(buf, from, to, rate) });
      }
    }
    quiet = 0;
  }
}

function sample(hls, audio, ctx) {
  const b = audio.buffered;
  window.bench.stats.push({
    at: Date.now(),
    latency: hls.latency,
    targetLatency: hls.targetLatency,
    liveSyncPosition: hls.liveSyncPosition,
    currentTime: audio.currentTime,
    bufferedEnd: b.length ? b.end(b.length - 1) : null,
    playingDate: hls.playingDate ? hls.playingDate.getTime() : null,
    playbackRate: audio.playbackRate,
    drift: hls.drift,
    baseLatency: ctx.baseLatency,
    outputLatency: ctx.outputLatency,
    contextState: ctx.state,
    paused: audio.paused,
  });
}

// The analyser, the stall events and the onset scan both players share.
function listenTo(audio) {
  for (const name of ["waiting", "stalled", "playing"]) {
    audio.addEventListener(name, () => window.bench.events.push({ at: Date.now(), name }));
  }
  const ctx = new AudioContext({ latencyHint: "interactive" });
  const source = ctx.createMediaElementSource(audio);
  const analyser = ctx.createAnalyser();
  analyser.fftSize = 8192;
  source.connect(analyser);
  analyser.connect(ctx.destination);
  const buf = new Float32Array(analyser.fftSize);
  const scanning = () => {
    analyser.getFloatTimeDomainData(buf);
    scan(buf, ctx.sampleRate, Date.now());
  };
  return { ctx, scanning };
}

// dash.js as the majlis web client runs it (space-audio.js): low-latency mode from the MPD
// (availabilityTimeComplete="false"), its latency target and catch-up from the
// ServiceDescription, started by us rather than by autoplay.
async function startDash(url, config) {
  const audio = document.getElementById("player");
  const player = dashjs.MediaPlayer().create();
  window.dash = player;
  player.updateSettings({
    debug: { logLevel: dashjs.Debug.LOG_LEVEL_NONE },
    streaming: { liveCatchup: { enabled: true }, ...config },
  });
  const events = dashjs.MediaPlayer.events;
  player.on(events.ERROR, (e) =>
    window.bench.errors.push({ at: Date.now(), type: "dash", details: String(e.error && e.error.message), fatal: true }));
  const { ctx, scanning } = listenTo(audio);
  const initialized = new Promise((resolve) => player.on(events.STREAM_INITIALIZED, resolve));
  player.initialize(audio, url, false);
  await initialized;
  await ctx.resume();
  await audio.play();
  window.bench.started = Date.now();
  setInterval(scanning, POLL_MS);
  setInterval(() => {
    const b = audio.buffered;
    window.bench.stats.push({
      at: Date.now(),
      latency: player.getCurrentLiveLatency(),
      targetLatency: player.getTargetLiveDelay ? player.getTargetLiveDelay() : null,
      liveSyncPosition: null,
      currentTime: audio.currentTime,
      bufferedEnd: b.length ? b.end(b.length - 1) : null,
      playingDate: null,
      playbackRate: audio.playbackRate,
      drift: null,
      baseLatency: ctx.baseLatency,
      outputLatency: ctx.outputLatency,
      contextState: ctx.state,
      paused: audio.paused,
    });
  }, 1000);
  return { dashVersion: player.getVersion(), sampleRate: ctx.sampleRate };
}
window.startDash = startDash;

async function start(url, config) {
  const audio = document.getElementById("player");
  const hls = new Hls(config);
  window.hls = hls;
  hls.on(Hls.Events.ERROR, (_e, d) =>
    window.bench.errors.push({ at: Date.now(), type: d.type, details: d.details, fatal: d.fatal }));
  const { ctx, scanning } = listenTo(audio);
  hls.attachMedia(audio);
  hls.on(Hls.Events.MEDIA_ATTACHED, () => hls.loadSource(url));
  await new Promise((resolve) => hls.once(Hls.Events.MANIFEST_PARSED, resolve));
  await ctx.resume();
  await audio.play();
  window.bench.started = Date.now();
  setInterval(scanning, POLL_MS);
  setInterval(() => sample(hls, audio, ctx), 1000);
  return { hlsVersion: Hls.version, sampleRate: ctx.sampleRate };
}
window.start = start;
