/* majlis Space page, speaking: the microphone over WHIP (WebRTC), and what the stage sends back,
   the mix-minus of the others.

   A connection that drops while on stage (failed, closed by the other side, disconnected for
   more than DISCONNECTED_GRACE_MS: ICE often recovers a short blip by itself, or silent: no
   packet of the stage's mix for SILENT_MS) is reported as dropped() with the microphone kept,
   so the page can offer again (a media node that died is replaced by another, issue 6) without
   asking for the microphone a second time. */
import * as C from "./common.js";

var ICE_GATHERING_TIMEOUT_MS = 5000;
var DISCONNECTED_GRACE_MS = 3000;
/* The server sends the stage's mix every 20 ms, silence included. A connection it closed
   (its node died, or it dropped the session) only turns "disconnected" when ICE consent
   expires, ~8 s later in Chromium: no packet for this long says so sooner. */
var SILENT_MS = 2500;

function micProblem(e) {
  var name = e && e.name;
  if (name === "NotAllowedError" || name === "SecurityError") { return "sp.mic.denied"; }
  if (name === "NotFoundError" || name === "OverconstrainedError") { return "sp.mic.none"; }
  if (name === "NotReadableError") { return "sp.mic.busy"; }
  return "sp.mic.other";
}

function iceGathered(conn, timeoutMs) {
  if (conn.iceGatheringState === "complete") { return Promise.resolve(); }
  return new Promise(function (resolve) {
    var timer = setTimeout(done, timeoutMs);
    function check() { if (conn.iceGatheringState === "complete") { done(); } }
    function done() {
      clearTimeout(timer);
      conn.removeEventListener("icegatheringstatechange", check);
      resolve();
    }
    conn.addEventListener("icegatheringstatechange", check);
  });
}

/* opts: {remote, debug, raw, token(), status(key, params, isError), connected(), dropped(),
   attach(stream)} */
