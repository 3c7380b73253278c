/* majlis Space page, reactions: a button per emoji (the server's own list, src/majlis/domain/
   audience.py EMOJI, rendered into #emoji's data-emoji by pages.py, so the page offers exactly
   what the API accepts) and the emoji that float up as the room reacts. */
import * as C from "./common.js";
import { api, base, debug, els, report, t } from "./space-state.js";

var MAX_FLOATS = 24;
var EMOJI = (els.emoji.getAttribute("data-emoji") || "").split(" ").filter(Boolean);
var ownReactions = {};
var lastRecent = null;

EMOJI.forEach(function (emoji) {
  var b = C.el("button", { type: "button", class: "emoji", "data-emoji": emoji, text: emoji,
    "aria-label": t("sp.react.send", { emoji: emoji }) });
  b.addEventListener("click", async function () {
    report("");
    var resp;
    try {
      resp = await api("POST", base + "/reactions", { emoji: emoji });
    } catch (e) {
      return report(t("error.network"));
    }
    if (resp.ok) {
      debug.reactionsSent += 1;
      ownReactions[emoji] = (ownReactions[emoji] || 0) + 1;
      floatOne(emoji, true);
    } else {
      report(await C.describeFailure(resp));
    }
    return undefined;
  });
  els.emoji.appendChild(b);
});

/* Reactions are for the live show, not the pre-show; sending one needs an account. */
export function renderReactions(live, signedIn) {
  els.reactions.hidden = !live;
  els.emoji.querySelectorAll("button").forEach(function (b) { b.disabled = !signedIn; });
}

/* Without the event stream, reactions are read from the snapshot's sliding ten-second totals:
   what grew since the last poll floats (an estimate: totals also shrink as buckets age out).
   `recent` null: the stream is back, the next poll starts counting afresh. */
export function snapshotReactions(recent) {
  var grown = {};
  if (recent && lastRecent) {
    Object.keys(recent).forEach(function (emoji) {
      var d = (Number(recent[emoji]) || 0) - (Number(lastRecent[emoji]) || 0);
      if (d > 0) { grown[emoji] = d; }
    });
  }
  lastRecent = recent;
  floatReactions(grown);
}

/* One aggregate per second arrives; my own reactions already floated when I sent them. */
export function floatReactions(counts) {
  Object.keys(counts).forEach(function (emoji) {
    var n = Number(counts[emoji]) || 0;
    var mine = Math.min(n, ownReactions[emoji] || 0);
    ownReactions[emoji] = (ownReactions[emoji] || 0) - mine;
    debug.reactionsReceived += n - mine;
    for (var i = 0; i < Math.min(n - mine, 8); i++) { floatOne(emoji, false); }
  });
}

function floatOne(emoji, mine) {
  if (els.floats.childElementCount >= MAX_FLOATS) { els.floats.firstElementChild.remove(); }
  var f = C.el("span", { class: "float" + (mine ? " mine" : ""), "data-emoji": emoji, text: emoji });
  f.style.setProperty("--x", String(Math.round(Math.random() * 80 + 5)) + "%");
  f.style.setProperty("--d", String(Math.round(Math.random() * 400)) + "ms");
  f.addEventListener("animationend", function () { f.remove(); });
  setTimeout(function () { f.remove(); }, 4000);
  els.floats.appendChild(f);
}

document.addEventListener("majlis:lang", function () {
  els.emoji.querySelectorAll("button").forEach(function (b) {
    b.setAttribute("aria-label", t("sp.react.send", { emoji: b.getAttribute("data-emoji") }));
  });
});
