/* majlis Space page, listening over HTTP: low-latency DASH (dash.js), native LL-HLS where there
   is no Media Source Extensions (iPhone Safari before ManagedMediaSource), hls.js as the fallback,
   and the replay of an ended Space.

   Why DASH first: a DASH listener asks for each 2 s segment once and receives it as it is
   produced (chunked transfer), ~0.5 requests a second; an LL-HLS one makes ~8 (a blocking
   playlist reload and a part every 0.256 s). Same latency, a sixteenth of the requests at the
   edge (docs/scaling.md). If dash.js fails DASH_MAX_FAILURES times in a row, the page falls back
   to segment-paced HLS with hls.js: seconds of latency, but it plays.

   dash.js and hls.js are classic scripts (vendor/, loaded before the page's modules): they are
   the two globals read here, `window.dashjs` and `window.Hls`. */
import * as C from "./common.js";

var HLS_MIME = "application/vnd.apple.mpegurl";
var DASH_MAX_FAILURES = 2;

/* opts: {player, debug, status(key, params, isError), heard(kind), stageConnected()} */
export function createPlayer(opts) {
  var debug = opts.debug;
  var player = opts.player;
  var hls = null;
  var dash = null;
  var dashFailures = 0; /* in a row; at DASH_MAX_FAILURES the page falls back to HLS */
  var source = null; /* {url, live} */
  var playerFailures = 0;
  var mediaRecoveries = 0;
  var restartTimer = null;
  var heard = opts.heard;

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
    if (!opts.stageConnected()) { heard(source && source.live ? "hls" : "replay"); }
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

  return {
    listen: listen,
    stopListening: stopListening,
    togglePlay: togglePlay,
    tryPlay: tryPlay,
    isListening: function () { return Boolean(source); },
    liveLatency: liveLatency,
  };
}
