/* majlis Space page, the audience: beside the count in the head, the faces of people I follow
   who are listening now (GET /api/v1/spaces/{id}/audience, signed in only: it is about me, so
   it is not in the snapshot everyone shares and edges cache). Asked every 20 s while live, and
   never while the page is in the background. */
import * as C from "./common.js";
import { base, isLive, later, t, token } from "./space-state.js";

var EVERY_S = 20;
var SHOWN = 5;
var faces = document.getElementById("audience-faces");
var line = document.getElementById("audience-line");
var section = document.getElementById("audience");

function sentence(people) {
  var names = people.map(function (p) { return "\u2068" + (p.display_name || p.handle) + "\u2069"; });
  if (people.length === 1) { return t("sp.audience.followedOne", { a: names[0] }); }
  if (people.length === 2) { return t("sp.audience.followedTwo", { a: names[0], b: names[1] }); }
  return t("sp.audience.followedMore", { a: names[0], b: names[1], n: people.length - 2 });
}

export function renderAudience(followed) {
  var people = followed || [];
  section.hidden = people.length === 0;
  faces.replaceChildren.apply(faces, people.slice(0, SHOWN).map(function (p) {
    return C.el("li", {}, [C.avatar(p, "sm")]);
  }));
  line.textContent = people.length ? sentence(people) : "";
}

async function poll() {
  if (!isLive() || !token()) { renderAudience([]); return later("audience", EVERY_S, poll); }
  if (document.visibilityState === "visible") {
    try {
      var resp = await fetch(base + "/audience", { headers: { Accept: "application/json", Authorization: "Bearer " + token() } });
      if (resp.ok) { renderAudience((await resp.json()).followed); }
    } catch (e) { /* the next poll tries again */ }
  }
  return later("audience", EVERY_S, poll);
}

export function startAudience() { later("audience", 1, poll); }
