/* majlis Space page, the debug analyser: what the page plays, routed through a WebAudio
   analyser on demand, so tests (and curious people, `window.MajlisDebug`) can ask which tone is
   heard right now. On demand only: a suspended AudioContext would silence the element. Kept
   apart from space-audio.js, which owns what is played, not how it is inspected. */
export function makeAnalyser(player) {
  var ctx = null;
  var analyser = null;
  var streams = [];

  function enable() {
    if (ctx) { return true; }
    var Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) { return false; }
    ctx = new Ctx();
    analyser = ctx.createAnalyser();
    analyser.fftSize = 8192;
    analyser.smoothingTimeConstant = 0.3;
    var element = ctx.createMediaElementSource(player);
    element.connect(analyser);
    element.connect(ctx.destination); /* the element now plays through the context */
    streams.forEach(attach);
    if (ctx.state === "suspended") { ctx.resume(); }
    return true;
  }

  function attach(stream) {
    if (streams.indexOf(stream) === -1) { streams.push(stream); }
    if (ctx && !stream.majlisAttached) {
      ctx.createMediaStreamSource(stream).connect(analyser);
      stream.majlisAttached = true;
    }
  }

  function tone(hz) {
    if (!analyser) { return null; }
    var bins = new Float32Array(analyser.frequencyBinCount);
    analyser.getFloatFrequencyData(bins);
    var width = ctx.sampleRate / analyser.fftSize;
    var at = Math.round(hz / width);
    var db = -Infinity;
    for (var i = Math.max(1, at - 2); i <= Math.min(bins.length - 1, at + 2); i++) {
      db = Math.max(db, bins[i]);
    }
    var peak = 1;
    for (var j = 2; j < bins.length; j++) { if (bins[j] > bins[peak]) { peak = j; } }
    var sorted = Array.prototype.slice.call(bins, 1).sort(function (a, b) { return a - b; });
    return { db: db, floor: sorted[Math.floor(sorted.length / 2)], peakHz: peak * width };
  }

  return { enable: enable, attach: attach, tone: tone };
}
