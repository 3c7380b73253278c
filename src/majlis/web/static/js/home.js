/* Home: Live now (people I follow), Upcoming (their scheduled Spaces), and every live Space,
   paged. Signed out: a welcome and every live Space. Data is kept, so a language switch only
   re-renders. The feeds refresh every 30 s (listener counts move); a 503/429 waits out its
   Retry-After with jitter, never a retry storm. */
import "./strings/home.js";
import * as C from "./common.js";
import * as S from "./session.js";
import * as I18N from "./i18n.js";
import * as Shell from "./shell.js";

var REFRESH_S = 30;
var PAGE = 12;

var state = { live: null, upcoming: null, all: [], cursor: null, error: null };
var timer = null;
var loading = false;
var stale = false;
var paged = false; /* the reader asked for more: a refresh would drop those pages */

window.majlis = { page: "home", loaded: false };

function $(id) { return document.getElementById(id); }

function renderList(listId, emptyId, spaces) {
  var list = $(listId);
  list.replaceChildren.apply(list, (spaces || []).map(C.spaceCard));
  $(emptyId).hidden = !spaces || spaces.length > 0;
}

function render() {
  var me = S.account();
  $("welcome").hidden = Boolean(me);
  $("live-now").hidden = !me;
  $("upcoming").hidden = !me;
  if (me) {
    renderList("live-now-list", "live-now-empty", state.live || []);
    renderList("upcoming-list", "upcoming-empty", state.upcoming || []);
    $("live-now-empty").hidden = state.live === null || state.live.length > 0;
    $("upcoming-empty").hidden = state.upcoming === null || state.upcoming.length > 0;
  }
  renderList("all-live-list", "all-live-empty", state.all);
  $("all-live-empty").hidden = state.error !== null || !window.majlis.loaded || state.all.length > 0;
  $("all-live-more").hidden = !state.cursor;
  $("home-status").textContent = state.error || "";
  $("home-status").className = state.error ? "status notice wait" : "status";
  Shell.setTitle(I18N.t("home.title"));
}

/* GET json or throw {response}; callers turn a failure into words. */
async function getJson(path) {
  var response = await S.api("GET", path);
  if (!response.ok) { throw { response: response }; }
  return response.json();
}

async function load() {
  if (loading) { return; }
  loading = true;
  clearTimeout(timer);
  var wait = REFRESH_S;
  try {
    var me = S.account();
    var jobs = [getJson("/api/v1/spaces?state=live&limit=" + PAGE)];
    if (me) { jobs.push(getJson("/api/v1/feed/live"), getJson("/api/v1/feed/upcoming")); }
    var results = await Promise.all(jobs);
    state.all = results[0].items || [];
    state.cursor = results[0].next_cursor || null;
    state.live = me ? results[1].items || [] : null;
    state.upcoming = me ? results[2].items || [] : null;
    state.error = null;
    window.majlis.loaded = true;
  } catch (failure) {
    if (failure && failure.response) {
      state.error = await C.describeFailure(failure.response);
      if (failure.response.status === 503 || failure.response.status === 429) {
        wait = C.retryAfterSeconds(failure.response, 5);
      }
    } else {
      state.error = I18N.t("error.network");
      wait = 5;
    }
  } finally {
    loading = false;
  }
  render();
  window.majlis.refreshes = (window.majlis.refreshes || 0) + 1;
  schedule(wait);
}

/* A tab in the background does not poll (a crowd of idle tabs is load for nothing); it
   refreshes when it is looked at again. */
function schedule(seconds) {
  clearTimeout(timer);
  if (document.hidden) { stale = true; return; }
  timer = setTimeout(load, C.jitter(seconds) * 1000);
}

async function more() {
  if (!state.cursor) { return; }
  var button = $("all-live-more");
  button.disabled = true;
  try {
    var page = await getJson("/api/v1/spaces?state=live&limit=" + PAGE + "&cursor=" + encodeURIComponent(state.cursor));
    state.all = state.all.concat(page.items || []);
    state.cursor = page.next_cursor || null;
    paged = true;
    clearTimeout(timer);
  } catch (failure) {
    state.error = failure && failure.response ? await C.describeFailure(failure.response) : I18N.t("error.network");
  }
  button.disabled = false;
  render();
}

function start() {
  $("all-live-more").addEventListener("click", more);
  document.addEventListener("majlis:lang", render);
  document.addEventListener("majlis:session", function () { state.live = null; state.upcoming = null; load(); });
  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { clearTimeout(timer); stale = true; return; }
    if (stale && !paged) { stale = false; load(); }
  });
  load();
}

document.addEventListener("DOMContentLoaded", start);
