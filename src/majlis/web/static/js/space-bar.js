/* majlis Space page, the bar: what a person does here, always in reach at the bottom of the
   screen (play, the mic, request to speak, react, comments, share, clip, the host's tools,
   leave). The buttons are the other modules' (space-me.js shows the mic and the request, for
   instance); this module owns the bar's own controls: on a phone, the reactions tray and the
   host's bottom sheet, with the count of pending requests on the button that opens it.

   The bar's height is written to --bar-height so that the page ends above it and the tray,
   the sheet and the requests badge sit on top of it at every width. */
import { app, els, model } from "./space-state.js";

var bar = document.getElementById("room-bar");
var reactToggle = document.getElementById("react-toggle");
var commentsJump = document.getElementById("comments-jump");
var hostToggle = document.getElementById("host-toggle");
var hostCount = document.getElementById("host-toggle-count");
var hostClose = document.getElementById("host-close");

function setOpen(name, value, toggle) {
  if (value) { app.setAttribute("data-" + name, value); } else { app.removeAttribute("data-" + name); }
  toggle.setAttribute("aria-expanded", value ? "true" : "false");
}

export function renderBar() {
  reactToggle.hidden = els.reactions.hidden;
  if (els.reactions.hidden) { setOpen("tray", null, reactToggle); }
  commentsJump.hidden = els.comments.hidden;
  hostToggle.hidden = els.host.hidden;
  if (els.host.hidden) { setOpen("sheet", null, hostToggle); }
  var pending = els.host.hidden ? 0 : model.requests.length;
  hostCount.hidden = pending === 0;
  hostCount.textContent = String(pending);
}

reactToggle.addEventListener("click", function () {
  setOpen("tray", app.getAttribute("data-tray") ? null : "open", reactToggle);
});
/* A reaction sent from the tray closes it, as a phone's emoji pickers do. */
els.emoji.addEventListener("click", function (event) {
  if (event.target.closest("button") && app.getAttribute("data-tray")) { setOpen("tray", null, reactToggle); }
});
hostToggle.addEventListener("click", function () {
  setOpen("sheet", app.getAttribute("data-sheet") ? null : "host", hostToggle);
  if (app.getAttribute("data-sheet")) { els.host.focus({ preventScroll: true }); }
});
hostClose.addEventListener("click", function () { setOpen("sheet", null, hostToggle); hostToggle.focus(); });
/* The floating badge opens the sheet on a phone (on a wide screen the panel is in view). */
els.requestsBadge.addEventListener("click", function (event) {
  if (!window.matchMedia("(max-width: 59.99rem)").matches) { return; }
  event.preventDefault();
  setOpen("sheet", "host", hostToggle);
});
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") { return; }
  if (app.getAttribute("data-sheet")) { setOpen("sheet", null, hostToggle); hostToggle.focus(); }
  if (app.getAttribute("data-tray")) { setOpen("tray", null, reactToggle); reactToggle.focus(); }
});

function measure() {
  document.documentElement.style.setProperty("--bar-height", bar.offsetHeight + "px");
}
if (window.ResizeObserver) { new ResizeObserver(measure).observe(bar); }
measure();
