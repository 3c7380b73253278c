/* majlis Space page, the Space's event stream (Server-Sent Events): the stage, mutes, requests,
   removals, reactions, who is speaking and the Space's state, as they happen. A listener in a
   large audience holds none (wantsEvents): the cacheable snapshot moves the page instead. */
import * as C from "./common.js";
import {
  captionsFromSnapshot, onCaption, onCaptionsDelayed, onCaptionsSwitch, onTranscriptDeleted,
} from "./space-captions.js";
import { load, stopCounting } from "./space-join.js";
import { audio, roomMoved, stopReconnecting, syncAudio } from "./space-onstage.js";
import { mayManageRequests } from "./space-policy.js";
import { followComments, loadComments, onCommentEvent, pollComments } from "./space-comments.js";
import { setLink } from "./space-link.js";
import { floatReactions } from "./space-reactions.js";
import { render } from "./space-render.js";
import { loadRequests, onRequestEvent } from "./space-requests.js";
import { markSpeaking, onMuteEvent, onStageEvent, updateRole } from "./space-stage.js";
import {
  app, base, cancel, debug, isLive, later, me, model, say, sameHandle, setPhase, token,
} from "./space-state.js";

var events = null;
var eventFailures = 0;

/* Whether the stream is open: without it the snapshot also moves the stage. */
export function streaming() { return events !== null; }

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
  on("snapshot", function (snap) {
    applySnapshot(snap);
    loadComments(); /* the stream (re)connected: comments made meanwhile are only in the list */
  });
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
  on("mute", onMuteEvent);
  on("request", onRequestEvent);
  on("removed", function (ev) {
    if (sameHandle(ev.handle, me())) { removedFromSpace(); }
  });
  on("reactions", function (ev) { floatReactions(ev.counts || {}); });
  on("link", function (ev) { setLink(ev.link); });
  on("comment", onCommentEvent);
  on("speaking", function (ev) { markSpeaking(ev.handles); });
  on("caption", onCaption);
  on("captions", onCaptionsSwitch);
  on("captions_delayed", onCaptionsDelayed);
  on("transcript_deleted", onTranscriptDeleted);
  /* The Space's room moved to another media node (its node died): a stage member's WebRTC
     connection went with it, though the browser only notices seconds later. Offer again now. */
  on("moved", roomMoved);
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

export function syncEvents() {
  if (!model.space || model.space.state === "ended") { return; }
  debug.streaming = wantsEvents();
  if (debug.streaming) { openEvents(); } else { closeEvents(); pollComments(); }
}

export function closeEvents() {
  cancel("events");
  if (events) {
    events.close();
    events = null;
  }
}

/* The whole stage at once: from the stream when it (re)connects, or from a polled snapshot. */
export function applySnapshot(snap) {
  model.stage = (snap.stage || []).slice();
  model.speaking = snap.speaking || [];
  if (model.space && "link" in snap) { model.space.link = snap.link; }
  captionsFromSnapshot(snap.captions);
  if (typeof snap.listener_count === "number" && snap.state === "live") { debug.listenerCount = snap.listener_count; }
  if (model.space && snap.state !== model.space.state) { return load(1); }
  updateRole();
  render();
  syncAudio();
  /* The stream (re)connected: requests made while it was away are only in the queue itself. */
  if (mayManageRequests(debug.role) && isLive()) { loadRequests(); }
  return undefined;
}

function removedFromSpace() {
  closeEvents();
  stopCounting();
  stopReconnecting();
  audio.hangUp(token()); /* also releases a microphone kept for a reconnect */
  audio.stopListening();
  setPhase("removed");
  say("sp.removed", null, true);
  model.stage = model.stage.filter(function (m) { return !sameHandle(m.handle, me()); });
  updateRole();
  render();
}

followComments(streaming);
