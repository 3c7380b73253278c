/* majlis Space page, the host's and cohosts' controls: on each stage member, make cohost or
   speaker, mute, move to the audience, remove from the Space; invite by handle; end the Space.
   A control someone may not use is never shown (space-policy.js); the server decides anyway,
   and its refusal is shown in its own words. Nothing here holds state: the page re-renders
   from the Space and its events. */
import * as C from "./common.js";
import { isStaff, mayMute, mayPutOnStage, mayRemove, mayTakeOff } from "./space-policy.js";
import { apply } from "./space-join.js";
import { api, base, debug, els, me, report, run, sameHandle, sayText, t } from "./space-state.js";

/* base/stage/{handle}, base/requests/{handle}, ... with every part escaped. */
export function stagePath(parts) {
  return base + "/" + parts.map(encodeURIComponent).join("/");
}

/* Runs one action; on refusal shows the server's words. Resolves true on success. */
export async function act(method, where, body) {
  var resp;
  try {
    resp = await api(method, where, body);
  } catch (e) {
    report(t("error.network"));
    return false;
  }
  if (!resp.ok) {
    report(await C.describeFailure(resp));
    return false;
  }
  return true;
}

/* A button that closes its menu and waits while its action runs. */
export function button(label, cls, onClick) {
  var b = C.el("button", { type: "button", class: cls || "secondary small", text: label });
  b.addEventListener("click", function () {
    var menu = b.closest("details");
    if (menu) { menu.open = false; } /* done with this menu: the stage re-renders anyway */
    b.disabled = true;
    function done() { b.disabled = false; }
    Promise.resolve(onClick()).then(done, done);
  });
  return b;
}

/* The menu of what I may do to one stage member, or null (nothing, or it is me). */
export function memberControls(member) {
  var actor = debug.role;
  var handle = member.handle;
  if (!isStaff(actor) || !me() || sameHandle(handle, me())) { return null; }
  var name = "@" + handle;
  var items = [];
  if (!member.muted && mayMute(actor, false)) {
    items.push(button(t("sp.host.mute"), null, function () {
      return act("POST", stagePath(["stage", handle, "mute"]));
    }));
  }
  if (member.role === "speaker" && mayPutOnStage(actor, "speaker", "cohost", false)) {
    items.push(button(t("sp.host.makeCohost"), null, function () {
      return act("PUT", stagePath(["stage", handle]), { role: "cohost" });
    }));
  }
  if (member.role === "cohost" && mayPutOnStage(actor, "cohost", "speaker", false)) {
    items.push(button(t("sp.host.makeSpeaker"), null, function () {
      return act("PUT", stagePath(["stage", handle]), { role: "speaker" });
    }));
  }
  if (mayTakeOff(actor, false, member.role)) {
    items.push(button(t("sp.host.toAudience"), null, function () {
      return act("DELETE", stagePath(["stage", handle]));
    }));
  }
  if (mayRemove(actor, member.role)) {
    items.push(button(t("sp.host.remove"), "button-danger small", async function () {
      if (await confirmDialog(t("sp.host.removeConfirm", { name: name }), t("sp.host.remove"))) {
        return act("POST", stagePath(["removals", handle]));
      }
      return false;
    }));
  }
  if (items.length === 0) { return null; }
  var summary = C.el("summary", { class: "manage-toggle", "aria-label": t("sp.host.manage", { name: name }) }, ["\u22EF"]);
  return C.el("details", { class: "manage" }, [summary, C.el("div", { class: "menu", role: "group" }, items)]);
}

function confirmDialog(text, okLabel) {
  var d = els.confirm;
  if (typeof d.showModal !== "function") { return Promise.resolve(window.confirm(text)); } /* old browsers */
  els.confirmText.textContent = text;
  els.confirmOk.textContent = okLabel;
  d.returnValue = "";
  d.showModal();
  return new Promise(function (resolve) {
    d.addEventListener("close", function () { resolve(d.returnValue === "ok"); }, { once: true });
  });
}

els.inviteForm.addEventListener("submit", async function (event) {
  event.preventDefault();
  report("");
  var h = String(els.inviteHandle.value || "").trim().replace(/^@/, "");
  if (!/^[A-Za-z0-9_]{1,32}$/.test(h)) {
    report(t("sp.host.inviteBad"));
    return;
  }
  if (await act("PUT", stagePath(["stage", h]), { role: "speaker" })) {
    els.inviteHandle.value = "";
    sayText(t("sp.host.invited"));
  }
});

els.end.addEventListener("click", async function () {
  if (!(await confirmDialog(t("sp.host.endConfirm"), t("sp.host.end")))) { return; }
  var resp = await run(els.end, "POST", base + "/end");
  if (resp) { apply(await resp.json()); }
});