export function createStage(opts) {
  var debug = opts.debug;
  var remote = opts.remote;
  var pc = null;
  var mic = null;
  var statsTimer = null;
  var graceTimer = null;
  var inbound = { packets: 0, at: 0 }; /* the last growth of packetsReceived */

  function watch(conn) {
    conn.addEventListener("connectionstatechange", function () {
      if (conn !== pc) { return; }
      var s = conn.connectionState;
      debug.connectionState = s;
      clearTimeout(graceTimer);
      if (s === "disconnected") {
        graceTimer = setTimeout(function () { dropped(conn); }, DISCONNECTED_GRACE_MS);
      } else if (s === "connected") {
        /* The mix-minus flows now: the HLS copy (a second behind) would be an echo. */
        opts.connected();
      } else if (s === "failed" || s === "closed") {
        dropped(conn);
      }
    });
    conn.addEventListener("track", function (event) {
      debug.remoteTracks += 1;
      var stream = event.streams && event.streams[0] ? event.streams[0] : new MediaStream([event.track]);
      remote.srcObject = stream;
      opts.attach(stream);
      playRemote();
    });
  }

  /* The connection went away without us hanging up: forget it (and its session, which the
     server may still hold until it notices), keep the microphone, tell the page. */
  function dropped(conn) {
    if (conn !== pc) { return; }
    var url = debug.sessionUrl;
    debug.sessionUrl = null;
    teardown(true);
    if (url && opts.token()) {
      fetch(url, { method: "DELETE", headers: { Authorization: "Bearer " + opts.token() } })
        .catch(function () { /* a dead node: nothing left to hang up */ });
    }
    opts.dropped();
  }

  /* The stage's audio. Without a gesture on this page (e.g. a speaker reloading it) the browser
     may refuse to play sound: then the Play button (togglePlay) starts it. */
  function playRemote() {
    var p = remote.play();
    if (p && typeof p.then === "function") {
      p.then(function () { debug.autoplayBlocked = false; }, function (err) {
        if (err && err.name === "NotAllowedError") {
          debug.autoplayBlocked = true;
          opts.status("sp.audio.pressPlay", null, false);
        }
      });
    }
  }

  async function pollStats() {
    var conn = pc;
    if (!conn) { return; }
    try {
      var report = await conn.getStats();
      var sent = 0;
      var received = 0;
      var samples = 0;
      report.forEach(function (s) {
        if ((s.kind || s.mediaType) !== "audio") { return; }
        if (s.type === "outbound-rtp") { sent += s.packetsSent || 0; }
        if (s.type === "inbound-rtp") {
          received += s.packetsReceived || 0;
          samples += s.totalSamplesReceived || 0;
        }
      });
      if (conn === pc) {
        debug.packetsSent = sent;
        debug.packetsReceived = received;
        debug.totalSamplesReceived = samples;
        stalled(conn, received);
      }
    } catch (e) { /* closed meanwhile */ }
  }

  function stalled(conn, packets) {
    var now = Date.now();
    if (packets > inbound.packets) {
      inbound = { packets: packets, at: now };
    } else if (packets > 0 && conn.connectionState === "connected" && now - inbound.at > SILENT_MS) {
      dropped(conn);
    }
  }

  /* Connects the microphone over WHIP. Resolves {ok} or {ok: false, status, detail, retryAfterS}. */
  async function speak(whipUrl, token, muted) {
    if (pc) { return { ok: true }; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia || !window.RTCPeerConnection) {
      return { ok: false, key: "sp.err.secure" };
    }
    var processing = !opts.raw;
    var constraints = { echoCancellation: processing, noiseSuppression: processing, autoGainControl: processing };
    debug.constraints = constraints;
    var kept = mic && mic.getAudioTracks()[0];
    if (!kept || kept.readyState !== "live") { /* a reconnect reuses the microphone it holds */
      try {
        mic = await navigator.mediaDevices.getUserMedia({ audio: constraints, video: false });
      } catch (e) {
        mic = null;
        return { ok: false, key: micProblem(e) };
      }
    }
    var track = mic.getAudioTracks()[0];
    track.enabled = !muted;
    var conn = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
    pc = conn;
    inbound = { packets: 0, at: Date.now() };
    debug.connectionState = "new";
    watch(conn);
    try {
      conn.addTransceiver(track, { direction: "sendrecv", streams: [mic] });
      await conn.setLocalDescription(await conn.createOffer());
      await iceGathered(conn, ICE_GATHERING_TIMEOUT_MS);
      if (conn !== pc) { return { ok: false }; }
      var resp = await fetch(whipUrl, {
        method: "POST",
        headers: { Authorization: "Bearer " + token, "Content-Type": "application/sdp", Accept: "application/sdp" },
        body: conn.localDescription.sdp,
      });
      debug.whipStatus = resp.status;
      if (!resp.ok) {
        var failure = {
          ok: false,
          status: resp.status,
          detail: await C.problemDetail(resp),
          retryAfterS: resp.status === 503 || resp.status === 429 ? C.retryAfterSeconds(resp, 5) : null,
        };
        teardown(true);
        return failure;
      }
      var where = resp.headers.get("Location");
      /* Relative to where the offer landed: a 307 may have taken it to the Space's media node. */
      debug.sessionUrl = where ? new URL(where, resp.url || new URL(whipUrl, window.location.href)).href : null;
      var answer = await resp.text();
      if (conn !== pc) { return { ok: false }; }
      await conn.setRemoteDescription({ type: "answer", sdp: answer });
      if (!statsTimer) { statsTimer = setInterval(pollStats, 1000); }
      return { ok: true };
    } catch (e) {
      teardown(true);
      return { ok: false, key: "sp.err.connect", detail: (e && e.message) || String(e) };
    }
  }

  /* keepMic: the page may offer again soon (a reconnect, a Retry-After); hangUp releases it. */
  function teardown(keepMic) {
    clearTimeout(graceTimer);
    if (statsTimer) {
      clearInterval(statsTimer);
      statsTimer = null;
    }
    var conn = pc;
    pc = null;
    if (conn) { conn.close(); }
    if (mic && !keepMic) {
      mic.getTracks().forEach(function (t) { t.stop(); });
      mic = null;
    }
    remote.srcObject = null;
    if (conn) { debug.connectionState = "closed"; }
  }

  /* Leaves the WebRTC path (DELETE the WHIP session; the server may have closed it already). */
  /* Hangs up; serverEnded: the Space ended and the server closed every session itself, so
     a DELETE would only meet a 404 (a console error at every end). */
  async function hangUp(token, serverEnded) {
    var url = debug.sessionUrl;
    debug.sessionUrl = null;
    teardown();
    if (url && !serverEnded) {
      try {
        await fetch(url, { method: "DELETE", headers: { Authorization: "Bearer " + token } });
      } catch (e) { /* the server also drops a session whose connection went away */ }
    }
  }

  function setMic(enabled) {
    var track = mic && mic.getAudioTracks()[0];
    if (track) { track.enabled = enabled; }
  }

  /* The Play button while on stage: the stage's audio, if the browser has not started it. */
  function resume() {
    if (!(pc && remote.srcObject && (remote.paused || debug.autoplayBlocked))) { return false; }
    playRemote();
    return true;
  }

  return {
    speak: speak,
    hangUp: hangUp,
    setMic: setMic,
    resume: resume,
    onAir: function () { return Boolean(pc); },
    /* The microphone's track while it is held (the mic check reads a copy of it). */
    micTrack: function () { return mic ? mic.getAudioTracks()[0] || null : null; },
    /* The server said the connection is gone (its room moved): as if it had dropped. */
    drop: function () { if (pc) { dropped(pc); } },
  };
}
