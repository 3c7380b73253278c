/* Sign in and sign up (one script; <body data-mode> says which). Errors come from the server's
   problem+json `detail`; 429/503 say calmly when to try again. After success: back to `?next=`
   (a same-site path only), else home. */
import "./strings/auth.js";
import * as C from "./common.js";
import * as S from "./session.js";
import * as I18N from "./i18n.js";
import * as Shell from "./shell.js";

var HANDLE = /^[A-Za-z0-9_]{1,32}$/;

window.majlis = { page: "auth" };

function $(id) { return document.getElementById(id); }

function nextPath() {
  var next = new URLSearchParams(window.location.search).get("next") || "/";
  /* Only a page of this site, judged as the browser will read it: its URL parser drops tabs and
     newlines and reads "\" as "/", so "/<tab>/evil.example" is "//evil.example", off-site. */
  var url;
  try { url = new URL(next, window.location.origin); } catch (e) { return "/"; }
  if (next.charAt(0) !== "/" || url.origin !== window.location.origin) { return "/"; }
  return url.pathname + url.search + url.hash;
}

function show(text, kind) {
  var status = $("auth-status");
  status.hidden = !text;
  status.textContent = text || "";
  status.className = "notice" + (kind ? " " + kind : "");
}

async function failure(response, mode) {
  if (response.status === 401 && mode === "signin") { return I18N.t("auth.wrong"); }
  if (response.status === 409 && mode === "signup") { return I18N.t("auth.taken"); }
  return C.describeFailure(response, true);
}

async function submit(event) {
  event.preventDefault();
  var mode = document.body.getAttribute("data-mode");
  var handle = $("handle").value.trim();
  var password = $("password").value;
  var nameInput = $("display_name");
  var displayName = nameInput ? nameInput.value.trim() : "";
  if (!handle || !password || (nameInput && !displayName)) { show(I18N.t("auth.missing"), "error"); return; }
  if (!HANDLE.test(handle)) { show(I18N.t("auth.badHandle"), "error"); $("handle").focus(); return; }
  var button = $("auth-submit");
  button.disabled = true;
  show(I18N.t("auth.working"));
  try {
    if (mode === "signup") {
      var created = await S.api("POST", "/api/v1/accounts", { handle: handle, password: password, display_name: displayName });
      if (!created.ok) {
        show(await failure(created, mode), created.status === 503 || created.status === 429 ? "wait" : "error");
        return;
      }
    }
    var session = await S.api("POST", "/api/v1/sessions", { handle: handle, password: password });
    if (!session.ok) {
      show(await failure(session, "signin"), session.status === 503 || session.status === 429 ? "wait" : "error");
      return;
    }
    var body = await session.json();
    S.signIn(body.token, body.account);
    window.location.assign(nextPath());
  } catch (e) {
    show(I18N.t("error.network"), "error");
  } finally {
    button.disabled = false;
  }
}

function title() {
  var mode = document.body.getAttribute("data-mode");
  Shell.setTitle(I18N.t(mode === "signup" ? "nav.signup" : "nav.signin"));
}

document.addEventListener("DOMContentLoaded", function () {
  var next = new URLSearchParams(window.location.search).get("next");
  if (next) { $("auth-other").setAttribute("href", $("auth-other").getAttribute("href") + "?next=" + encodeURIComponent(nextPath())); }
  $("auth-form").addEventListener("submit", submit);
  document.addEventListener("majlis:lang", title);
  title();
  var first = $("display_name") || $("handle");
  first.focus();
});
