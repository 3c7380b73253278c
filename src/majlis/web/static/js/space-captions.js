/* majlis Space page, captions and the transcript.

   Live: while the host has captions on, each cue arrives on the event stream a second or two
   after its words end (the server recognizes every speaker apart, before the mix), and the
   caption line shows the last two, each with its speaker's name. Each line carries the cue's
   language and dir="auto", so Arabic reads right to left whatever the page's language. The
   CC button hides or shows the line; the choice is kept in this browser. The host's switch
   is in the host tools.

   Replay: the transcript of the whole Space, each line with its time; the line being heard is
   marked as the replay plays, and a click on a line plays from there. .vtt and .srt
   downloads sit beside it. */
import * as C from "./common.js";
import {
  base, debug, els, me, model, run, sameHandle, t,
} from "./space-state.js";

/* Lines on the caption line, and how long one stays once nothing new is said. */
var SHOWN = 2;
var LINGER_MS = 8000;
var PREFERENCE = "majlis.captions";

var lines = [];
var newest = 0; /* the id of the newest cue shown: a snapshot never shows one twice */
var lingering = null;
var delayedTimer = null;
var transcriptFor = null;
var transcriptCues = [];

function wanted() {
  try { return window.localStorage.getItem(PREFERENCE) !== "off"; } catch (e) { return true; }
}

function remember(on) {
  try { window.localStorage.setItem(PREFERENCE, on ? "on" : "off"); } catch (e) { /* private mode */ }
}

function captioned() {
  var space = model.space;
  return Boolean(space && space.captions && space.state === "live");
}

function speakerName(cue) {
  return (cue.speaker && (cue.speaker.display_name || cue.speaker.handle)) || "";
}

/* Languages written right to left: their cues lay out right to left, speaker's name first. */
var RTL = ["ar", "fa", "ur", "he", "ps", "sd", "yi", "dv", "ug", "ckb"];

function line(cue, tag) {
  var item = C.el(tag || "li", { class: "caption" });
  item.setAttribute("dir", RTL.indexOf(String(cue.language || "").split("-")[0]) >= 0 ? "rtl" : "ltr");
  /* The colon inside the name's isolate: it ends the name on the name's own side. */
  item.appendChild(C.el("bdi", { class: "caption-who", text: speakerName(cue) + ":" }));
  item.appendChild(document.createTextNode(" "));
  var words = C.el("span", { class: "caption-text", text: cue.text });
  words.setAttribute("dir", "auto");
  if (cue.language) { words.setAttribute("lang", cue.language); }
  item.appendChild(words);
  return item;
}

function drawLines() {
  els.captionLines.replaceChildren.apply(els.captionLines, lines.map(function (cue) { return line(cue); }));
  debug.captions = lines.map(function (cue) { return { handle: cue.speaker.handle, text: cue.text }; });
}

export function renderCaptions() {
  var on = captioned();
  var shown = on && wanted();
  els.captionsToggle.hidden = !on;
  els.captionsToggle.setAttribute("aria-pressed", shown ? "true" : "false");
  els.captions.hidden = !shown;
  var space = model.space;
  var host = Boolean(space && space.host && sameHandle(space.host.handle, me()));
  els.captionsRow.hidden = !(host && space.state !== "ended");
  if (space) { els.captionsOn.checked = Boolean(space.captions); }
  renderTranscript();
}

/* A cue from the event stream. */
export function onCaption(ev) {
  var cue = ev && ev.cue;
  if (!cue || !cue.speaker) { return; }
  newest = Math.max(newest, cue.id);
  lines = lines.filter(function (old) { return old.id !== cue.id; }).concat([cue]).slice(-SHOWN);
  drawLines();
  clearTimeout(lingering);
  lingering = setTimeout(function () { lines = []; drawLines(); }, LINGER_MS);
}

/* A page that follows the snapshot (a large audience: no event stream) gets the last cues
   said in it; those not shown yet join the line. */
export function captionsFromSnapshot(cues) {
  (cues || []).forEach(function (cue) {
    if (cue.id > newest) { onCaption({ cue: cue }); }
  });
}

/* The host switched captions (or set the Space's language): the Space says which way. */
export function onCaptionsSwitch(ev) {
  if (!model.space || typeof ev.on !== "boolean") { return; }
  model.space.captions = ev.on;
  if (!ev.on) { lines = []; drawLines(); }
  renderCaptions();
}

