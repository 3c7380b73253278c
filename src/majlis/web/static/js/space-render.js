/* majlis Space page, the whole page drawn again from the model: after anything that may change
   several parts at once (the Space loaded, a snapshot, my role, the language). Each part is
   drawn by the module that owns it. */
import { renderBar } from "./space-bar.js";
import { renderCaptions } from "./space-captions.js";
import { renderClip } from "./space-clip.js";
import { renderComments } from "./space-comments.js";
import { renderHead, renderScheduled } from "./space-head.js";
import { renderLink } from "./space-link.js";
import { renderMe, renderPlay } from "./space-me.js";
import { renderRequests } from "./space-requests.js";
import { renderStage } from "./space-stage.js";
import { renderStatus } from "./space-state.js";

export function render() {
  renderHead();
  renderLink();
  renderClip();
  renderCaptions();
  renderScheduled();
  renderStage();
  renderMe();
  renderPlay();
  renderStatus();
  renderRequests();
  renderComments();
  renderBar();
}
