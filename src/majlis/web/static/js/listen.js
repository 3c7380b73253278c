/* majlis listen page: join a live Space, play its LL-HLS audio, keep counted, show the stage.

   The server may shed load on join (503 + Retry-After): we wait Retry-After times a random
   0.5-1.5 and try again, so a crowd spreads out instead of retrying in lockstep. Every retry in
   this file waits; nothing loops tightly. `window.majlis` mirrors the page's state for tests and
   for anyone debugging from the console. */
(function () {
  "use strict";

  var C = window.MajlisCommon;
  var app = document.getElementById("app");
  var spaceId = app.getAttribute("data-space-id");
  var apiBase = "/api/v1/spaces/" + encodeURIComponent(spaceId);
  var els = {
    title: document.getElementById("title"),
    state: document.getElementById("state"),
    status: document.getElementById("status"),
    play: document.getElementById("play"),
    player: document.getElementById("player"),
    stage: document.getElementById("stage"),
    listeners: document.getElementById("listeners"),
  };

  var debug = {
    page: "listen",
    spaceId: spaceId,
    state: app.getAttribute("data-state"),
    phase: "loading",
    message: "",
    listenerId: null,
    joinAttempts: 0,
    joinStatuses: [],
    retryInS: null,
    heartbeats: 0,
    heartbeatFailures: 0,
    snapshots: 0,
    listenerCount: null,
    stage: [],
    speaking: [],
    player: null,
    playing: false,
    autoplayBlocked: false,
    playerRestarts: 0,
    hlsErrors: [],
  };
  window.majlis = debug;

  var session = null; /* the join answer while we are a counted listener */
  var timers = {};
  var hls = null;
  var source = null; /* {url, live} being played, or offered (the replay) */
  var playerFailures = 0;
  var mediaRecoveries = 0;

  function later(name, seconds, fn) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, Math.max(0, seconds) * 1000);
  }

  function cancel(name) {
    clearTimeout(timers[name]);
    delete timers[name];
  }

  function setPhase(phase, message, isError) {
    debug.phase = phase;
    app.setAttribute("data-phase", phase);
    if (message !== undefined) {
      debug.message = message;
      els.status.textContent = message;
      els.status.classList.toggle("error", Boolean(isError));
    }
  }

  function setState(state) {
    debug.state = state;
    app.setAttribute("data-state", state);
    C.showState(els.state, state);
  }

  function showCount(n) {
    if (typeof n !== "number") { return; }
    debug.listenerCount = n;
    els.listeners.textContent = n.toLocaleString("en");
  }

  function showStage(stage, speaking) {
    debug.stage = (stage || []).map(function (m) { return m.handle; });
    debug.speaking = speaking || [];
    C.renderStage(els.stage, stage, speaking);
  }

  function showSpace(space) {
    els.title.textContent = space.title;
    document.title = space.title + " \u00b7 majlis";
    setState(space.state);
    showStage(space.stage, []);
    showCount(space.listener_count);
  }

  /* ---- the Space and joining it ------------------------------------------------------------ */

  async function loadSpace(attempt) {
    var resp;
    try {
      resp = await fetch(apiBase, { headers: { Accept: "application/json" }, cache: "no-cache" });
    } catch (e) {
      return waitThen("offline", "Cannot reach the server.", C.backoff(attempt, 2, 60),
        function () { loadSpace(attempt + 1); });
    }
    if (resp.status === 404) {
      return setPhase("gone", await C.problemDetail(resp), true);
    }
    if (!resp.ok) {
      var wait = resp.status === 429 || resp.status === 503
        ? C.jitter(C.retryAfterSeconds(resp, 5)) : C.backoff(attempt, 2, 60);
      return waitThen("offline", await C.problemDetail(resp), wait,
        function () { loadSpace(attempt + 1); });
    }
    var space = await resp.json();
    showSpace(space);
    if (space.state === "live") {
      join(1);
    } else if (space.state === "scheduled") {
      var when = space.scheduled_start ? new Date(space.scheduled_start) : null;
      setPhase("scheduled", "This Space has not started yet" +
        (when && !isNaN(when.getTime()) ? " (scheduled for " + when.toLocaleString() + ")" : "") +
        ". It will play here when it goes live.");
      later("retry", C.jitter(15), function () { loadSpace(1); });
    } else {
      ended(space);
    }
  }

  function waitThen(phase, why, seconds, fn) {
    debug.retryInS = seconds;
    setPhase(phase, why + " Trying again in " + Math.ceil(seconds) + " s\u2026", phase !== "waiting");
    later("retry", seconds, function () {
      debug.retryInS = null;
      fn();
    });
  }

  async function join(attempt) {
    debug.joinAttempts += 1;
    setPhase("joining", "Joining\u2026");
    var resp;
    try {
      resp = await fetch(apiBase + "/join", { method: "POST", headers: { Accept: "application/json" } });
    } catch (e) {
      debug.joinStatuses.push(0);
      return waitThen("offline", "Cannot reach the server.", C.backoff(attempt, 2, 60),
        function () { join(attempt + 1); });
    }
    debug.joinStatuses.push(resp.status);
    if (resp.ok) {
      session = await resp.json();
      debug.listenerId = session.listener_id || null;
      return startListening();
    }
    var detail = await C.problemDetail(resp);
    if (resp.status === 503 || resp.status === 429) {
      return waitThen("waiting", "Many people are joining right now; you are in line.",
        C.jitter(C.retryAfterSeconds(resp, 5)), function () { join(attempt + 1); });
    }
    if (resp.status === 409) {
      /* Not live: not started yet, or just ended. Look again, calmly. */
      setPhase("joining", detail);
      return later("retry", C.jitter(3), function () { loadSpace(1); });
    }
    if (resp.status === 403 || resp.status === 404) {
      return setPhase("refused", detail, true);
    }
    return waitThen("offline", detail + ".", C.backoff(attempt, 2, 60),
      function () { join(attempt + 1); });
  }

  function startListening() {
    setPhase("listening", "Connecting to the live audio\u2026");
    scheduleHeartbeat();
    later("snapshot", 0, pollSnapshot);
    startPlayer({ url: session.hls_url, live: true });
  }

  function stopListening() {
    session = null;
    cancel("heartbeat");
    cancel("snapshot");
    stopPlayer();
  }

  function ended(space) {
    stopListening();
    setState("ended");
    if (space && space.replay_url) {
      source = { url: space.replay_url, live: false };
      els.play.disabled = false;
      setPhase("ended", "This Space has ended. Press Play to hear the replay.");
    } else {
      els.play.disabled = true;
      setPhase("ended", "This Space has ended.");
    }
  }

  /* ---- staying counted, and the live state ----------------------------------------------- */

  function scheduleHeartbeat() {
    if (!session) { return; }
    var interval = Math.max(1, Number(session.heartbeat_interval_s) || 30);
    later("heartbeat", interval, heartbeat);
  }

  async function heartbeat() {
    var current = session;
    if (!current) { return; }
    var resp = null;
    try {
      resp = await fetch(current.heartbeat_url, { method: "POST" });
    } catch (e) { /* offline for a moment: the next beat may get through */ }
    if (current !== session) { return; }
    if (resp && resp.ok) {
      debug.heartbeats += 1;
    } else {
      debug.heartbeatFailures += 1;
      if (resp && resp.status === 404) {
        /* This listener id is not (any longer) known: join afresh. */
        stopListening();
        return later("retry", C.jitter(2), function () { join(1); });
      }
      if (resp && resp.status === 409) {
        stopListening();
        return loadSpace(1);
      }
    }
    scheduleHeartbeat();
  }

  async function pollSnapshot() {
    var current = session;
    if (!current) { return; }
    try {
      var resp = await fetch(current.snapshot_url, { headers: { Accept: "application/json" } });
      if (current !== session) { return; }
      if (resp.ok) {
        var snap = await resp.json();
        debug.snapshots += 1;
        showStage(snap.stage, snap.speaking);
        showCount(snap.listener_count);
        if (snap.state !== "live") {
          stopListening();
          return loadSpace(1);
        }
        setState(snap.state);
      } else if (resp.status === 404) {
        stopListening();
        return loadSpace(1);
      }
    } catch (e) { /* try again at the next tick */ }
    if (current === session) {
      later("snapshot", document.hidden ? 10 : 2, pollSnapshot);
    }
  }

  /* ---- the player ------------------------------------------------------------------------- */

  function startPlayer(src) {
    stopPlayer();
    source = src;
    var audio = els.player;
    var Hls = window.Hls;
    if (Hls && Hls.isSupported()) {
      debug.player = "hls.js";
      hls = new Hls({ lowLatencyMode: src.live, backBufferLength: 30 });
      hls.on(Hls.Events.ERROR, onHlsError);
      hls.on(Hls.Events.MANIFEST_PARSED, function () { tryPlay(); });
      hls.on(Hls.Events.FRAG_BUFFERED, function () { playerFailures = 0; });
      hls.loadSource(src.url);
      hls.attachMedia(audio);
    } else if (audio.canPlayType("application/vnd.apple.mpegurl")) {
      debug.player = "native"; /* Safari, iOS */
      audio.src = src.url;
      tryPlay();
    } else {
      debug.player = "none";
      setPhase(debug.phase, "This browser cannot play live audio (it has neither Media Source " +
        "Extensions nor native HLS). Try a current Firefox, Chrome or Safari.", true);
      return;
    }
    els.play.disabled = false;
  }

  function stopPlayer() {
    cancel("player");
    if (hls) {
      hls.destroy();
      hls = null;
    } else if (els.player.getAttribute("src")) {
      els.player.removeAttribute("src");
      els.player.load();
    }
    debug.playing = false;
  }

  function restartPlayer(why) {
    if (!source || !source.live || !session) { return; }
    playerFailures += 1;
    debug.playerRestarts += 1;
    var seconds = C.backoff(playerFailures, 2, 30);
    stopPlayer();
    setPhase(debug.phase, why + " Trying again in " + Math.ceil(seconds) + " s\u2026");
    var src = source;
    later("player", seconds, function () { if (session) { startPlayer(src); } });
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
    restartPlayer("The live audio is not reachable yet.");
  }

  els.player.addEventListener("error", function () {
    if (debug.player === "native") { restartPlayer("The live audio stopped."); }
  });
  els.player.addEventListener("playing", function () {
    debug.playing = true;
    debug.autoplayBlocked = false;
    els.play.textContent = "Pause";
    setPhase(debug.phase, source && source.live ? "Playing live." : "Playing the replay.");
  });
  els.player.addEventListener("pause", function () {
    debug.playing = false;
    els.play.textContent = "Play";
  });
  els.player.addEventListener("waiting", function () {
    setPhase(debug.phase, "Buffering\u2026");
  });

  function tryPlay() {
    var p = els.player.play();
    if (p && typeof p.then === "function") {
      p.catch(function (err) {
        if (err && err.name === "NotAllowedError") {
          debug.autoplayBlocked = true;
          setPhase(debug.phase, "Your browser did not start the audio by itself: press Play.");
        }
        /* AbortError: the source changed meanwhile; the new one calls tryPlay itself. */
      });
    }
  }

  els.play.addEventListener("click", function () {
    var audio = els.player;
    if (!audio.paused) {
      audio.pause();
      return;
    }
    if (source && !source.live && !hls && !audio.getAttribute("src")) {
      startPlayer(source); /* the replay, on request */
      return;
    }
    if (hls && source && source.live && typeof hls.liveSyncPosition === "number" &&
        isFinite(hls.liveSyncPosition)) {
      audio.currentTime = hls.liveSyncPosition; /* back to live after a pause */
    }
    tryPlay();
  });

  loadSpace(1);
})();