/* The recognizer could not keep up and skipped some words: say so under the line, briefly. */
export function onCaptionsDelayed() {
  els.captionsNote.textContent = t("sp.captions.delayed");
  els.captionsNote.hidden = false;
  clearTimeout(delayedTimer);
  delayedTimer = setTimeout(function () { els.captionsNote.hidden = true; }, LINGER_MS);
}

export function onTranscriptDeleted() {
  lines = [];
  drawLines();
  transcriptCues = [];
  drawTranscript();
}

els.captionsToggle.addEventListener("click", function () {
  remember(!wanted());
  renderCaptions();
});

els.captionsOn.addEventListener("change", async function () {
  var on = els.captionsOn.checked;
  var resp = await run(els.captionsOn, "PATCH", base, { captions: on });
  els.captionsOn.disabled = false;
  if (resp) { model.space.captions = (await resp.json()).captions; }
  renderCaptions(); /* refused: the box shows what the server has */
});

/* --- the replay's transcript ------------------------------------------------------------ */

function clock(seconds) {
  var s = Math.max(0, Math.floor(seconds));
  var h = Math.floor(s / 3600);
  var m = Math.floor((s % 3600) / 60);
  var rest = String(s % 60).padStart(2, "0");
  return h ? h + ":" + String(m).padStart(2, "0") + ":" + rest : m + ":" + rest;
}

function drawTranscript() {
  var items = transcriptCues.map(function (cue, index) {
    var item = C.el("li", { class: "transcript-line" });
    var jump = C.el("button", { type: "button", class: "transcript-jump" });
    var at = C.el("span", { class: "transcript-at", text: clock(cue.start) });
    at.setAttribute("dir", "ltr");
    jump.appendChild(at);
    jump.appendChild(line(cue, "span"));
    jump.addEventListener("click", function () { seek(index); });
    item.appendChild(jump);
    return item;
  });
  els.transcriptLines.replaceChildren.apply(els.transcriptLines, items);
  els.transcript.hidden = transcriptCues.length === 0;
  debug.transcript = transcriptCues.length;
}

function seek(index) {
  var cue = transcriptCues[index];
  if (!cue) { return; }
  els.player.currentTime = cue.start;
  if (els.player.paused) { els.play.click(); }
  follow();
}

/* Mark the line being heard, and keep it in view without moving the page under a reader. */
function follow() {
  var at = Number(els.player.currentTime) || 0;
  var current = -1;
  for (var i = 0; i < transcriptCues.length; i += 1) {
    if (transcriptCues[i].start <= at) { current = i; } else { break; }
  }
  var items = els.transcriptLines.children;
  for (var j = 0; j < items.length; j += 1) {
    var now = j === current;
    if (now !== items[j].classList.contains("now")) {
      items[j].classList.toggle("now", now);
      if (now) {
        items[j].setAttribute("aria-current", "true");
        var box = els.transcriptLines;
        var top = items[j].offsetTop - box.offsetTop;
        if (top < box.scrollTop || top > box.scrollTop + box.clientHeight - items[j].offsetHeight) {
          box.scrollTop = Math.max(0, top - box.clientHeight / 3);
        }
      } else {
        items[j].removeAttribute("aria-current");
      }
    }
  }
  debug.transcriptLine = current;
}

async function loadTranscript(spaceId) {
  transcriptFor = spaceId;
  try {
    var resp = await fetch(base + "/transcript", { headers: { Accept: "application/json" } });
    if (!resp.ok || transcriptFor !== spaceId) { transcriptFor = null; return; }
    transcriptCues = (await resp.json()).cues || [];
  } catch (e) { transcriptFor = null; return; } /* the next render asks again */
  drawTranscript();
  follow();
}

function renderTranscript() {
  var space = model.space;
  var replay = Boolean(space && space.state === "ended" && space.replay_url);
  if (!replay) { els.transcript.hidden = true; return; }
  els.transcriptVtt.setAttribute("href", base + "/transcript.vtt");
  els.transcriptSrt.setAttribute("href", base + "/transcript.srt");
  if (transcriptFor !== space.id) { loadTranscript(space.id); }
}

els.player.addEventListener("timeupdate", function () {
  if (transcriptCues.length) { follow(); }
});
