/* majlis speak page: sign in, then go live over WHIP (RFC 9725) and hear the other speakers.

   One RTCPeerConnection with one sendrecv audio transceiver: the microphone goes up, the
   mix-minus (everyone else on stage) comes back. The offer is sent once ICE gathering is
   complete (no trickle). `?raw=1` turns off echo cancellation, noise suppression and automatic
   gain, which would otherwise flatten a test tone. `window.majlis` mirrors the state for tests. */
(function () {
  "use strict";

  var C = window.MajlisCommon;
  var TOKEN_KEY = "majlis.token";
  var HANDLE_KEY = "majlis.handle";
  var ICE_GATHERING_TIMEOUT_MS = 5000;

  var app = document.getElementById("app");
  var spaceId = app.getAttribute("data-space-id");
  var apiBase = "/api/v1/spaces/" + encodeURIComponent(spaceId);
  var whipUrl = apiBase + "/whip";
  var raw = new URLSearchParams(window.location.search).get("raw") === "1";
  var els = {
    title: document.getElementById("title"),
    state: document.getElementById("state"),
    status: document.getElementById("status"),
    error: document.getElementById("error"),
    signin: document.getElementById("signin"),
    form: document.getElementById("signin-form"),
    handle: document.getElementById("handle"),
    password: document.getElementById("password"),
    signinButton: document.getElementById("signin-button"),
    speaker: document.getElementById("speaker"),
    me: document.getElementById("me"),
    golive: document.getElementById("golive"),
    mute: document.getElementById("mute"),
    leave: document.getElementById("leave"),
    signout: document.getElementById("signout"),
    hear: document.getElementById("hear"),
    remote: document.getElementById("remote"),
  };

  var debug = {
    page: "speak",
    spaceId: spaceId,
    raw: raw,
    state: app.getAttribute("data-state"),
    phase: "signed-out",
    signedIn: false,
    handle: null,
    onStage: null,
    constraints: null,
    whipStatus: null,
    sessionUrl: null,
    connectionState: null,
    iceConnectionState: null,
    iceGatheringState: null,
    remoteTracks: 0,
    remotePlaying: false,
    muted: false,
    bytesSent: 0,
    packetsSent: 0,
    bytesReceived: 0,
    packetsReceived: 0,
    packetsLost: 0,
    totalSamplesReceived: 0,
    statsAt: null,
    error: null,
  };
  window.majlis = debug;

  var pc = null;
  var mic = null;
  var statsTimer = null;

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function authHeaders(extra) {
    var h = Object.assign({}, extra || {});
    var t = token();
    if (t) { h.Authorization = "Bearer " + t; }
    return h;
  }

  function setPhase(phase, message) {
    debug.phase = phase;
    app.setAttribute("data-phase", phase);
    if (message !== undefined) { els.status.textContent = message; }
  }

  function showError(message) {
    debug.error = message || null;
    els.error.textContent = message || "";
  }

  /* ---- signing in ------------------------------------------------------------------------- */

  function showSignedIn() {
    var handle = sessionStorage.getItem(HANDLE_KEY);
    var signedIn = Boolean(token() && handle);
    debug.signedIn = signedIn;
    debug.handle = signedIn ? handle : null;
    els.signin.hidden = signedIn;
    els.speaker.hidden = !signedIn;
    if (signedIn) {
      els.me.textContent = "@" + handle;
      if (!pc) { setPhase("ready", "Press Go live when you are ready to speak."); }
    } else {
      setPhase("signed-out", "");
    }
  }

  function forget() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(HANDLE_KEY);
    showSignedIn();
  }

  els.form.addEventListener("submit", async function (event) {
    event.preventDefault();
    showError("");
    var handle = els.handle.value.trim();
    var password = els.password.value;
    if (!handle || !password) {
      showError("Enter your handle and your password.");
      return;
    }
    els.signinButton.disabled = true;
    try {
      var resp = await fetch("/api/v1/sessions", {
        method: "POST",
        headers: { "Content-Type": "application/json", Accept: "application/json" },
        body: JSON.stringify({ handle: handle, password: password }),
      });
      if (resp.status !== 201 && !resp.ok) {
        showError(await C.problemDetail(resp));
        return;
      }
      var body = await resp.json();
      sessionStorage.setItem(TOKEN_KEY, body.token);
      sessionStorage.setItem(HANDLE_KEY, (body.account && body.account.handle) || handle);
      els.password.value = "";
      showSignedIn();
      checkStage();
    } catch (e) {
      showError("Cannot reach the server: " + (e && e.message ? e.message : e));
    } finally {
      els.signinButton.disabled = false;
    }
  });

  els.signout.addEventListener("click", async function () {
    if (pc) { await leave("You left the stage and signed out."); }
    var headers = authHeaders();
    forget();
    try {
      await fetch("/api/v1/sessions/current", { method: "DELETE", headers: headers });
    } catch (e) { /* the token is gone from this tab either way */ }
  });

  /* ---- the Space ---------------------------------------------------------------------------- */

  async function checkStage() {
    try {
      var resp = await fetch(apiBase, { headers: { Accept: "application/json" }, cache: "no-cache" });
      if (!resp.ok) { return; }
      var space = await resp.json();
      els.title.textContent = space.title;
      document.title = "Speak: " + space.title + " \u00b7 majlis";
      debug.state = space.state;
      C.showState(els.state, space.state);
      var me = (debug.handle || "").toLowerCase();
      debug.onStage = me ? (space.stage || []).some(function (m) {
        return String(m.handle).toLowerCase() === me;
      }) : null;
      if (debug.onStage === false && !pc) {
        setPhase("ready", "You are not on the stage of this Space yet: ask the host to invite you, " +
          "then press Go live.");
      }
    } catch (e) { /* informative only */ }
  }

  /* ---- going live --------------------------------------------------------------------------- */

  function micProblem(e) {
    var name = e && e.name;
    if (name === "NotAllowedError" || name === "SecurityError") {
      return "the browser was not allowed to use it. Allow the microphone for this site and try again.";
    }
    if (name === "NotFoundError" || name === "OverconstrainedError") {
      return "no microphone was found.";
    }
    if (name === "NotReadableError") {
      return "it is in use by another application, or the system blocked it.";
    }
    return (e && e.message) || String(e);
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

  function watch(conn) {
    conn.addEventListener("icegatheringstatechange", function () {
      debug.iceGatheringState = conn.iceGatheringState;
    });
    conn.addEventListener("iceconnectionstatechange", function () {
      debug.iceConnectionState = conn.iceConnectionState;
    });
    conn.addEventListener("connectionstatechange", function () {
      if (conn !== pc) { return; }
      var s = conn.connectionState;
      debug.connectionState = s;
      if (s === "connected") {
        setPhase("live", debug.muted ? "You are live, muted." : "You are live.");
      } else if (s === "disconnected") {
        setPhase("live", "The connection is interrupted; waiting for it to come back\u2026");
      } else if (s === "failed" || s === "closed") {
        showError("The media connection to the server " + (s === "failed" ? "failed" : "closed") +
          ". If you are still on stage, press Go live again.");
        leave("You are no longer live.");
      }
    });
    conn.addEventListener("track", function (event) {
      debug.remoteTracks += 1;
      els.remote.srcObject = event.streams && event.streams[0]
        ? event.streams[0] : new MediaStream([event.track]);
      playRemote();
    });
  }

  function playRemote() {
    var p = els.remote.play();
    if (p && typeof p.then === "function") {
      p.then(function () {
        debug.remotePlaying = true;
        els.hear.hidden = true;
      }, function (err) {
        if (err && err.name === "NotAllowedError") { els.hear.hidden = false; }
      });
    }
  }

  async function pollStats() {
    var conn = pc;
    if (!conn) { return; }
    try {
      var report = await conn.getStats();
      var t = { bytesSent: 0, packetsSent: 0, bytesReceived: 0, packetsReceived: 0, packetsLost: 0,
        totalSamplesReceived: 0 };
      report.forEach(function (s) {
        if ((s.kind || s.mediaType) !== "audio") { return; }
        if (s.type === "outbound-rtp") {
          t.bytesSent += s.bytesSent || 0;
          t.packetsSent += s.packetsSent || 0;
        } else if (s.type === "inbound-rtp") {
          t.bytesReceived += s.bytesReceived || 0;
          t.packetsReceived += s.packetsReceived || 0;
          t.packetsLost += s.packetsLost || 0;
          t.totalSamplesReceived += s.totalSamplesReceived || 0;
        }
      });
      if (conn === pc) {
        Object.assign(debug, t);
        debug.statsAt = Date.now();
      }
    } catch (e) { /* closed meanwhile */ }
  }

  function setLiveButtons(live) {
    els.golive.disabled = live;
    els.leave.disabled = !live;
    els.mute.disabled = !live;
  }

  async function goLive() {
    if (pc) { return; }
    showError("");
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      showError("Speaking needs a secure page: open this address over HTTPS (or on localhost).");
      return;
    }
    els.golive.disabled = true;
    setPhase("connecting", "Asking for your microphone\u2026");
    var processing = !raw;
    var constraints = {
      echoCancellation: processing,
      noiseSuppression: processing,
      autoGainControl: processing,
    };
    debug.constraints = constraints;
    try {
      mic = await navigator.mediaDevices.getUserMedia({ audio: constraints, video: false });
    } catch (e) {
      els.golive.disabled = false;
      setPhase("ready", "");
      showError("Could not use your microphone: " + micProblem(e));
      return;
    }
    var conn = new RTCPeerConnection({ iceServers: [], bundlePolicy: "max-bundle" });
    pc = conn;
    debug.muted = false;
    watch(conn);
    setLiveButtons(true);
    try {
      var track = mic.getAudioTracks()[0];
      conn.addTransceiver(track, { direction: "sendrecv", streams: [mic] });
      setPhase("connecting", "Connecting\u2026");
      await conn.setLocalDescription(await conn.createOffer());
      await iceGathered(conn, ICE_GATHERING_TIMEOUT_MS);
      if (conn !== pc) { return; }
      var resp = await fetch(whipUrl, {
        method: "POST",
        headers: authHeaders({ "Content-Type": "application/sdp", Accept: "application/sdp" }),
        body: conn.localDescription.sdp,
      });
      debug.whipStatus = resp.status;
      if (resp.status !== 201 && !resp.ok) {
        var detail = await C.problemDetail(resp);
        await leave("");
        if (resp.status === 401) { forget(); }
        showError(detail);
        return;
      }
      var where = resp.headers.get("Location");
      debug.sessionUrl = where ? new URL(where, new URL(whipUrl, window.location.href)).href : null;
      var answer = await resp.text();
      if (conn !== pc) { return; }
      await conn.setRemoteDescription({ type: "answer", sdp: answer });
      if (!statsTimer) { statsTimer = setInterval(pollStats, 1000); }
      setPhase("connecting", "Connected to the server; starting the audio\u2026");
    } catch (e) {
      await leave("");
      showError("Could not go live: " + ((e && e.message) || e));
    }
  }

  function teardown() {
    if (statsTimer) {
      clearInterval(statsTimer);
      statsTimer = null;
    }
    var conn = pc;
    pc = null;
    if (conn) { conn.close(); }
    if (mic) {
      mic.getTracks().forEach(function (t) { t.stop(); });
      mic = null;
    }
    els.remote.srcObject = null;
    els.hear.hidden = true;
    debug.remotePlaying = false;
    debug.connectionState = conn ? "closed" : debug.connectionState;
    setLiveButtons(false);
    setMuted(false);
  }

  async function leave(message) {
    var url = debug.sessionUrl;
    debug.sessionUrl = null;
    teardown();
    if (url) {
      try {
        await fetch(url, { method: "DELETE", headers: authHeaders() });
      } catch (e) { /* the server also drops a session whose connection went away */ }
    }
    setPhase(debug.signedIn ? "ready" : "signed-out",
      message === undefined ? "You left. Press Go live to speak again." : message);
  }

  function setMuted(muted) {
    debug.muted = muted;
    els.mute.textContent = muted ? "Unmute" : "Mute";
    els.mute.setAttribute("aria-pressed", muted ? "true" : "false");
  }

  async function toggleMute() {
    var track = mic && mic.getAudioTracks()[0];
    if (!track) { return; }
    var muting = !debug.muted;
    if (muting) {
      track.enabled = false; /* silent at once, before the server even hears of it */
      setMuted(true);
    }
    showError("");
    var path = apiBase + "/stage/" + encodeURIComponent(debug.handle) + (muting ? "/mute" : "/unmute");
    try {
      var resp = await fetch(path, { method: "POST", headers: authHeaders() });
      if (!resp.ok) {
        showError(await C.problemDetail(resp));
        return; /* muting stays muted locally; unmuting waits for the server to agree */
      }
    } catch (e) {
      showError("Cannot reach the server.");
      return;
    }
    if (!muting && mic) {
      track.enabled = true;
      setMuted(false);
    }
    setPhase("live", debug.muted ? "You are live, muted." : "You are live.");
  }

  els.golive.addEventListener("click", goLive);
  els.leave.addEventListener("click", function () { leave(); });
  els.mute.addEventListener("click", toggleMute);
  els.hear.addEventListener("click", playRemote);
  window.addEventListener("pagehide", function () {
    if (debug.sessionUrl) {
      fetch(debug.sessionUrl, { method: "DELETE", headers: authHeaders(), keepalive: true });
    }
  });

  showSignedIn();
  if (debug.signedIn) { checkStage(); }
})();
