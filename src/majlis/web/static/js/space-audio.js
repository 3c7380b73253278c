/* majlis Space page, the audio: low-latency DASH for listeners (dash.js), native LL-HLS where
   there is no Media Source Extensions (iPhone Safari before ManagedMediaSource), hls.js as the
   fallback; WHIP for people on stage, and the switch between the two without a page reload.

   Why DASH first: a DASH listener asks for each 2 s segment once and receives it as it is
   produced (chunked transfer), ~0.5 requests a second; an LL-HLS one makes ~8 (a blocking
   playlist reload and a part every 0.256 s). Same latency, a sixteenth of the requests at the
   edge (docs/scaling.md). If dash.js fails DASH_MAX_FAILURES times in a row, the page falls back
   to segment-paced HLS with hls.js: seconds of latency, but it plays.

   Why one module owns both paths: the switch must never leave a gap or a double. Going on stage,
   the HLS player keeps playing until the WebRTC connection is up, then stops (what you hear
   becomes the mix-minus from the WHIP answer). Leaving, HLS starts first and the WHIP session is
   closed right after. Everything is reported through `debug` (window.majlis) and status keys the
   page translates; no text is built here.

   A connection that drops while on stage (failed, closed by the other side, disconnected for
   more than DISCONNECTED_GRACE_MS: ICE often recovers a short blip by itself, or silent: no
   packet of the stage's mix for SILENT_MS) is reported as
   onStage("dropped") with the microphone kept, so the page can offer again (a media node that
   died is replaced by another, issue 6) without asking for the microphone a second time.

   `window.MajlisDebug` (for tests and curious people, space-analyser.js): `enable()` routes what
   the page plays through a WebAudio analyser, `tone(hz)` → {db, floor, peakHz} of what is heard
   right now. */
