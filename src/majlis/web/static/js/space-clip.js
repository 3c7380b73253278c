/* majlis Space page, clips: anyone signed in clips the last 30 s of a live Space, or, in the
   replay, the 30 s before where they are listening (the server cuts it from the recording, no
   re-encoding); the clip's page opens from the line under the share row. The host switches
   clipping off and on for everyone.

   Shown only where it can work: the Space is recorded, clips are allowed, and there is
   something to clip (live, or an ended Space with a replay). */
import * as C from "./common.js";
import { base, debug, els, me, model, run, sameHandle, t, token } from "./space-state.js";

var CLIP_SECONDS = 30;

function replaying() {
  var space = model.space;
  return Boolean(space && space.state === "ended" && space.replay_url);
}

export function renderClip() {
  var space = model.space;
  var clippable = Boolean(space && space.record && space.clips_allowed && token() &&
    (space.state === "live" || replaying()));
  els.clip.hidden = !clippable;
  if (clippable) {
    els.clip.textContent = t(space.state === "live" ? "sp.clip.live" : "sp.clip.replay");
  }
  var host = Boolean(space && space.host && sameHandle(space.host.handle, me()));
  els.clipsAllowedRow.hidden = !(host && space.record);
  if (space) { els.clipsAllowed.checked = Boolean(space.clips_allowed); }
}

function replayRange() {
  var at = Number(els.player.currentTime) || 0;
  var end = Math.max(at, Math.min(CLIP_SECONDS, Number(els.player.duration) || CLIP_SECONDS));
  return { start: Math.max(0, end - CLIP_SECONDS), end: end };
}

els.clip.addEventListener("click", async function () {
  var body = model.space.state === "live" ? { seconds: CLIP_SECONDS } : replayRange();
  var resp = await run(els.clip, "POST", base + "/clips", body);
  els.clip.disabled = false;
  if (!resp) { return; }
  var clip = await resp.json();
  debug.lastClip = clip;
  var link = C.el("a", { href: clip.page_url, text: t("sp.clip.open") });
  els.shareStatus.replaceChildren(document.createTextNode(t("sp.clip.made", { seconds: Math.round(clip.duration) }) + " "), link);
});

els.clipsAllowed.addEventListener("change", async function () {
  var allowed = els.clipsAllowed.checked;
  var resp = await run(els.clipsAllowed, "PATCH", base, { clips_allowed: allowed });
  els.clipsAllowed.disabled = false;
  if (resp) {
    model.space.clips_allowed = (await resp.json()).clips_allowed;
  }
  renderClip(); /* refused: the box shows what the server has */
});
