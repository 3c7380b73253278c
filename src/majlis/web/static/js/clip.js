/* A clip's page (/clips/{id}): the audio element plays the .m4a as it is; this script copies
   the link and, for the clip's author or the Space's host, deletes the clip. */
import "./strings/clip.js";
import * as C from "./common.js";
import * as S from "./session.js";
import * as I18N from "./i18n.js";
import "./shell.js";

window.majlis = { page: "clip", loaded: false };

function $(id) { return document.getElementById(id); }

function status(text, kind) {
  $("clip-status").textContent = text || "";
  $("clip-status").className = "status" + (kind ? " notice " + kind : "");
}

async function copyLink() {
  var url = window.location.origin + window.location.pathname;
  try {
    if (navigator.share && window.matchMedia("(pointer: coarse)").matches) {
      await navigator.share({ url: url, title: document.title });
      return;
    }
    await navigator.clipboard.writeText(url);
    status(I18N.t("clip.copied"));
  } catch (e) {
    status(url);
  }
}

async function remove(article) {
  if (!window.confirm(I18N.t("clip.deleteConfirm"))) { return; }
  var response;
  try {
    response = await S.api("DELETE", "/api/v1/clips/" + encodeURIComponent(article.getAttribute("data-clip-id")));
  } catch (e) {
    return status(I18N.t("error.network"), "error");
  }
  if (!response.ok) { return status(await C.describeFailure(response), "error"); }
  $("clip-audio").removeAttribute("src");
  $("clip-audio").hidden = true;
  $("clip-delete").hidden = true;
  status(I18N.t("clip.deleted"));
  return undefined;
}

document.addEventListener("DOMContentLoaded", function () {
  var article = document.querySelector("[data-clip-id]");
  if (!article) { return; }
  var me = S.account();
  var mine = me && [article.getAttribute("data-author"), article.getAttribute("data-host")]
    .indexOf(me.handle.toLowerCase()) >= 0;
  $("clip-delete").hidden = !mine;
  $("clip-delete").addEventListener("click", function () { remove(article); });
  $("clip-share").addEventListener("click", copyLink);
  window.majlis.loaded = true;
});
