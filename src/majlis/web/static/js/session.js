/* majlis session: who is signed in, shared by every tab of this origin, and the API client.

   The session is a bearer token in localStorage ("majlis.token") plus the signed-in account
   ("majlis.account"), so every tab is signed in together (shell.js redraws the header on the
   other tabs' "storage" events). Changes fire "majlis:session" on document. */

export var TOKEN_KEY = "majlis.token";
export var ACCOUNT_KEY = "majlis.account";

function read(key) {
  try { return window.localStorage.getItem(key); } catch (e) { return null; }
}
export function write(key, value) {
  try {
    if (value === null) { window.localStorage.removeItem(key); } else { window.localStorage.setItem(key, value); }
  } catch (e) { /* storage disabled: the session lasts as long as the page */ }
}

export function token() { return read(TOKEN_KEY); }
export function account() {
  var raw = read(ACCOUNT_KEY);
  if (!raw || !token()) { return null; }
  try {
    var a = JSON.parse(raw);
    return a && typeof a.handle === "string" ? { handle: a.handle, display_name: String(a.display_name || a.handle) } : null;
  } catch (e) {
    return null;
  }
}

function changed() {
  document.dispatchEvent(new CustomEvent("majlis:session", { detail: { account: account() } }));
}

export function signIn(newToken, acct) {
  write(TOKEN_KEY, String(newToken));
  write(ACCOUNT_KEY, JSON.stringify({ handle: acct.handle, display_name: acct.display_name }));
  changed();
}

function forget() {
  write(TOKEN_KEY, null);
  write(ACCOUNT_KEY, null);
  changed();
}

/* Forgets the token, then revokes it on the server (best effort: signing out works offline too).
   Forgotten first, so that what this page holds with it (the inbox stream, a stream ticket
   being fetched) stops before the session ends under it. */
export async function signOut() {
  var tok = token();
  forget();
  if (tok) {
    try {
      await fetch("/api/v1/sessions/current", { method: "DELETE", headers: { Authorization: "Bearer " + tok } });
    } catch (e) { /* offline: forgetting the token locally is what matters */ }
  }
}

/* fetch() with JSON and the bearer token. Resolves to the Response (any status); rejects only
   when the network fails. A 401 for a token we sent means it is gone: forget it. */
export async function api(method, path, body) {
  var headers = { Accept: "application/json" };
  var tok = token();
  if (tok) { headers.Authorization = "Bearer " + tok; }
  var init = { method: method || "GET", headers: headers };
  if (body !== undefined && body !== null) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  var response = await fetch(path, init);
  if (response.status === 401 && tok && token() === tok) { forget(); }
  return response;
}

/* The inbox as Server-Sent Events, for as long as it is wanted. EventSource cannot send the token,
   so each connection opens with a single-use ticket (POST /api/v1/stream-tickets): tokens never
   travel in URLs. When the stream drops, the browser's own reconnect would reuse the spent ticket,
   so the source is closed and a fresh ticket asked for after a jittered backoff (1 s, doubling
   to 30 s). A 401 for the ticket means the session ended: api() has forgotten the token, and
   the stream stops. handlers: {onOpen, onError, onNotification(event)}. Returns {close()}. */
export function inboxStream(handlers) {
  var source = null;
  var timer = null;
  var closed = false;
  var backoff = 1;
  function retry() {
    if (closed) { return; }
    clearTimeout(timer);
    timer = setTimeout(open, (backoff * (0.5 + Math.random())) * 1000);
    backoff = Math.min(backoff * 2, 30);
  }
  async function open() {
    if (closed || !token()) { return; }
    var ticket;
    try {
      var response = await api("POST", "/api/v1/stream-tickets");
      if (!response.ok) {
        if (response.status !== 401) { retry(); }
        return;
      }
      ticket = (await response.json()).ticket;
    } catch (e) {
      retry();
      return;
    }
    if (closed) { return; }
    source = new EventSource("/api/v1/notifications/stream?ticket=" + encodeURIComponent(ticket));
    source.addEventListener("open", function () {
      backoff = 1;
      if (handlers.onOpen) { handlers.onOpen(); }
    });
    source.addEventListener("notification", function (event) {
      if (handlers.onNotification) { handlers.onNotification(event); }
    });
    source.addEventListener("error", function () {
      if (handlers.onError) { handlers.onError(); }
      if (source) { source.close(); source = null; }
      retry();
    });
  }
  open();
  return {
    close: function () {
      closed = true;
      clearTimeout(timer);
      if (source) { source.close(); source = null; }
    },
  };
}
