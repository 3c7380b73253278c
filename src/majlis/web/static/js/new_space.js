/* /spaces/new: create a Space now (live at once) or scheduled (a local date and time, sent as an
   ISO instant), with or without a recording; then go to its page. Refusals show the server's
   words; 429/503 say calmly when to try again (the person presses the button again). */
import "./strings/space.js";
import * as C from "./common.js";
import * as S from "./session.js";
import * as I from "./i18n.js";
import "./shell.js";

function $(id) { return document.getElementById(id); }
var form = $("new-form");
var debug = { page: "new_space", created: null };
window.majlis = debug;

function pad(n) { return String(n).padStart(2, "0"); }

/* A datetime-local value in the browser's own time zone. */
function localValue(d) {
  return d.getFullYear() + "-" + pad(d.getMonth() + 1) + "-" + pad(d.getDate()) + "T" + pad(d.getHours()) + ":" + pad(d.getMinutes());
}

function later() { return $("when-later").checked; }

function show(text, kind) {
  var status = $("new-status");
  status.hidden = !text;
  status.textContent = text || "";
  status.className = "notice" + (kind ? " " + kind : "");
}

function render() {
  var signedIn = Boolean(S.account());
  $("new-signin").hidden = signedIn;
  $("new-submit").disabled = !signedIn;
  $("later-fields").hidden = !later();
  $("new-submit").textContent = I.t(later() ? "sp.new.submitLater" : "sp.new.submitNow");
}

function defaults() {
  var start = new Date(Date.now() + 60 * 60 * 1000);
  start.setMinutes(0, 0, 0);
  var input = $("new-start");
  input.value = localValue(start);
  input.min = localValue(new Date());
  input.max = localValue(new Date(Date.now() + 14 * 24 * 3600 * 1000));
}

form.addEventListener("change", render);
document.addEventListener("majlis:session", render);
document.addEventListener("majlis:lang", render);

form.addEventListener("submit", async function (event) {
  event.preventDefault();
  var title = $("new-title").value.trim();
  if (!title) {
    show(I.t("sp.new.titleMissing"), "error");
    $("new-title").focus();
    return;
  }
  var body = { title: title, record: $("new-record").checked };
  if (later()) {
    var at = new Date($("new-start").value);
    if (isNaN(at.getTime())) {
      show(I.t("sp.new.startMissing"), "error");
      $("new-start").focus();
      return;
    }
    body.scheduled_start = at.toISOString();
    var doors = parseInt($("new-doors").value, 10);
    if (doors > 0) { body.doors_open_minutes = doors; }
  }
  var button = $("new-submit");
  button.disabled = true;
  show(I.t("sp.new.working"));
  try {
    var resp = await S.api("POST", "/api/v1/spaces", body);
    if (!resp.ok) {
      var busy = resp.status === 503 || resp.status === 429;
      show(await C.describeFailure(resp), busy ? "wait" : "error");
      return;
    }
    var space = await resp.json();
    debug.created = space.id;
    /* Live now: the host arrives muted with a mic check (space-onstage.js). */
    window.location.assign(C.spaceUrl(space) + (space.state === "live" ? "?mic=check" : ""));
  } catch (e) {
    show(I.t("error.network"), "error");
  } finally {
    button.disabled = !S.account();
  }
});

I.apply(document);
defaults();
render();
