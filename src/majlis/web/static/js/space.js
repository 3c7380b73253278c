/* majlis Space page: one page for listener, speaker, cohost and host, in every state (scheduled,
   doors open, live, ended with its replay).

   It reads the Space JSON once, then follows the Space's event stream (stage, mute, requests,
   reactions, who is speaking, state) and polls the cacheable snapshot for the listener count.
   Listeners join (counted, heartbeats) and hear LL-HLS; people on stage speak and hear over WHIP
   (space-audio.js switches between the two without a reload); staff get the controls of
   space-host.js.

   Calm under load: a 503 or 429 on join (or anywhere) waits Retry-After times a random 0.5-1.5
   before the next try, so a crowd spreads out; nothing here retries without waiting.
   `window.majlis` mirrors the page's state for tests and for anyone debugging from the console. */
(function () {
  "use strict";

  var C = window.MajlisCommon;
  var I = window.MajlisI18n;
  var S = window.MajlisSession;
  var EMOJI = ["\uD83D\uDC9C", "\uD83D\uDE02", "\uD83D\uDC4F", "\uD83D\uDD25", "\uD83D\uDE4F", "\uD83D\uDC4B", "\uD83D\uDCAF", "\uD83D\uDE32"];
  var MAX_FLOATS = 24;

  var app = document.getElementById("app");
  var spaceId = app.getAttribute("data-space-id");
  var base = "/api/v1/spaces/" + encodeURIComponent(spaceId);
  var params = new URLSearchParams(window.location.search);
  function $(id) { return document.getElementById(id); }
  var els = {
    state: $("state"), listeners: $("listeners"), title: $("title"), hostLine: $("host-line"),
    when: $("when"), shareUrl: $("share-url"), share: $("share"), shareStatus: $("share-status"),
    scheduled: $("scheduled"), startsAt: $("starts-at"), reminder: $("reminder"), start: $("start"),
    play: $("play"), status: $("status"), error: $("error"), player: $("player"), remote: $("remote"),
    downloadLine: $("download-line"), download: $("download"),
    me: $("me"), meHint: $("me-hint"), mic: $("mic"), connect: $("connect"), leave: $("leave"),
    request: $("request"), withdraw: $("withdraw"), signinLink: $("signin-link"),
    stage: $("stage"), stageHeading: $("stage-heading"), reactions: $("reactions"), emoji: $("emoji"), floats: $("floats"),
    host: $("host"), requests: $("requests"), inviteForm: $("invite-form"), inviteHandle: $("invite-handle"),
    end: $("end"), confirm: $("confirm"), confirmText: $("confirm-text"), confirmOk: $("confirm-ok"),
  };

  var debug = {
    page: "space", spaceId: spaceId, state: app.getAttribute("data-state"), phase: "loading",
    role: "listener", message: "", listenerId: null, joinAttempts: 0, joinStatuses: [], retryInS: null,
    heartbeats: 0, heartbeatFailures: 0, snapshots: 0, events: 0, listenerCount: null, stage: [],
    speaking: [], requestPending: false, streaming: null, player: null, playing: false, currentTime: 0,
    autoplayBlocked: false, playerRestarts: 0, hlsErrors: [], dashErrors: [], dashRepresentation: null, liveLatency: null, hearing: null, constraints: null,
    whipStatus: null, sessionUrl: null, connectionState: null, remoteTracks: 0, packetsSent: 0,
    packetsReceived: 0, totalSamplesReceived: 0, reconnecting: false, reconnects: 0, drops: 0, muted: true, reactionsSent: 0, reactionsReceived: 0,
    reload: window.performance && performance.timeOrigin,
  };
  window.majlis = debug;

  var model = { space: null, stage: [], speaking: [], requests: [], joined: null, joinBusy: false, connecting: false, reminder: false, reminderAsked: false };
  var timers = {};
  var status = { key: "sp.loading", params: null, error: false };
  var events = null;
  var eventFailures = 0;
  var ownReactions = {};

  function t(key, p) { return I.t(key, p); }
  function token() { return S.token(); }
  function me() {
    var a = S.account();
    return a && a.handle ? String(a.handle).toLowerCase() : null;
  }
  function api(method, path, body) { return S.api(method, path, body); }

  function later(name, seconds, fn) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(function () { delete timers[name]; fn(); }, Math.max(0, seconds) * 1000);
  }
  function cancel(name) {
    clearTimeout(timers[name]);
    delete timers[name];
  }

  /* ---- words on the page --------------------------------------------------------------------- */

  function renderStatus() {
    var text = status.key ? t(status.key, status.params) : (status.text || "");
    debug.message = text;
    els.status.textContent = text;
    els.status.classList.toggle("error", status.error);
  }
  function say(key, p, isError) {
    status = { key: key, params: p || null, error: Boolean(isError) };
    renderStatus();
  }
  function sayText(text, isError) {
    status = { key: null, text: text, params: null, error: Boolean(isError) };
    renderStatus();
  }
  function report(text) { els.error.textContent = text || ""; }

  function setPhase(phase) {
    debug.phase = phase;
    app.setAttribute("data-phase", phase);
  }

  var audio = window.MajlisSpaceAudio.create({
    player: els.player,
    remote: els.remote,
    debug: debug,
    raw: params.get("raw") === "1",
    token: token,
    status: function (key, p, isError) {
      say(key, p, isError);
      renderPlay();
    },
    onHeard: function (kind) {
      renderPlay();
      if (kind === "hls") { say(debug.reconnecting ? "sp.reconnecting" : "sp.audio.live"); }
      if (kind === "replay") { say("sp.audio.replay"); }
      if (kind === "webrtc") { say(debug.muted ? "sp.me.onStageMuted" : "sp.me.onStageLive"); }
    },
    onStage: function (what) {
      if (what === "dropped") { stageAudioDropped(); }
      if (what === "connected" && debug.reconnecting) {
        debug.reconnecting = false;
        debug.reconnects += 1;
        model.whipRetries = 0;
      }
      renderMe();
    },
  });

  var host = window.MajlisSpaceHost.create({
    t: t, api: api, base: base, role: function () { return debug.role; }, me: me,
    report: report, confirm: confirmDialog,
  });

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

  /* ---- rendering ----------------------------------------------------------------------------- */

  function doorsOpen(space) { return space.state === "scheduled" && Boolean(space.hls_url); }
  function audible(space) { return space.state === "live" || doorsOpen(space); }

  function myMember() {
    var h = me();
    if (!h) { return null; }
    for (var i = 0; i < model.stage.length; i++) {
      if (String(model.stage[i].handle).toLowerCase() === h) { return model.stage[i]; }
    }
    return null;
  }

  function renderHead() {
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
      when = t("space.startsAt", { when: I.date(space.scheduled_start, { dateStyle: "full", timeStyle: "short" }) });
    } else if (space.state === "live" && space.started_at) {
      when = t("space.startedAt", { when: I.relative(space.started_at) });
    } else if (space.state === "ended" && space.ended_at) {
      when = t("space.endedAt", { when: I.relative(space.ended_at) });
    }
    els.when.textContent = when;
    els.shareUrl.value = C.absoluteUrl(space.url || C.spaceUrl(space));
    renderCount();
  }

  function renderCount() {
    var space = model.space;
    if (!space || space.state === "ended" || typeof debug.listenerCount !== "number") {
      els.listeners.textContent = "";
      return;
    }
    els.listeners.textContent = C.listenersText(debug.listenerCount);
  }

  function renderStage() {
    var talking = {};
    model.speaking.forEach(function (h) { talking[String(h).toLowerCase()] = true; });
    debug.stage = model.stage.map(function (m) { return m.handle; });
    debug.speaking = model.speaking.slice();
    var mine = me();
    var items = model.stage.map(function (m) {
      var key = String(m.handle).toLowerCase();
      var speaking = Boolean(talking[key]) && !m.muted;
      var label = [m.display_name || m.handle, t("role." + m.role)];
      if (m.muted) { label.push(t("sp.stage.muted")); }
      var li = C.el("li", {
        class: "member", "data-handle": m.handle, "data-role": m.role,
        "data-speaking": speaking ? "true" : "false", "data-muted": m.muted ? "true" : "false",
      }, [
        C.el("span", { class: "ring" }, [C.avatar(m, "lg")]),
        C.bdi(m.display_name || m.handle, "name"),
        C.el("span", { class: "role", text: t("role." + m.role) + (key === mine ? " \u00b7 " + t("sp.stage.you") : "") }),
        C.el("span", { class: "mic-state", "aria-hidden": "true", text: m.muted ? "\uD83D\uDD07" : "\uD83C\uDF99\uFE0F" }),
        C.el("span", { class: "visually-hidden", text: label.slice(2).join(", ") }),
      ]);
      var controls = host.memberControls(m);
      if (controls) { li.appendChild(controls); }
      return li;
    });
    if (items.length === 0) { items.push(C.el("li", { class: "empty", text: t("sp.stage.empty") })); }
    els.stageHeading.textContent = t(model.space && model.space.state === "ended" ? "sp.stage.headingEnded" : "sp.stage.heading");
    /* A rebuild must not close an open management menu nor take keyboard focus away from it. */
    var open = els.stage.querySelector("details[open]");
    var openHandle = open ? open.closest("li").getAttribute("data-handle") : null;
    var focused = document.activeElement && els.stage.contains(document.activeElement) ? document.activeElement : null;
    var focusLi = focused ? focused.closest("li") : null;
    var focusHandle = focusLi ? focusLi.getAttribute("data-handle") : null;
    var focusAt = focusLi ? Array.prototype.indexOf.call(focusLi.querySelectorAll("summary, button"), focused) : -1;
    els.stage.replaceChildren.apply(els.stage, items);
    function itemOf(handle) { return els.stage.querySelector('li[data-handle="' + CSS.escape(handle) + '"]'); }
    if (openHandle && itemOf(openHandle)) {
      var again = itemOf(openHandle).querySelector("details");
      if (again) { again.open = true; }
    }
    if (focusHandle && focusAt >= 0 && itemOf(focusHandle)) {
      var target = itemOf(focusHandle).querySelectorAll("summary, button")[focusAt];
      if (target) { target.focus(); }
    }
  }

  /* Who is speaking changes several times a second: move the rings without rebuilding the stage
     (a rebuild would steal keyboard focus from a staff menu). */
  function markSpeaking() {
    var talking = {};
    model.speaking.forEach(function (h) { talking[String(h).toLowerCase()] = true; });
    debug.speaking = model.speaking.slice();
    els.stage.querySelectorAll("li.member").forEach(function (li) {
      var on = Boolean(talking[String(li.getAttribute("data-handle")).toLowerCase()]) &&
        li.getAttribute("data-muted") !== "true";
      li.setAttribute("data-speaking", on ? "true" : "false");
    });
  }

  function renderMe() {
    var space = model.space;
    var member = myMember();
    var signedIn = Boolean(me());
    var live = space && space.state === "live";
    var onAir = audio.onAir();
    debug.muted = member ? Boolean(member.muted) : true;
    els.me.hidden = !space || space.state === "ended";
    els.signinLink.hidden = signedIn;
    els.signinLink.setAttribute("href", "/signin?next=" + encodeURIComponent(window.location.pathname));
    els.request.hidden = !(signedIn && live && !member && !debug.requestPending);
    els.withdraw.hidden = !(signedIn && live && !member && debug.requestPending);
    els.leave.hidden = !(member && member.role !== "host" && live);
    els.mic.hidden = !(member && onAir && debug.connectionState === "connected");
    els.connect.hidden = !(member && live && !onAir && !model.connecting);
    els.mic.textContent = t(debug.muted ? "sp.mic.unmute" : "sp.mic.mute");
    els.mic.setAttribute("aria-pressed", debug.muted ? "true" : "false");
    els.mic.classList.toggle("secondary", !debug.muted);
    var hint = "";
    if (!signedIn) { hint = "sp.me.signedOut"; }
    else if (member && model.connecting) { hint = "sp.me.connecting"; }
    else if (member && debug.muted) { hint = "sp.me.unmuteToTalk"; }
    else if (member) { hint = "sp.me.talking"; }
    else if (debug.requestPending) { hint = "sp.me.requested"; }
    else if (live) { hint = "sp.me.listener"; }
    els.meHint.textContent = hint ? t(hint) : "";
    var staff = window.MajlisSpaceHost.isStaff(debug.role);
    els.host.hidden = !(staff && live);
    els.end.hidden = !(debug.role === "host" && space && space.state !== "ended");
    els.reactions.hidden = !live; /* reactions are for the live show, not the pre-show */
    els.emoji.querySelectorAll("button").forEach(function (b) { b.disabled = !signedIn; });
  }

  function renderScheduled() {
    var space = model.space;
    var scheduled = Boolean(space && space.state === "scheduled");
    els.scheduled.hidden = !scheduled;
    if (!scheduled) { return; }
    els.startsAt.textContent = space.scheduled_start
      ? t("sp.scheduled.startsAt", { when: I.date(space.scheduled_start, { dateStyle: "full", timeStyle: "short" }), rel: I.relative(space.scheduled_start) })
      : "";
    var isHost = me() && space.host && String(space.host.handle).toLowerCase() === me();
    els.start.hidden = !isHost;
    els.reminder.hidden = !me() || isHost;
    var on = model.reminder === true;
    if (!isHost) { loadReminder(); }
    els.reminder.textContent = t(on ? "sp.reminder.off" : "sp.reminder.on");
    els.reminder.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function renderPlay() {
    var space = model.space;
    var replay = space && space.state === "ended" && space.replay_url;
    var canPlay = audio.isListening() || audio.onAir() || Boolean(replay);
    els.play.hidden = debug.hearing === "webrtc" && audio.onAir() && !debug.autoplayBlocked;
    els.play.disabled = !canPlay;
    els.play.textContent = t(debug.playing ? "sp.pause" : "sp.play");
  }

  function render() {
    renderHead();
    renderScheduled();
    renderStage();
    renderMe();
    renderPlay();
    renderStatus();
    if (window.MajlisSpaceHost.isStaff(debug.role)) { host.renderRequests(els.requests, model.requests); }
  }

  /* ---- the Space and its state --------------------------------------------------------------- */

  async function load(attempt) {
    var resp;
    try {
      resp = await fetch(base, { headers: { Accept: "application/json" }, cache: "no-cache" });
    } catch (e) {
      return waitThen("offline", "sp.offline", C.backoff(attempt, 2, 60), function () { load(attempt + 1); });
    }
    if (resp.status === 404) {
      setPhase("gone");
      return sayText(await C.problemDetail(resp), true);
    }
    if (!resp.ok) {
      var busy = resp.status === 429 || resp.status === 503;
      return waitThen(busy ? "waiting" : "offline", busy ? "sp.busy" : "sp.offline",
        busy ? C.jitter(C.retryAfterSeconds(resp, 5)) : C.backoff(attempt, 2, 60),
        function () { load(attempt + 1); });
    }
    apply(await resp.json());
  }

  function apply(space) {
    model.space = space;
    model.stage = (space.stage || []).slice();
    if (typeof space.listener_count === "number" && space.state !== "ended") { debug.listenerCount = space.listener_count; }
    updateRole();
    if (space.state === "ended") {
      ended();
    } else {
      /* An audible Space is joined first: join says whether a listener streams its events. */
      if (model.joined || !audible(space) || debug.role !== "listener") { syncEvents(); }
      if (audible(space)) {
        if (!model.joined && !model.joinBusy) { join(1); }
      } else {
        setPhase("scheduled");
        say("sp.scheduled.wait");
      }
      if (space.state === "live" && window.MajlisSpaceHost.isStaff(debug.role)) { loadRequests(); }
    }
    render();
    syncAudio();
  }

  function ended() {
    closeEvents();
    stopCounting();
    if (audio.onAir()) { audio.hangUp(token()); }
    if (debug.hearing !== "replay") { audio.stopListening(); }
    setPhase("ended");
    var space = model.space;
    model.speaking = [];
    debug.listenerCount = null;
    if (space.replay_url) {
      say("sp.replay.ready");
      els.downloadLine.hidden = false;
      els.download.setAttribute("href", space.recording_url || base + "/recording.m4a");
      if (!audio.isListening()) { audio.listen(space.replay_url, false); }
    } else {
      say("sp.replay.none");
    }
  }

  function waitThen(phase, key, seconds, fn) {
    debug.retryInS = seconds;
    setPhase(phase);
    say(key === "sp.busy" ? "sp.waiting" : key, { s: Math.ceil(seconds) }, phase === "offline");
    later("retry", seconds, function () {
      debug.retryInS = null;
      fn();
    });
  }

  /* ---- joining and staying counted ----------------------------------------------------------- */

  /* One join at a time: while one is in flight or waiting out Retry-After, events that reload the
     Space (it started, the stream reconnected) must not start another; that would be a retry
     without the wait. Stays set after a refusal (403/404): there is nothing to retry. */
  async function join(attempt) {
    model.joinBusy = true;
    debug.joinAttempts += 1;
    setPhase("joining");
    say("sp.joining");
    var resp;
    try {
      resp = await fetch(base + "/join", {
        method: "POST",
        headers: Object.assign({ Accept: "application/json" }, token() ? { Authorization: "Bearer " + token() } : {}),
      });
    } catch (e) {
      debug.joinStatuses.push(0);
      return waitThen("offline", "sp.offline", C.backoff(attempt, 2, 60), function () { join(attempt + 1); });
    }
    debug.joinStatuses.push(resp.status);
    if (resp.ok) {
      model.joinBusy = false;
      model.joined = await resp.json();
      debug.listenerId = model.joined.listener_id || null;
      setPhase("listening");
      scheduleHeartbeat();
      later("snapshot", 0, pollSnapshot);
      syncEvents();
      syncAudio();
      render();
      return undefined;
    }
    if (resp.status === 503 || resp.status === 429) {
      return waitThen("waiting", "sp.busy", C.jitter(C.retryAfterSeconds(resp, 5)), function () { join(attempt + 1); });
    }
    var detail = await C.problemDetail(resp);
    if (resp.status === 409) {
      /* Not live any more (or not yet): look again, calmly. */
      model.joinBusy = false;
      sayText(detail);
      return later("retry", C.jitter(3), function () { load(1); });
    }
    if (resp.status === 403 || resp.status === 404) {
      setPhase("refused");
      return sayText(detail, true);
    }
    return waitThen("offline", "sp.offline", C.backoff(attempt, 2, 60), function () { join(attempt + 1); });
  }

  function stopCounting() {
    model.joined = null;
    model.joinBusy = false;
    debug.listenerId = null;
    cancel("heartbeat");
    cancel("snapshot");
    cancel("retry");
  }

  function scheduleHeartbeat() {
    if (!model.joined) { return; }
    later("heartbeat", Math.max(1, Number(model.joined.heartbeat_interval_s) || 30), heartbeat);
  }

  async function heartbeat() {
    var current = model.joined;
    if (!current) { return; }
    var resp = null;
    try {
      resp = await fetch(current.heartbeat_url, { method: "POST" });
    } catch (e) { /* offline for a moment: the next beat may get through */ }
    if (current !== model.joined) { return; }
    if (resp && resp.ok) {
      debug.heartbeats += 1;
    } else {
      debug.heartbeatFailures += 1;
      if (resp && (resp.status === 404 || resp.status === 409)) {
        /* This listener id is unknown now, or the Space changed state: look again. */
        stopCounting();
        return later("retry", C.jitter(2), function () { load(1); });
      }
    }
    scheduleHeartbeat();
  }

  async function pollSnapshot() {
    var current = model.joined;
    if (!current) { return; }
    try {
      var resp = await fetch(current.snapshot_url, { headers: { Accept: "application/json" } });
      if (current !== model.joined) { return; }
      if (resp.ok) {
        var snap = await resp.json();
        debug.snapshots += 1;
        debug.listenerCount = snap.listener_count;
        renderCount();
        if (!events) { /* the event stream is refused: the snapshot stands in */
          applySnapshot(snap);
          floatReactions(reactionsSince(snap.reactions || {}));
        } else {
          lastRecent = null;
        }
      }
    } catch (e) { /* try again at the next tick */ }
    /* Every 5 s for the count; every 2 s while the event stream is refused (a full node bounds
       its streams), since then the snapshot, cacheable at the edges, also moves the stage. */
    if (current === model.joined) { later("snapshot", document.hidden ? 15 : (events ? 5 : 2), pollSnapshot); }
  }

  /* ---- the event stream ---------------------------------------------------------------------- */

  function openEvents() {
    if (events || typeof EventSource === "undefined") { return; }
    var source = new EventSource(base + "/events");
    events = source;
    function on(type, fn) {
      source.addEventListener(type, function (e) {
        if (source !== events) { return; }
        debug.events += 1;
        var data;
        try { data = JSON.parse(e.data); } catch (err) { return; }
        eventFailures = 0;
        fn(data);
      });
    }
    on("snapshot", applySnapshot);
    /* Every listener hears "started" or "ended" at the same instant: spread the reload of the
       Space over a second and a half, so a full house does not arrive in one millisecond. */
    on("state", function (ev) {
      if (model.space && ev.state) {
        model.space.state = ev.state;
        debug.state = ev.state;
        app.setAttribute("data-state", ev.state);
      }
      later("load", Math.random() * 1.5, function () { load(1); });
    });
    on("stage", onStageEvent);
    on("mute", function (ev) {
      model.stage.forEach(function (m) {
        if (m.handle.toLowerCase() === String(ev.handle).toLowerCase()) { m.muted = Boolean(ev.muted); }
      });
      if (String(ev.handle).toLowerCase() === me()) { audio.setMic(!ev.muted); }
      renderStage();
      renderMe();
      if (debug.hearing === "webrtc") { say(ev.muted && String(ev.handle).toLowerCase() === me() ? "sp.me.onStageMuted" : status.key, status.params); }
    });
    on("request", onRequestEvent);
    on("removed", function (ev) {
      if (String(ev.handle).toLowerCase() === me()) { removedFromSpace(); }
    });
    on("reactions", function (ev) { floatReactions(ev.counts || {}); });
    on("speaking", function (ev) {
      model.speaking = ev.handles || [];
      markSpeaking();
    });
    source.addEventListener("error", function () {
      if (source !== events || source.readyState !== EventSource.CLOSED) { return; } /* reconnecting */
      /* Refused (e.g. 503): reopen ourselves, later and jittered, unless the Space is over. */
      events = null;
      eventFailures += 1;
      if (model.space && model.space.state !== "ended") {
        later("events", C.backoff(eventFailures, 3, 60), openEvents);
      }
    });
  }

  /* Whether this page holds the Space's event stream. The stage and staff always (requests,
     mutes and removals are theirs to act on at once), and a listener who asked to speak; other
     listeners unless join said the audience is past events_max_listeners (events: false): then
     the snapshot, which the edges cache, moves the page every 2 s and no origin node holds a
     connection for them. Before joining (a scheduled Space) the stream says when it starts. */
  function wantsEvents() {
    if (debug.role !== "listener" || debug.requestPending) { return true; }
    return !model.joined || model.joined.events !== false;
  }

  function syncEvents() {
    if (!model.space || model.space.state === "ended") { return; }
    debug.streaming = wantsEvents();
    if (debug.streaming) { openEvents(); } else { closeEvents(); }
  }

  function closeEvents() {
    cancel("events");
    if (events) {
      events.close();
      events = null;
    }
  }

  function applySnapshot(snap) {
    model.stage = (snap.stage || []).slice();
    model.speaking = snap.speaking || [];
    if (typeof snap.listener_count === "number" && snap.state === "live") { debug.listenerCount = snap.listener_count; }
    if (model.space && snap.state !== model.space.state) { return load(1); }
    updateRole();
    render();
    syncAudio();
    /* The stream (re)connected: requests made while it was away are only in the queue itself. */
    if (window.MajlisSpaceHost.isStaff(debug.role) && model.space && model.space.state === "live") { loadRequests(); }
    return undefined;
  }

  function onStageEvent(ev) {
    var key = String(ev.handle).toLowerCase();
    var kept = model.stage.filter(function (m) { return String(m.handle).toLowerCase() !== key; });
    if (ev.role) {
      var member = { handle: ev.handle, display_name: ev.display_name, role: ev.role, muted: Boolean(ev.muted) };
      var at = model.stage.findIndex(function (m) { return String(m.handle).toLowerCase() === key; });
      if (at >= 0) { kept.splice(at, 0, member); } else { kept.push(member); }
    }
    model.stage = kept;
    if (key === me()) {
      debug.requestPending = false;
      if (ev.role) { say(ev.muted ? "sp.me.welcomeMuted" : "sp.me.welcome"); }
    }
    updateRole();
    render();
    syncAudio();
  }

  function onRequestEvent(ev) {
    var key = String(ev.handle).toLowerCase();
    model.requests = model.requests.filter(function (r) { return String(r.handle).toLowerCase() !== key; });
    if (ev.action === "added") { model.requests.push({ handle: ev.handle, display_name: ev.display_name }); }
    if (key === me()) { debug.requestPending = ev.action === "added"; }
    render();
  }

  async function loadRequests() {
    try {
      var resp = await api("GET", base + "/requests");
      if (!resp.ok) { return; }
      var body = await resp.json();
      model.requests = body.items || body.requests || [];
      render();
    } catch (e) { /* the events keep the queue current anyway */ }
  }

  function updateRole() {
    var member = myMember();
    var before = debug.role;
    debug.role = member ? member.role : "listener";
    app.setAttribute("data-role", debug.role);
    if (before !== debug.role) { syncEvents(); }
    if (before !== debug.role && window.MajlisSpaceHost.isStaff(debug.role) && model.space && model.space.state === "live") {
      loadRequests();
    }
  }

  function removedFromSpace() {
    closeEvents();
    stopCounting();
    stopReconnecting();
    audio.hangUp(token()); /* also releases a microphone kept for a reconnect */
    audio.stopListening();
    setPhase("removed");
    say("sp.removed", null, true);
    model.stage = model.stage.filter(function (m) { return String(m.handle).toLowerCase() !== me(); });
    updateRole();
    render();
  }

  /* ---- which audio path ---------------------------------------------------------------------- */

  /* Brings the audio in line with the role: on stage (Space live) → WHIP; otherwise LL-HLS. */
  /* The live audio, the way join said to play it (dash_url where the browser can). */
  function listenLive() {
    var j = model.joined;
    audio.listen(j.hls_url, true, j.low_latency, j.dash_url);
  }

  function syncAudio() {
    var space = model.space;
    if (!space || space.state === "ended" || debug.phase === "removed") { return; }
    var member = myMember();
    if (member && space.state === "live") {
      if (!audio.onAir() && !model.connecting && !timers.whip) { goOnStage(1); }
      return;
    }
    stopReconnecting();
    if (!audio.onAir()) { audio.hangUp(token()); } /* a microphone kept for a reconnect */
    if (audio.onAir()) {
      /* Off the stage: the live stream first, so the audio continues, then hang up. */
      if (model.joined) { listenLive(); }
      audio.hangUp(token());
      debug.hearing = null;
      renderMe();
      return;
    }
    if (model.joined && !audio.isListening()) { listenLive(); }
  }

  async function goOnStage(attempt) {
    model.connecting = true;
    renderMe();
    var member = myMember();
    var result = await audio.speak(base + "/whip", token(), member ? member.muted : true);
    model.connecting = false;
    if (!result.ok && myMember()) {
      if (result.status === 403 || result.status === 409) {
        /* Not (or no longer) allowed on the stage: stop offering; the stage event follows. */
        stopReconnecting();
        audio.hangUp(token());
        if (result.detail) { report(result.detail); }
      } else if (result.retryAfterS) {
        later("whip", C.jitter(result.retryAfterS), function () { syncAudio(); });
        say(debug.reconnecting ? "sp.reconnecting" : "sp.waiting", { s: Math.ceil(result.retryAfterS) });
      } else if (debug.reconnecting) {
        /* The Space may be moving to another media node: offer again, backing off. */
        model.whipRetries = (model.whipRetries || 0) + 1;
        later("whip", C.backoff(model.whipRetries, 1, 30), function () { syncAudio(); });
        say("sp.reconnecting");
      } else if (result.key) {
        report(t(result.key, { detail: result.detail || "" }));
      } else if (result.detail) {
        report(result.detail);
      }
      /* Keep hearing the Space meanwhile. */
      if (model.joined && !audio.isListening()) { listenLive(); }
    } else if (result.ok) {
      report("");
    }
    renderMe();
    renderPlay();
    return attempt;
  }

  /* The WebRTC connection dropped while on stage (issue 6: its media node may have died and the
     Space moved to another): hear the Space over LL-HLS meanwhile and offer again by ourselves,
     soon and jittered (every speaker of a dead node comes back at once), keeping the microphone.
     Leaving the stage, being removed or a 403/409 answer stops it (stopReconnecting). */
  function stageAudioDropped() {
    debug.hearing = null;
    debug.drops += 1;
    if (model.joined && !audio.isListening()) { listenLive(); }
    var space = model.space;
    if (!myMember() || !space || space.state !== "live" || debug.phase === "removed") {
      audio.hangUp(token());
      return;
    }
    debug.reconnecting = true;
    model.whipRetries = 0;
    say("sp.reconnecting");
    later("whip", C.jitter(1), function () { syncAudio(); });
  }

  function stopReconnecting() {
    if (!debug.reconnecting) { return; }
    debug.reconnecting = false;
    cancel("whip");
  }

  /* ---- my own actions ------------------------------------------------------------------------ */

  async function run(button, method, path, body) {
    report("");
    button.disabled = true;
    try {
      var resp = await api(method, path, body);
      if (!resp.ok) {
        report(await C.describeFailure(resp));
        return null;
      }
      return resp;
    } catch (e) {
      report(t("error.network"));
      return null;
    } finally {
      button.disabled = false;
    }
  }

  function myPath(suffix) { return base + "/stage/" + encodeURIComponent(S.account().handle) + (suffix || ""); }

  els.request.addEventListener("click", async function () {
    var resp = await run(els.request, "POST", base + "/requests");
    if (resp || /already/i.test(els.error.textContent)) {
      debug.requestPending = true;
      syncEvents(); /* an answer to the request should not wait for the next snapshot */
      report("");
    }
    renderMe();
  });

  els.withdraw.addEventListener("click", async function () {
    if (await run(els.withdraw, "DELETE", base + "/requests/" + encodeURIComponent(S.account().handle))) {
      debug.requestPending = false;
    }
    renderMe();
  });

  els.mic.addEventListener("click", async function () {
    var member = myMember();
    if (!member) { return; }
    var muting = !member.muted;
    if (muting) { audio.setMic(false); } /* silent at once, before the server even hears of it */
    if (await run(els.mic, "POST", myPath(muting ? "/mute" : "/unmute"))) {
      member.muted = muting;
      if (!muting) { audio.setMic(true); }
      say(muting ? "sp.me.onStageMuted" : "sp.me.onStageLive");
    }
    renderStage();
    renderMe();
  });

  els.connect.addEventListener("click", function () { cancel("whip"); syncAudio(); });

  els.leave.addEventListener("click", async function () {
    if (await run(els.leave, "DELETE", myPath())) {
      onStageEvent({ handle: S.account().handle, role: null, muted: true });
      say("sp.me.left");
    }
  });

  els.play.addEventListener("click", function () {
    audio.togglePlay(model.space && model.space.state === "ended" ? model.space.replay_url : null);
  });
  els.player.addEventListener("playing", renderPlay);
  els.player.addEventListener("pause", renderPlay);

  els.start.addEventListener("click", async function () {
    var resp = await run(els.start, "POST", base + "/start");
    if (resp) { apply(await resp.json()); }
  });

  els.end.addEventListener("click", async function () {
    if (!(await confirmDialog(t("sp.host.endConfirm"), t("sp.host.end")))) { return; }
    var resp = await run(els.end, "POST", base + "/end");
    if (resp) { apply(await resp.json()); }
  });

  els.inviteForm.addEventListener("submit", async function (event) {
    event.preventDefault();
    report("");
    if (await host.invite(els.inviteHandle.value)) {
      els.inviteHandle.value = "";
      sayText(t("sp.host.invited"));
    }
  });

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

  /* ---- reactions ----------------------------------------------------------------------------- */

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

  /* Without the event stream, reactions are read from the snapshot's sliding ten-second totals:
     what grew since the last poll floats (an estimate: totals also shrink as buckets age out). */
  var lastRecent = null;
  function reactionsSince(recent) {
    var grown = {};
    if (lastRecent) {
      Object.keys(recent).forEach(function (emoji) {
        var d = (Number(recent[emoji]) || 0) - (Number(lastRecent[emoji]) || 0);
        if (d > 0) { grown[emoji] = d; }
      });
    }
    lastRecent = recent;
    return grown;
  }

  /* One aggregate per second arrives; my own reactions already floated when I sent them. */
  function floatReactions(counts) {
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

  /* ---- language changes and the start ------------------------------------------------------- */

  document.addEventListener("majlis:lang", function () {
    els.emoji.querySelectorAll("button").forEach(function (b) {
      b.setAttribute("aria-label", t("sp.react.send", { emoji: b.getAttribute("data-emoji") }));
    });
    render();
  });

  /* Signed in or out (here, or in another tab): who I am on this stage may have changed. */
  document.addEventListener("majlis:session", function () {
    if (!model.space) { return; }
    updateRole();
    render();
    syncAudio();
  });

  I.apply(document);
  load(1);
})();
