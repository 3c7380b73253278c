/* majlis Space page, the host's and cohosts' controls: requests (approve, decline), invite by
   handle, make cohost or speaker, mute, move to the audience, remove from the Space, end.

   The rules mirror src/majlis/domain/policy.py so that a control someone may not use is never
   shown; the server enforces them anyway, and its refusal (problem detail) is shown if the two
   ever disagree. Nothing here holds state: the page re-renders from the Space and its events. */
(function () {
  "use strict";

  var C = window.MajlisCommon;

  /* ---- domain/policy.py, in JavaScript --------------------------------------------------------- */

  var STAFF = { host: true, cohost: true };

  function mayPutOnStage(actor, target, newRole, isSelf) {
    if (target === "host") { return false; }
    if (actor === "host") { return true; }
    if (isSelf && actor === "cohost" && newRole === "speaker") { return true; }
    return actor === "cohost" && newRole === "speaker" && (target === "listener" || target === "speaker");
  }

  function mayTakeOff(actor, isSelf, target) {
    if (target === "host") { return false; }
    if (isSelf || actor === "host") { return true; }
    return actor === "cohost" && target === "speaker";
  }

  function mayMute(actor, isSelf) { return isSelf || Boolean(STAFF[actor]); }

  function mayRemove(actor, target) {
    if (target === "host") { return false; }
    if (actor === "host") { return true; }
    return actor === "cohost" && (target === "speaker" || target === "listener");
  }

  function isStaff(role) { return Boolean(STAFF[role]); }

  /* ---- the controls ---------------------------------------------------------------------------- */

  /* ctx: {t, api(method, path, body) → Promise<Response>, base, role(), me(), report(key|text), confirm(text, ok)} */
  function create(ctx) {
    var t = ctx.t;

    function path(parts) {
      return ctx.base + "/" + parts.map(encodeURIComponent).join("/");
    }

    /* Runs one action; on refusal shows the server's words. Resolves true on success. */
    async function act(method, where, body) {
      var resp;
      try {
        resp = await ctx.api(method, where, body);
      } catch (e) {
        ctx.report(t("error.network"));
        return false;
      }
      if (!resp.ok) {
        ctx.report(await C.describeFailure(resp));
        return false;
      }
      return true;
    }

    function button(label, cls, onClick) {
      var b = C.el("button", { type: "button", class: cls || "secondary small", text: label });
      b.addEventListener("click", function () {
        var menu = b.closest("details");
        if (menu) { menu.open = false; } /* done with this menu: the stage re-renders anyway */
        b.disabled = true;
        function done() { b.disabled = false; }
        Promise.resolve(onClick()).then(done, done); /* ES2017: no .finally */
      });
      return b;
    }

    /* The menu of what I may do to one stage member, or null (nothing, or it is me). */
    function memberControls(member) {
      var actor = ctx.role();
      var me = ctx.me();
      var handle = member.handle;
      if (!isStaff(actor) || !me || handle.toLowerCase() === me) { return null; }
      var name = "@" + handle;
      var items = [];
      if (!member.muted && mayMute(actor, false)) {
        items.push(button(t("sp.host.mute"), null, function () {
          return act("POST", path(["stage", handle, "mute"]));
        }));
      }
      if (member.role === "speaker" && mayPutOnStage(actor, "speaker", "cohost", false)) {
        items.push(button(t("sp.host.makeCohost"), null, function () {
          return act("PUT", path(["stage", handle]), { role: "cohost" });
        }));
      }
      if (member.role === "cohost" && mayPutOnStage(actor, "cohost", "speaker", false)) {
        items.push(button(t("sp.host.makeSpeaker"), null, function () {
          return act("PUT", path(["stage", handle]), { role: "speaker" });
        }));
      }
      if (mayTakeOff(actor, false, member.role)) {
        items.push(button(t("sp.host.toAudience"), null, function () {
          return act("DELETE", path(["stage", handle]));
        }));
      }
      if (mayRemove(actor, member.role)) {
        items.push(button(t("sp.host.remove"), "button-danger small", async function () {
          if (await ctx.confirm(t("sp.host.removeConfirm", { name: name }), t("sp.host.remove"))) {
            return act("POST", path(["removals", handle]));
          }
          return false;
        }));
      }
      if (items.length === 0) { return null; }
      var summary = C.el("summary", { class: "manage-toggle", "aria-label": t("sp.host.manage", { name: name }) }, ["\u22EF"]);
      return C.el("details", { class: "manage" }, [summary, C.el("div", { class: "menu", role: "group" }, items)]);
    }

    /* The queue of requests to speak, each with Approve and Decline. */
    function renderRequests(list, requests) {
      var actor = ctx.role();
      var items = requests.map(function (r) {
        var name = "@" + r.handle;
        var approve = button(t("sp.host.approve"), "small", function () {
          return act("PUT", path(["stage", r.handle]), { role: "speaker" });
        });
        approve.setAttribute("aria-label", t("sp.host.approveLabel", { name: name }));
        approve.disabled = !mayPutOnStage(actor, "listener", "speaker", false);
        var decline = button(t("sp.host.decline"), null, function () {
          return act("DELETE", path(["requests", r.handle]));
        });
        decline.setAttribute("aria-label", t("sp.host.declineLabel", { name: name }));
        return C.el("li", { class: "request", "data-handle": r.handle }, [
          C.avatar(r, "sm"),
          C.el("span", { class: "who" }, [C.bdi(r.display_name || r.handle, "name"), " ",
            C.el("span", { class: "handle", dir: "ltr", text: name })]),
          C.el("span", { class: "actions" }, [approve, decline]),
        ]);
      });
      if (items.length === 0) {
        items.push(C.el("li", { class: "empty", text: t("sp.host.noRequests") }));
      }
      list.replaceChildren.apply(list, items);
    }

    async function invite(handle) {
      var h = String(handle || "").trim().replace(/^@/, "");
      if (!/^[A-Za-z0-9_]{1,32}$/.test(h)) {
        ctx.report(t("sp.host.inviteBad"));
        return false;
      }
      return act("PUT", path(["stage", h]), { role: "speaker" });
    }

    return {
      memberControls: memberControls,
      renderRequests: renderRequests,
      invite: invite,
      act: act,
    };
  }

  window.MajlisSpaceHost = Object.freeze({
    create: create,
    isStaff: isStaff,
    mayMute: mayMute,
    mayTakeOff: mayTakeOff,
  });
})();
