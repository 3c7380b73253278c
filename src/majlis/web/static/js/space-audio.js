/* majlis Space page, the audio: what a listener hears over HTTP (space-player.js) and what
   someone on stage says and hears over WHIP (space-whip.js), and the switch between the two
   without a page reload.

   Why one module owns the switch: it must never leave a gap or a double. Going on stage, the
   HTTP player keeps playing until the WebRTC connection is up, then stops (what you hear becomes
   the mix-minus from the WHIP answer). Leaving, the player starts first and the WHIP session is
   closed right after. Everything is reported through `debug` (window.majlis) and status keys the
   page translates; no text is built here.

   `window.MajlisDebug` (for tests and curious people, space-analyser.js): `enable()` routes what
   the page plays through a WebAudio analyser, `tone(hz)` → {db, floor, peakHz} of what is heard
   right now. */
import { makeAnalyser } from "./space-analyser.js";
import { createPlayer } from "./space-player.js";
import { createStage } from "./space-whip.js";

/* opts: {player, remote, debug, raw, token(), status(key, params, isError), onHeard(kind),
   onStage("connected" | "dropped")} */
export function createAudio(opts) {
  var debug = opts.debug;
  var analyser = makeAnalyser(opts.player);
  window.MajlisDebug = Object.freeze({ enable: analyser.enable, tone: analyser.tone });

  function heard(kind) {
    debug.hearing = kind;
    if (opts.onHeard) { opts.onHeard(kind); }
  }

  var stage = null;
  var listening = createPlayer({
    player: opts.player,
    debug: debug,
    status: opts.status,
    heard: heard,
    stageConnected: function () { return stage.onAir() && debug.connectionState === "connected"; },
  });
  stage = createStage({
    remote: opts.remote,
    debug: debug,
    raw: opts.raw,
    token: opts.token,
    status: opts.status,
    attach: analyser.attach,
    connected: function () {
      /* The mix-minus flows now: the HTTP copy (a second behind) would be an echo. */
      listening.stopListening();
      heard("webrtc");
      opts.onStage("connected");
    },
    dropped: function () { opts.onStage("dropped"); },
  });

  window.addEventListener("pagehide", function () {
    if (debug.sessionUrl && opts.token()) {
      fetch(debug.sessionUrl, { method: "DELETE", headers: { Authorization: "Bearer " + opts.token() }, keepalive: true });
    }
  });

  return {
    listen: listening.listen,
    stopListening: listening.stopListening,
    /* The Play/Pause button: the stage's audio if the browser held it back, else the player. */
    togglePlay: function (replayUrl) {
      if (!stage.resume()) { listening.togglePlay(replayUrl); }
    },
    isListening: listening.isListening,
    speak: stage.speak,
    hangUp: stage.hangUp,
    onAir: stage.onAir,
    dropStage: stage.drop,
    micTrack: stage.micTrack,
    setMic: stage.setMic,
  };
}
