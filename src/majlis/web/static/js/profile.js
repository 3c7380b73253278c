/* A profile (/@handle): names, follower counts, follow/unfollow, and their live and upcoming
   Spaces. The names arrive server-rendered (escaped, dir="auto"); the counts and the follow
   state come from the API (`followed_by_me` when signed in). */
import "./strings/profile.js";
import * as C from "./common.js";
import * as S from "./session.js";
import * as I18N from "./i18n.js";
import * as Shell from "./shell.js";

var account = null;
var spaces = [];
var past = [];
var busy = false;

window.majlis = { page: "profile", loaded: false };

function $(id) { return document.getElementById(id); }
function handle() { return $("follow").getAttribute("data-handle"); }

function render() {
  if (!account) { return; }
  var me = S.account();
  var mine = me && me.handle.toLowerCase() === account.handle.toLowerCase();
  $("profile-avatar").replaceWith(Object.assign(C.avatar(account, "xl"), { id: "profile-avatar" }));
  $("followers-count").textContent = I18N.number(account.followers_count);
  $("following-count").textContent = I18N.number(account.following_count);
  $("followers-label").textContent = I18N.plural("profile.followers", account.followers_count);
  var button = $("follow");
  button.hidden = Boolean(mine);
  $("profile-self").hidden = !mine;
  var following = Boolean(account.followed_by_me);
  button.setAttribute("aria-pressed", following ? "true" : "false");
  button.className = following ? "button-quiet" : "";
  button.textContent = I18N.t(following ? "profile.unfollow" : "profile.follow");
  button.setAttribute("aria-label", I18N.t(following ? "profile.unfollowLabel" : "profile.followLabel", { name: "\u2068" + account.display_name + "\u2069" }));
  var list = $("profile-spaces");
  list.replaceChildren.apply(list, spaces.map(C.spaceCard));
  $("profile-spaces-empty").hidden = spaces.length > 0;
  var pastList = $("profile-past");
  pastList.replaceChildren.apply(pastList, past.map(C.spaceCard));
  $("profile-past-section").hidden = past.length === 0;
  Shell.setTitle(account.display_name + " (@" + account.handle + ")");
}

function status(text, kind) {
  $("profile-status").textContent = text || "";
  $("profile-status").className = "status" + (kind ? " notice " + kind : "");
}

async function loadAccount() {
  var response = await S.api("GET", "/api/v1/accounts/" + encodeURIComponent(handle()));
  if (!response.ok) { status(await C.describeFailure(response), "error"); return; }
  account = await response.json();
}

/* This host's Spaces, live and upcoming first; past ones link to their replay (the Space
   page plays it). */
var PAST_SHOWN = 6;

async function loadSpaces() {
  var host = encodeURIComponent(handle());
  var pages = await Promise.all([["live", 100], ["scheduled", 100], ["ended", PAST_SHOWN]].map(async function (q) {
    var response = await S.api("GET", "/api/v1/spaces?state=" + q[0] + "&limit=" + q[1] + "&host=" + host);
    return response.ok ? (await response.json()).items || [] : [];
  }));
  spaces = pages[0].concat(pages[1]);
  past = pages[2];
}

async function load() {
  try {
    await Promise.all([loadAccount(), loadSpaces()]);
    window.majlis.loaded = true;
  } catch (e) {
    status(I18N.t("error.network"), "error");
  }
  render();
}

async function toggle() {
  if (busy || !account) { return; }
  if (!S.account()) {
    window.location.assign("/signin?next=" + encodeURIComponent(window.location.pathname));
    return;
  }
  busy = true;
  var button = $("follow");
  button.disabled = true;
  var follow = !account.followed_by_me;
  try {
    var response = await S.api(follow ? "POST" : "DELETE", "/api/v1/accounts/" + encodeURIComponent(account.handle) + "/follow");
    if (response.ok) {
      status("");
      await loadAccount();
    } else {
      status(await C.describeFailure(response), response.status === 429 || response.status === 503 ? "wait" : "error");
    }
  } catch (e) {
    status(I18N.t("error.network"), "error");
  }
  busy = false;
  button.disabled = false;
  render();
  button.focus();
}

document.addEventListener("DOMContentLoaded", function () {
  if (!$("follow")) { return; } /* the "no such account" page */
  $("follow").addEventListener("click", toggle);
  $("profile-signout").addEventListener("click", async function () {
    await S.signOut();
    window.location.assign("/");
  });
  document.addEventListener("majlis:lang", render);
  document.addEventListener("majlis:session", load);
  load();
});
