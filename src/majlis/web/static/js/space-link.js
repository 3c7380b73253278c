/* majlis Space page, the pinned link: one link a host or cohost pinned, shown to everyone with
   its domain (the server never fetches it, so there is no preview: the domain says where it
   leads before anyone follows it), and the staff's form to pin, replace or unpin it.

   The domain comes from the browser's own URL parser, which writes an internationalized domain
   in its ASCII (punycode) form: a look-alike of a known name cannot pass for it. */
import { mayManageRequests } from "./space-policy.js";
import { base, debug, els, model, report, run, sayText, t } from "./space-state.js";

function domainOf(url) {
  try { return new URL(url).hostname; } catch (e) { return ""; }
}

export function renderLink() {
  var space = model.space;
  var link = space && space.link;
  var domain = link ? domainOf(link.url) : "";
  els.link.hidden = !domain;
  debug.link = domain ? { url: link.url, title: link.title, domain: domain } : null;
  if (domain) {
    els.linkAnchor.setAttribute("href", link.url);
    els.linkTitle.textContent = link.title;
    els.linkDomain.textContent = domain;
    els.linkAnchor.setAttribute("aria-label", t("sp.link.opens", { title: link.title, domain: domain }));
  }
  var staff = mayManageRequests(debug.role) && space && space.state !== "ended";
  els.unpin.hidden = !(staff && domain);
  els.linkForm.hidden = !staff;
}

/* A pinned link as the server says it is now (the PUT/DELETE answer, an event, a snapshot). */
export function setLink(link) {
  if (!model.space) { return; }
  model.space.link = link || null;
  renderLink();
}

els.linkForm.addEventListener("submit", async function (event) {
  event.preventDefault();
  var url = String(els.linkUrl.value || "").trim();
  var title = String(els.linkTitleInput.value || "").trim() || domainOf(url);
  if (!/^https?:\/\//i.test(url) || !domainOf(url)) {
    report(t("sp.link.bad"));
    return;
  }
  var resp = await run(els.linkPin, "PUT", base + "/link", { url: url, title: title });
  if (resp) {
    setLink((await resp.json()).link);
    els.linkUrl.value = "";
    els.linkTitleInput.value = "";
    sayText(t("sp.link.pinned"));
  }
});

els.unpin.addEventListener("click", async function () {
  var resp = await run(els.unpin, "DELETE", base + "/link");
  if (resp) {
    setLink(null);
    sayText(t("sp.link.unpinned"));
  }
});