(function () {
  "use strict";

  var C = window.MajlisCommon;
  var ICE_GATHERING_TIMEOUT_MS = 5000;
  var DISCONNECTED_GRACE_MS = 3000;
  /* The server sends the stage's mix every 20 ms, silence included. A connection it closed
     (its node died, or it dropped the session) only turns "disconnected" when ICE consent
     expires, ~8 s later in Chromium: no packet for this long says so sooner. */
  var SILENT_MS = 2500;
  var HLS_MIME = "application/vnd.apple.mpegurl";
  var DASH_MAX_FAILURES = 2;

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

  /* ---- the two paths ------------------------------------------------------------------------- */

  /* opts: {player, remote, debug, raw, status(key, params, isError), onHeard(kind)} */
  function create(opts) {
    var debug = opts.debug;
    var player = opts.player;
    var remote = opts.remote;
    var analyser = window.MajlisAnalyser.make(player);
    var hls = null;
    var dash = null;
    var dashFailures = 0; /* in a row; at DASH_MAX_FAILURES the page falls back to HLS */
    var source = null; /* {url, live} */
    var playerFailures = 0;
    var mediaRecoveries = 0;
    var restartTimer = null;
    var pc = null;
    var mic = null;
    var statsTimer = null;
    var graceTimer = null;
    var inbound = { packets: 0, at: 0 }; /* the last growth of packetsReceived */

    window.MajlisDebug = Object.freeze({ enable: analyser.enable, tone: analyser.tone });

    function heard(kind) {
      debug.hearing = kind;
      if (opts.onHeard) { opts.onHeard(kind); }
    }

    /* -- live over HTTP: DASH, LL-HLS -- */

    function mediaSourceExists() {
      return Boolean(window.ManagedMediaSource || window.MediaSource);
    }

    /* lowLatency false (an operator's cap on the audience, see join's low_latency): whole
       segments over HLS, seconds of latency. dashUrl: the same audio as low-latency DASH. */
    function listen(url, live, lowLatency, dashUrl) {
      stopListening();
      var ll = live && lowLatency !== false;
      source = { url: url, live: live, lowLatency: ll, dashUrl: live && ll ? dashUrl : null };
      debug.lowLatency = ll;
      var Hls = window.Hls;
      player.controls = !live; /* the replay can be sought; live audio has our Play button */
      if (source.dashUrl && window.dashjs && mediaSourceExists() && dashFailures < DASH_MAX_FAILURES) {
        startDash(source.dashUrl);
      } else if (player.canPlayType(HLS_MIME) && !(Hls && Hls.isSupported())) {
        debug.player = "native"; /* Safari, iOS: no MSE but (LL-)HLS built in */
        player.src = url;
        if (live) { tryPlay(); }
      } else if (Hls && Hls.isSupported()) {
        debug.player = "hls.js";
        /* After DASH failed: segment-paced, the path with the fewest moving parts. */
        var llHls = ll && dashFailures < DASH_MAX_FAILURES;
        debug.lowLatency = llHls;
        var config = { lowLatencyMode: llHls, backBufferLength: 30 };
        if (llHls) { config.maxLiveSyncPlaybackRate = 1.25; } /* catch up gently after a stall */
        hls = new Hls(config);
        hls.on(Hls.Events.ERROR, onHlsError);
        hls.on(Hls.Events.MANIFEST_PARSED, function () { if (live) { tryPlay(); } });
        hls.on(Hls.Events.FRAG_BUFFERED, function () { playerFailures = 0; });
        hls.loadSource(url);
        hls.attachMedia(player);
      } else {
        debug.player = "none";
        opts.status("sp.err.noHls", null, true);
        return false;
      }
      return true;
    }

    function startDash(url) {
      debug.player = "dash.js";
      var events = window.dashjs.MediaPlayer.events;
      dash = window.dashjs.MediaPlayer().create();
      /* The MPD's ServiceDescription sets the latency target (1.2 s) and the catch-up rate
         (±4 %); dash.js switches to low-latency mode by itself (availabilityTimeComplete). */
      dash.updateSettings({
        debug: { logLevel: window.dashjs.Debug.LOG_LEVEL_NONE },
        streaming: {
          liveCatchup: { enabled: true },
          buffer: { bufferTimeAtTopQuality: 6, bufferToKeep: 10 },
        },
      });
      dash.on(events.ERROR, onDashError);
      dash.on(events.STREAM_INITIALIZED, function () { tryPlay(); });
      dash.on(events.FRAGMENT_LOADING_COMPLETED, function () { playerFailures = 0; dashFailures = 0; });
      /* autoPlay off: we start playback ourselves (tryPlay), so that a browser which refuses
         autoplay is asked through our Play button, never through the element's own autoplay. */
      dash.initialize(player, url, false);
    }

    function onDashError(event) {
      var error = event && event.error;
      if (debug.dashErrors.length < 50) {
        debug.dashErrors.push({ code: error && error.code, message: String((error && error.message) || "") });
      }
      /* dash.js reports only errors it could not get past (it retries segments by itself). */
      dashFailures += 1;
      restart();
    }

    /* How far behind live the listener is, in seconds (for the debug panel and tests). */
    function liveLatency() {
      if (dash && typeof dash.getCurrentLiveLatency === "function") {
        return dash.getCurrentLiveLatency();
      }
      if (hls && typeof hls.latency === "number") { return hls.latency; }
      return null;
    }

    /* The Representation dash.js plays: the MPD offers Opus (preferred, selectionPriority)
       and AAC, and dash.js drops what MediaSource.isTypeSupported refuses. */
    function dashRepresentation() {
      try {
        var r = dash.getCurrentRepresentationForType("audio");
        return r ? { id: r.id, codecs: r.codecs, bandwidth: r.bandwidth } : null;
      } catch (e) { return null; } /* its stream is not initialised yet */
    }

    function stopListening() {
      clearTimeout(restartTimer);
      debug.dashRepresentation = null;
      if (dash) {
        dash.destroy(); /* also detaches the element (it empties src) */
        dash = null;
      } else if (hls) {
        hls.destroy();
        hls = null;
      } else if (player.getAttribute("src")) {
        player.removeAttribute("src");
        player.load();
      }
      source = null;
      debug.playing = false;
    }

    function restart() {
      if (!source || !source.live) { return; }
      playerFailures += 1;
      debug.playerRestarts += 1;
      var seconds = C.backoff(playerFailures, 2, 30);
      var src = source;
      stopListening();
      source = src;
      opts.status("sp.audio.retry", { s: Math.ceil(seconds) }, false);
      restartTimer = setTimeout(function () {
        if (source === src) { listen(src.url, true, src.lowLatency, src.dashUrl); }
      }, seconds * 1000);
    }

    function onHlsError(_event, data) {
      if (debug.hlsErrors.length < 50) {
        debug.hlsErrors.push({ type: data.type, details: data.details, fatal: Boolean(data.fatal) });
      }
      if (!data.fatal) { return; }
      if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR && mediaRecoveries < 3) {
        mediaRecoveries += 1;
        hls.recoverMediaError();
        return;
      }
      restart();
    }

    player.addEventListener("error", function () {
      if (debug.player === "native") { restart(); }
    });
    player.addEventListener("playing", function () {
      debug.playing = true;
      debug.autoplayBlocked = false;
      if (!pc || debug.connectionState !== "connected") { heard(source && source.live ? "hls" : "replay"); }
    });
    player.addEventListener("pause", function () { debug.playing = false; });
    player.addEventListener("timeupdate", function () {
      debug.currentTime = player.currentTime;
      debug.liveLatency = source && source.live ? liveLatency() : null;
      if (dash) { debug.dashRepresentation = dashRepresentation(); }
    });

    function tryPlay() {
      var p = player.play();
      if (p && typeof p.then === "function") {
        p.catch(function (err) {
          if (err && err.name === "NotAllowedError") {
            debug.autoplayBlocked = true;
            opts.status("sp.audio.pressPlay", null, false);
          }
          /* AbortError: the source changed meanwhile; the new one plays by itself. */
        });
      }
    }

    /* The Play/Pause button: play the replay on request, or come back to the live edge. */
    function togglePlay(replayUrl) {
      if (pc && remote.srcObject && (remote.paused || debug.autoplayBlocked)) {
        playRemote();
        return;
      }
      if (!player.paused) {
        player.pause();
        return;
      }
      if (!source && replayUrl) {
        listen(replayUrl, false);
        tryPlay();
        return;
      }
      if (dash) {
        /* dash.js keeps to live by itself (its catch-up, and a seek when far behind). */
      } else if (hls && source && source.live && typeof hls.liveSyncPosition === "number" &&
          isFinite(hls.liveSyncPosition)) {
        player.currentTime = hls.liveSyncPosition;
      }
      tryPlay();
    }

    /* -- WHIP -- */

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
          stopListening();
          heard("webrtc");
          opts.onStage("connected");
        } else if (s === "failed" || s === "closed") {
          dropped(conn);
        }
      });
      conn.addEventListener("track", function (event) {
        debug.remoteTracks += 1;
        var stream = event.streams && event.streams[0] ? event.streams[0] : new MediaStream([event.track]);
        remote.srcObject = stream;
        analyser.attach(stream);
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
      opts.onStage("dropped");
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
    async function hangUp(token) {
      var url = debug.sessionUrl;
      debug.sessionUrl = null;
      teardown();
      if (url) {
        try {
          await fetch(url, { method: "DELETE", headers: { Authorization: "Bearer " + token } });
        } catch (e) { /* the server also drops a session whose connection went away */ }
      }
    }

    function setMic(enabled) {
      var track = mic && mic.getAudioTracks()[0];
      if (track) { track.enabled = enabled; }
    }

    window.addEventListener("pagehide", function () {
      if (debug.sessionUrl && opts.token()) {
        fetch(debug.sessionUrl, { method: "DELETE", headers: { Authorization: "Bearer " + opts.token() }, keepalive: true });
      }
    });

    return {
      listen: listen,
      stopListening: stopListening,
      togglePlay: togglePlay,
      tryPlay: tryPlay,
      isListening: function () { return Boolean(source); },
      liveLatency: liveLatency,
      speak: speak,
      hangUp: hangUp,
      onAir: function () { return Boolean(pc); },
      setMic: setMic,
    };
  }

  window.MajlisSpaceAudio = Object.freeze({ create: create });
})();
