/* majlis: helpers shared by the listen and speak pages. Plain ES2017, no build step. */
(function () {
  "use strict";

  var STATE_LABELS = { scheduled: "Scheduled", live: "Live", ended: "Ended" };

  function sleep(ms) {
    return new Promise(function (resolve) { setTimeout(resolve, ms); });
  }

  /* A wait of `seconds` spread uniformly over 0.5x-1.5x, so a crowd told "come back in 5 s"
     does not come back in the same millisecond. Never less than half a second. */
  function jitter(seconds) {
    return Math.max(0.5, seconds * (0.5 + Math.random()));
  }

  /* Exponential backoff for attempt 1, 2, 3 ...: base, 2*base, 4*base ... capped, then jittered. */
  function backoff(attempt, baseS, capS) {
    var s = Math.min(capS, baseS * Math.pow(2, Math.max(0, attempt - 1)));
    return jitter(s);
  }

  /* Retry-After in seconds (delta-seconds or an HTTP date), clamped to [1, 600]. */
  function retryAfterSeconds(response, fallbackS) {
    var raw = response && response.headers ? response.headers.get("Retry-After") : null;
    var s = NaN;
    if (raw !== null && raw !== undefined) {
      if (/^\s*\d+\s*$/.test(raw)) {
        s = parseInt(raw, 10);
      } else {
        var at = Date.parse(raw);
        if (!isNaN(at)) { s = (at - Date.now()) / 1000; }
      }
    }
    if (!isFinite(s)) { s = fallbackS; }
    return Math.min(600, Math.max(1, s));
  }

  /* The words to show for a failed response: RFC 9457 `detail`, else its title, else the status. */
  async function problemDetail(response) {
    var fallback = "the server answered " + response.status +
      (response.statusText ? " " + response.statusText : "");
    try {
      var type = response.headers.get("Content-Type") || "";
      if (type.indexOf("json") !== -1) {
        var body = await response.json();
        if (body && typeof body.detail === "string" && body.detail) { return body.detail; }
        if (body && typeof body.title === "string" && body.title) { return body.title; }
      }
    } catch (e) { /* not JSON after all */ }
    return fallback;
  }

  function stateLabel(state) {
    return STATE_LABELS[state] || String(state || "");
  }

  function showState(el, state) {
    el.textContent = stateLabel(state);
    el.setAttribute("data-state", String(state || ""));
  }

  /* Renders stage members as list items; all text goes through textContent (never HTML). */
  function renderStage(list, stage, speaking) {
    var talking = {};
    (speaking || []).forEach(function (h) { talking[String(h).toLowerCase()] = true; });
    var items = (stage || []).map(function (m) {
      var li = document.createElement("li");
      li.setAttribute("data-handle", String(m.handle));
      var name = document.createElement("bdi");
      name.textContent = m.display_name || m.handle;
      li.appendChild(name);
      var role = document.createElement("span");
      role.className = "role";
      role.textContent = " @" + m.handle + " · " + m.role + (m.muted ? " · muted" : "");
      li.appendChild(role);
      if (talking[String(m.handle).toLowerCase()]) {
        var s = document.createElement("span");
        s.className = "speaking";
        s.textContent = " · speaking";
        li.appendChild(s);
      }
      return li;
    });
    if (items.length === 0) {
      var empty = document.createElement("li");
      empty.textContent = "Nobody is on stage.";
      items.push(empty);
    }
    list.replaceChildren.apply(list, items);
  }

  window.MajlisCommon = Object.freeze({
    sleep: sleep,
    jitter: jitter,
    backoff: backoff,
    retryAfterSeconds: retryAfterSeconds,
    problemDetail: problemDetail,
    stateLabel: stateLabel,
    showState: showState,
    renderStage: renderStage,
  });
})();
