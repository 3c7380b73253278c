/* majlis Space page, its head: state badge, title, host, when, listener count and the shareable
   link; and, while the Space is scheduled, when it starts, Remind me, and the host's Start. */
import * as C from "./common.js";
import * as I18N from "./i18n.js";
import { apply } from "./space-join.js";
import { api, app, base, debug, els, me, model, report, run, sayText, t } from "./space-state.js";

export function renderHead() {
  var space = model.space;
  if (!space) { return; }
  els.title.textContent = space.title;
  document.title = space.title + " \u00b7 " + t("brand");
  var badge = C.badge(space);
  badge.id = "state";
  els.state.replaceWith(badge);
  els.state = badge;
  app.setAttribute("data-state", space.state);
  debug.state = space.state;
  var h = space.host || {};
  els.hostLine.replaceChildren.apply(els.hostLine, [C.avatar(h, "sm")].concat(
    C.textWith("space.hostedBy", { name: C.el("a", { href: C.profileUrl(h.handle) }, [C.bdi(h.display_name || h.handle)]) })));
  var when = "";
  if (space.state === "scheduled" && space.scheduled_start) {
    when = t("space.startsAt", { when: I18N.date(space.scheduled_start, { dateStyle: "full", timeStyle: "short" }) });
  } else if (space.state === "live" && space.started_at) {
    when = t("space.startedAt", { when: I18N.relative(space.started_at) });
  } else if (space.state === "ended" && space.ended_at) {
    when = t("space.endedAt", { when: I18N.relative(space.ended_at) });
  }
  els.when.textContent = when;
  els.shareUrl.value = C.absoluteUrl(space.url || C.spaceUrl(space));
  renderCount();
}

export function renderCount() {
  var space = model.space;
  if (!space || space.state === "ended" || typeof debug.listenerCount !== "number") {
    els.listeners.textContent = "";
    return;
  }
  els.listeners.textContent = C.listenersText(debug.listenerCount);
}

export function renderScheduled() {
  var space = model.space;
  var scheduled = Boolean(space && space.state === "scheduled");
  els.scheduled.hidden = !scheduled;
  if (!scheduled) { return; }
  els.startsAt.textContent = space.scheduled_start
    ? t("sp.scheduled.startsAt", { when: I18N.date(space.scheduled_start, { dateStyle: "full", timeStyle: "short" }), rel: I18N.relative(space.scheduled_start) })
    : "";
  var isHost = me() && space.host && String(space.host.handle).toLowerCase() === me();
  els.start.hidden = !isHost;
  els.reminder.hidden = !me() || isHost;
  var on = model.reminder === true;
  if (!isHost) { loadReminder(); }
  els.reminder.textContent = t(on ? "sp.reminder.off" : "sp.reminder.on");
  els.reminder.setAttribute("aria-pressed", on ? "true" : "false");
}

/* Whether I set a reminder is the server's to say (I may have set it on another device):
   asked once a signed-in listener sees the Space scheduled, then kept by the button. */
async function loadReminder() {
  if (model.reminderAsked || !me()) { return; }
  model.reminderAsked = true;
  try {
    var resp = await api("GET", base + "/reminder");
    if (!resp.ok) { return; }
    model.reminder = (await resp.json()).reminder === true;
    renderScheduled();
  } catch (e) { /* the button still works; it just starts as "Remind me" */ }
}

els.reminder.addEventListener("click", async function () {
  var on = model.reminder;
  var resp = await run(els.reminder, on ? "DELETE" : "POST", base + "/reminder");
  if (resp || /already/i.test(els.error.textContent)) {
    report("");
    model.reminder = !on;
    sayText(t(on ? "sp.reminder.removed" : "sp.reminder.set"));
  }
  renderScheduled();
});

els.start.addEventListener("click", async function () {
  var resp = await run(els.start, "POST", base + "/start");
  if (resp) {
    model.micCheck = true; /* the host goes live muted, with the mic check */
    apply(await resp.json());
  }
});

els.share.addEventListener("click", async function () {
  var url = els.shareUrl.value;
  try {
    await navigator.clipboard.writeText(url);
    els.shareStatus.textContent = t("space.shareCopied");
  } catch (e) {
    els.shareUrl.select();
    els.shareStatus.textContent = t("sp.share.manual");
  }
});
