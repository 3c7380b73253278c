/* majlis i18n: Arabic and English, right-to-left and left-to-right. An ES module, no build step.

   Every page's strings live in static/js/strings/<page>.js, a module that calls register(); the
   modules that show those strings import it, so a catalog is in before anything is rendered.
   The language comes from localStorage ("majlis.lang"), else from the browser's languages (any
   "ar*" → Arabic). It is also written to the cookie "majlis_lang" so the server renders
   <html lang dir> right on the next load (no flash of a mirrored layout).

   Why <html dir> and nothing else: the stylesheet uses only logical properties (inline-start/end),
   so one attribute mirrors the whole page. User text (names, titles) is put in <bdi> or dir="auto"
   by the pages, so a name in one script never reorders the sentence around it. */

var STORAGE_KEY = "majlis.lang";
var COOKIE = "majlis_lang";
var SUPPORTED = { en: "ltr", ar: "rtl" };
var catalogs = { en: {}, ar: {} };

function storedLang() {
  try {
    var v = window.localStorage.getItem(STORAGE_KEY);
    return Object.prototype.hasOwnProperty.call(SUPPORTED, v) ? v : null;
  } catch (e) {
    return null; /* storage disabled: fall back to the browser's languages */
  }
}

function browserLang() {
  var langs = navigator.languages && navigator.languages.length ? navigator.languages : [navigator.language || "en"];
  for (var i = 0; i < langs.length; i++) {
    if (/^ar\b/i.test(String(langs[i]))) { return "ar"; }
  }
  return "en";
}

var current = storedLang() || browserLang();

export function lang() { return current; }
export function dir() { return SUPPORTED[current]; }
/* The Intl locale: Arabic with Latin digits would look odd to most readers; "ar" gives the
   Arabic-Indic digits people expect in Arabic text, and names stay isolated anyway. */
function locale() { return current === "ar" ? "ar" : "en"; }

export function register(catalog) {
  Object.keys(catalog || {}).forEach(function (code) {
    if (!catalogs[code]) { return; }
    var entries = catalog[code];
    Object.keys(entries).forEach(function (key) { catalogs[code][key] = entries[key]; });
  });
}

function lookup(key) {
  var s = catalogs[current][key];
  if (s === undefined) { s = catalogs.en[key]; }
  return s;
}

export function has(key) { return lookup(key) !== undefined; }

/* Text for `key` with {name} placeholders filled; numbers are formatted for the language. */
export function t(key, params) {
  var s = lookup(key);
  if (s === undefined) { return String(key); }
  if (!params) { return s; }
  return s.replace(/\{(\w+)\}/g, function (whole, name) {
    if (!Object.prototype.hasOwnProperty.call(params, name)) { return whole; }
    var v = params[name];
    return typeof v === "number" ? number(v) : String(v);
  });
}

/* Plural-aware text: looks up "key.<category>" (Intl.PluralRules: zero, one, two, few, many,
   other — Arabic uses all six), then "key.other", then "key". `n` is also passed as {n}. */
export function plural(key, n, params) {
  var p = Object.assign({ n: n }, params || {});
  var category = "other";
  try { category = new Intl.PluralRules(locale()).select(n); } catch (e) { /* old engine */ }
  if (has(key + "." + category)) { return t(key + "." + category, p); }
  if (has(key + ".other")) { return t(key + ".other", p); }
  return t(key, p);
}

export function number(n) {
  try { return new Intl.NumberFormat(locale()).format(n); } catch (e) { return String(n); }
}

export function date(iso, opts) {
  var d = iso instanceof Date ? iso : new Date(iso);
  if (isNaN(d.getTime())) { return ""; }
  try {
    return new Intl.DateTimeFormat(locale(), opts || { dateStyle: "medium", timeStyle: "short" }).format(d);
  } catch (e) {
    return d.toISOString();
  }
}

/* "in 5 minutes", "3 hours ago" ... in the current language. */
export function relative(iso) {
  var d = iso instanceof Date ? iso : new Date(iso);
  if (isNaN(d.getTime())) { return ""; }
  var seconds = (d.getTime() - Date.now()) / 1000;
  var units = [["year", 31536000], ["month", 2592000], ["week", 604800], ["day", 86400],
    ["hour", 3600], ["minute", 60], ["second", 1]];
  for (var i = 0; i < units.length; i++) {
    var size = units[i][1];
    if (Math.abs(seconds) >= size || units[i][0] === "second") {
      var value = Math.round(seconds / size);
      try {
        return new Intl.RelativeTimeFormat(locale(), { numeric: "auto" }).format(value, units[i][0]);
      } catch (e) {
        return date(d);
      }
    }
  }
  return "";
}

var ATTRS = [["data-i18n-label", "aria-label"], ["data-i18n-placeholder", "placeholder"],
  ["data-i18n-title", "title"]];

/* Fills translated text into `root` (default: the document). */
export function apply(root) {
  var scope = root || document;
  scope.querySelectorAll("[data-i18n]").forEach(function (el) {
    el.textContent = t(el.getAttribute("data-i18n"));
  });
  ATTRS.forEach(function (pair) {
    scope.querySelectorAll("[" + pair[0] + "]").forEach(function (el) {
      el.setAttribute(pair[1], t(el.getAttribute(pair[0])));
    });
  });
}

function markDocument() {
  var root = document.documentElement;
  root.setAttribute("lang", current);
  root.setAttribute("dir", dir());
}

export function setLang(code) {
  if (!Object.prototype.hasOwnProperty.call(SUPPORTED, code)) { return; }
  current = code;
  try { window.localStorage.setItem(STORAGE_KEY, code); } catch (e) { /* private mode */ }
  document.cookie = COOKIE + "=" + code + "; path=/; max-age=31536000; samesite=lax";
  markDocument();
  apply(document);
  document.dispatchEvent(new CustomEvent("majlis:lang", { detail: { lang: code, dir: dir() } }));
}

markDocument();
/* Module scripts all run before DOMContentLoaded, so every catalog is registered by then. */
document.addEventListener("DOMContentLoaded", function () { apply(document); });
