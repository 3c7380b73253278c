/* majlis Space page, who may do what on the stage: src/majlis/domain/policy.py in JavaScript,
   so that a control someone may not use is never shown. The server enforces the rules anyway
   (its refusal, a problem detail, is shown if the two ever disagree), and
   tests/web/test_space_policy.py runs every function here against policy.py over every role,
   target and flag, so they cannot drift apart unnoticed. */

var STAFF = { host: true, cohost: true };

export function isStaff(role) { return Boolean(STAFF[role]); }

/* PUT stage/{handle} {role}: invite a listener, or change a speaker's or cohost's role. */
export function mayPutOnStage(actor, target, newRole, isSelf) {
  if (target === "host") { return false; }
  if (actor === "host") { return true; }
  if (isSelf && actor === "cohost" && newRole === "speaker") { return true; }
  return actor === "cohost" && newRole === "speaker" && (target === "listener" || target === "speaker");
}

/* DELETE stage/{handle}: back to listener. The host leaves only by ending the Space. */
export function mayTakeOff(actor, isSelf, target) {
  if (target === "host") { return false; }
  if (isSelf || actor === "host") { return true; }
  return actor === "cohost" && target === "speaker";
}

export function mayMute(actor, isSelf) { return isSelf || isStaff(actor); }

export function mayRemove(actor, target) {
  if (target === "host") { return false; }
  if (actor === "host") { return true; }
  return actor === "cohost" && (target === "speaker" || target === "listener");
}

/* See the queue of requests and decline them (anyone may withdraw their own). */
export function mayManageRequests(actor) { return isStaff(actor); }

/* Start and end are the host's alone. */
export function mayRunSpace(actor) { return actor === "host"; }
