"""The web client's shell and its pages (home, sign in/up, profiles, notifications), in a real
headless Chromium against a real server: English and Arabic, right-to-left layout, bidi-safe
names, the keyboard, and no console errors anywhere.

The HTTP-level checks (language from cookie/Accept-Language, script order, 404s) need no browser.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest

from majlis.web.api_docs import DOCS_CONTENT_SECURITY_POLICY
from tests.support.client import PASSWORD, Api, User
from tests.support.server import RunningServer
from tests.support.wait import eventually
from tests.web.conftest import ONE_SHAPE

pytestmark = ONE_SHAPE

if TYPE_CHECKING:
    from playwright.sync_api import (
        Browser,
        BrowserContext,
        ConsoleMessage,
        FloatRect,
        Locator,
        Page,
    )

ARABIC_NAME = "ليلى حسن"
RLO_NAME = "\u202eevil name"

#: Chromium logs a failed fetch/document load as a console error too; these pages must have none.
ConsoleErrors = list[str]
#: Chromium logs every failed response as a console error, including a busy node's designed
#: answer (503 or 429 with Retry-After, which the client waits out and retries: seen on a WHIP
#: offer while a second test suite loaded the machine). Any other failure still counts.
SHED = re.compile(r"Failed to load resource: the server responded with a status of (503|429) ")


# ---- fixtures ----------------------------------------------------------------------------------


@pytest.fixture
def ended_after(api: Api) -> Iterator[list[tuple[User, str]]]:
    """Spaces to end after the test (each live Space keeps a media room running)."""
    made: list[tuple[User, str]] = []
    yield made
    for host, space_id in made:
        host.post(f"/api/v1/spaces/{space_id}/end")


@pytest.fixture
def open_page(
    browser: Browser, server: RunningServer
) -> Iterator[Callable[..., tuple[Page, ConsoleErrors]]]:
    """``open_page(locale="ar", width=390)`` → a fresh context's page and the list its console
    errors, uncaught exceptions and CSP violations go to (asserted empty by the tests)."""
    contexts: list[BrowserContext] = []

    def make(
        locale: str = "en-US", width: int = 1280, height: int = 800
    ) -> tuple[Page, ConsoleErrors]:
        ctx = browser.new_context(
            locale=locale, viewport={"width": width, "height": height}, base_url=server.base_url
        )
        contexts.append(ctx)
        tab = ctx.new_page()
        tab.set_default_timeout(10_000)
        errors: ConsoleErrors = []
        tab.on("pageerror", lambda error: errors.append(f"uncaught: {error}"))

        def on_console(message: ConsoleMessage) -> None:
            if message.type == "error" and not SHED.search(message.text):
                errors.append(f"console: {message.text} at {message.location}")

        tab.on("console", on_console)
        return tab, errors

    yield make
    for ctx in contexts:
        ctx.close()


def account_of(api: Api, handle: str) -> dict[str, Any]:
    response = api.http.get(f"/api/v1/accounts/{handle}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def sign_in_tab(page: Page, api: Api, user: User) -> None:
    """Put ``user``'s session where MajlisSession keeps it (as the sign-in page would)."""
    page.goto("/signin")
    account = account_of(api, user.handle)
    page.evaluate(
        "([token, account]) => { localStorage.setItem('majlis.token', token);"
        " localStorage.setItem('majlis.account', account); }",
        [
            user.token,
            json.dumps({"handle": account["handle"], "display_name": account["display_name"]}),
        ],
    )


def box(locator: Locator) -> FloatRect:
    rect = locator.bounding_box()
    assert rect is not None, f"{locator} is not rendered"
    return rect


# ---- served HTML (no browser) --------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/", "/signin", "/signup", "/notifications"])
def test_pages_load_the_contract_scripts_in_order_from_this_origin(api: Api, path: str) -> None:
    response = api.http.get(path)
    assert response.status_code == 200, response.text
    html = response.text
    page = {"/": "home", "/signin": "auth", "/signup": "auth", "/notifications": "notifications"}[
        path
    ]
    # One entry module per page; what it imports is preloaded, all of it from this origin.
    entry = re.findall(r'<script type="module" src="/static/js/([^"]+)"></script>', html)
    assert entry == [f"{page}.js"]
    assert len(re.findall(r"<script", html)) == 1, "no inline script"
    preloaded = re.findall(r'<link rel="modulepreload" href="/static/js/([^"]+)">', html)
    assert set(preloaded) == {
        "i18n.js",
        "strings/common.js",
        f"strings/{page}.js",
        "common.js",
        "session.js",
        "shell.js",
    }
    scripts = [*entry, *preloaded]
    assert not re.search(r'(src|href)="(https?:)?//', html), "no external resources"
    assert '<header id="site-header"' in html
    assert "unsafe-inline" not in response.headers["content-security-policy"]
    assert response.headers["vary"] == "Accept-Language, Cookie"
    for script in scripts:
        assert api.http.get(f"/static/js/{script}").status_code == 200, script


@pytest.mark.parametrize(
    ("headers", "cookies", "expected"),
    [
        ({}, {}, ('lang="en"', 'dir="ltr"')),
        ({"Accept-Language": "ar-EG,ar;q=0.9,en;q=0.5"}, {}, ('lang="ar"', 'dir="rtl"')),
        ({"Accept-Language": "en-GB,ar;q=0.5"}, {}, ('lang="en"', 'dir="ltr"')),
        ({"Accept-Language": "ar"}, {"majlis_lang": "en"}, ('lang="en"', 'dir="ltr"')),
        ({}, {"majlis_lang": "ar"}, ('lang="ar"', 'dir="rtl"')),
        ({}, {"majlis_lang": 'xx"><script>'}, ('lang="en"', 'dir="ltr"')),
    ],
)
def test_page_direction_follows_the_switcher_cookie_then_the_browser(
    server: RunningServer,
    headers: dict[str, str],
    cookies: dict[str, str],
    expected: tuple[str, str],
) -> None:
    import httpx

    with httpx.Client(base_url=server.base_url, cookies=cookies) as client:
        html = client.get("/", headers=headers).text
    lang, direction = expected
    assert f"<html {lang} {direction}>" in html
    assert "<script>" not in html


def test_profile_page_escapes_names_and_unknown_profiles_are_404_pages(api: Api) -> None:
    user = api.sign_up("esc", display_name='<img src=x onerror="y()"> & سلام')
    response = api.http.get(f"/@{user.handle}")
    assert response.status_code == 200, response.text
    assert "&lt;img src=x onerror=&quot;y()&quot;&gt; &amp; سلام" in response.text
    assert "<img src=x" not in response.text
    assert f'data-handle="{user.handle.lower()}"' in response.text
    for path in ["/@nobody_here_at_all", "/@bad%20handle", "/@" + "x" * 40]:
        missing = api.http.get(path)
        assert missing.status_code == 404, path
        assert missing.headers["content-type"].startswith("text/html")
    alias = api.http.get(f"/accounts/{user.handle}", follow_redirects=False)
    assert alias.status_code == 308 and alias.headers["location"] == f"/@{user.handle}"
    assert api.http.get("/accounts/not%20a%20handle").status_code == 404


def test_account_says_whether_i_follow_it_only_when_asked_with_a_token(api: Api) -> None:
    me, other = api.sign_up("fan"), api.sign_up("star")
    assert "followed_by_me" not in account_of(api, other.handle)
    assert me.get(f"/api/v1/accounts/{other.handle}").json()["followed_by_me"] is False
    me.follow(other)
    assert me.get(f"/api/v1/accounts/{other.handle}").json()["followed_by_me"] is True
    assert me.get(f"/api/v1/accounts/{me.handle}").json()["followed_by_me"] is False


#: Physical directions: with these, <html dir="rtl"> would not mirror the layout.
PHYSICAL = re.compile(
    r"(?<![\w-])(left|right)\s*:"
    r"|\b(margin|padding|border)-(left|right)\b"
    r"|\b(text-align|float|clear)\s*:\s*(left|right)\b"
    r"|\b(border-(top|bottom)-(left|right)-radius)\b"
)


def test_stylesheets_use_only_logical_directions() -> None:
    from importlib import resources

    sheets = list((resources.files("majlis.web") / "static" / "css").iterdir())
    assert any(sheet.name == "majlis.css" for sheet in sheets)
    for sheet in sheets:
        for number, line in enumerate(sheet.read_text(encoding="utf-8").splitlines(), 1):
            assert not PHYSICAL.search(line), f"{sheet.name}:{number}: {line.strip()}"


# ---- in the browser ------------------------------------------------------------------------------


def test_sign_up_sign_in_follow_and_their_live_space_is_in_live_now(
    api: Api,
    open_page: Callable[..., tuple[Page, ConsoleErrors]],
    ended_after: list[tuple[User, str]],
) -> None:
    host = api.sign_up("host", display_name=ARABIC_NAME)
    page, errors = open_page()
    handle = f"new_{host.handle[-8:]}"

    page.goto("/signup")
    page.get_by_label("Display name").fill("Nour Test")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()
    page.wait_for_url("**/")
    page.get_by_role("link", name="My profile").wait_for()

    page.get_by_role("button", name="Sign out").click()
    page.get_by_role("link", name="Sign in").first.wait_for()
    assert page.evaluate("() => localStorage.getItem('majlis.token')") is None

    page.goto("/signin")
    page.get_by_label("Handle").fill(handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/")
    page.get_by_role("link", name="My profile").wait_for()

    page.goto(f"/@{host.handle}")
    follow = page.get_by_role("button", name=f"Follow \u2068{ARABIC_NAME}\u2069")
    follow.click()
    page.get_by_role("button", name=re.compile("^Unfollow")).wait_for()
    assert page.locator("#followers-count").inner_text() == "1"
    assert account_of(api, host.handle)["followers_count"] == 1

    space = host.create_space("Morning coffee ☕ قهوة الصباح")
    ended_after.append((host, space["id"]))
    page.goto("/")
    card = page.locator(f"#live-now-list [data-space-id='{space['id']}']")
    card.wait_for()
    assert "Morning coffee" in card.inner_text()
    assert ARABIC_NAME in card.inner_text()
    card.get_by_role("link").click()
    page.wait_for_url(f"**/spaces/{space['id']}")
    assert errors == []


def test_wrong_password_and_busy_server_are_said_in_words(
    api: Api, open_page: Callable[..., tuple[Page, ConsoleErrors]]
) -> None:
    user = api.sign_up("pw")
    page, _ = open_page()
    page.goto("/signin")
    page.get_by_label("Handle").fill(user.handle)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()
    alert = page.get_by_role("alert")
    alert.filter(has_text="do not match").wait_for()

    page.route(
        "**/api/v1/sessions",
        lambda route: route.fulfill(
            status=503,
            headers={"Retry-After": "7", "Content-Type": "application/problem+json"},
            body=json.dumps({"type": "about:blank", "title": "Busy", "status": 503, "detail": "x"}),
        ),
    )
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    alert.filter(has_text="busy right now").wait_for()
    assert "7 seconds" in alert.inner_text()
    assert page.evaluate("() => localStorage.getItem('majlis.token')") is None


@pytest.mark.parametrize("width", [1280, 390])
def test_arabic_pages_are_right_to_left_and_mirrored(
    api: Api, open_page: Callable[..., tuple[Page, ConsoleErrors]], width: int
) -> None:
    user = api.sign_up("rtl", display_name=ARABIC_NAME)
    for locale, direction in (("ar-EG", "rtl"), ("en-US", "ltr")):
        page, errors = open_page(locale=locale, width=width)
        sign_in_tab(page, api, user)
        page.goto("/")
        page.locator("#brand").wait_for()
        assert page.evaluate("() => [document.dir, document.documentElement.lang]") == [
            direction,
            locale[:2],
        ]
        brand = box(page.locator("#brand"))
        switcher = box(page.locator("#lang-select"))
        home = box(page.get_by_role("link", name="الرئيسية" if direction == "rtl" else "Home"))
        heading = box(page.locator("#all-live-title"))
        brand_right = brand["x"] + brand["width"]
        home_right = home["x"] + home["width"]
        # At phone width the navigation is a row of its own under the brand.
        own_row = home["y"] >= brand["y"] + brand["height"] - 1
        if direction == "rtl":
            assert brand_right > width - 60, ("brand at the right edge", brand)
            assert switcher["x"] < 60, ("switcher at the left edge", switcher)
            if own_row:
                assert home_right > width - 60, ("navigation starts at the right", home)
            else:
                assert home_right <= brand["x"], "navigation follows the brand leftwards"
            assert heading["x"] + heading["width"] > width - 60, "headings start at the right"
        else:
            assert brand["x"] < 60, ("brand at the left edge", brand)
            assert switcher["x"] + switcher["width"] > width - 60, (
                "switcher at the right",
                switcher,
            )
            if own_row:
                assert home["x"] < 60, ("navigation starts at the left", home)
            else:
                assert home["x"] >= brand_right, "navigation follows the brand rightwards"
            assert heading["x"] < 60, "headings start at the left"
        assert errors == []


def test_switcher_changes_language_without_reload_and_remembers_it(
    open_page: Callable[..., tuple[Page, ConsoleErrors]],
) -> None:
    page, errors = open_page(locale="en-US")
    page.goto("/signin")
    assert page.get_by_role("heading", level=1).inner_text() == "Welcome back"
    page.evaluate("() => { window.__sameDocument = true; }")
    events = page.evaluate_handle(
        "() => { const seen = []; document.addEventListener('majlis:lang',"
        " e => seen.push(e.detail.lang)); return seen; }"
    )

    page.get_by_role("combobox", name="Language").select_option("ar")
    page.get_by_role("heading", name="أهلًا بعودتك").wait_for()
    assert page.evaluate("() => [document.dir, document.documentElement.lang]") == ["rtl", "ar"]
    assert page.evaluate("() => window.__sameDocument") is True, "no reload"
    assert events.json_value() == ["ar"]
    assert page.get_by_label("كلمة المرور").is_visible()
    assert page.get_by_role("button", name="تسجيل الدخول").is_visible()
    assert page.title().endswith("مجلس")

    page.reload()
    page.get_by_role("heading", name="أهلًا بعودتك").wait_for()
    assert page.evaluate("() => localStorage.getItem('majlis.lang')") == "ar"
    served = page.request.get("/signin").text()
    assert '<html lang="ar" dir="rtl">' in served, "the cookie makes the server render RTL"

    page.get_by_role("combobox", name="اللغة").select_option("en")
    page.get_by_role("heading", name="Welcome back").wait_for()
    assert page.evaluate("() => document.dir") == "ltr"
    assert errors == []


def test_a_bidi_override_name_is_isolated_from_the_sentence_around_it(
    api: Api, open_page: Callable[..., tuple[Page, ConsoleErrors]]
) -> None:
    me = api.sign_up("me")
    prankster = api.sign_up("rlo", display_name=RLO_NAME)
    prankster.follow(me)
    page, errors = open_page()
    sign_in_tab(page, api, me)
    page.goto("/notifications")
    notice = page.locator(".notice-item[data-kind='follow']")
    notice.wait_for()
    assert "followed you" in notice.inner_text()
    # The name is in a <bdi>, and the words after it still read (and sit) after it.
    geometry = notice.locator("a.notice-link").evaluate(
        """link => {
          const name = link.querySelector('bdi');
          const tail = name.nextSibling;
          const range = document.createRange();
          range.selectNodeContents(tail);
          const t = range.getBoundingClientRect(), n = name.getBoundingClientRect();
          return {tag: name.tagName, tail: tail.textContent, tailLeft: t.left, nameRight: n.right};
        }"""
    )
    assert geometry["tag"] == "BDI"
    assert geometry["tail"] == " followed you"
    assert geometry["tailLeft"] >= geometry["nameRight"] - 1, geometry
    assert errors == []


def wait_for_header_stream(page: Page) -> None:
    """Until the header's notification stream is open, asked of the page's own shell module (an
    import of the same address is the module instance the page runs). Imported first: a
    ``wait_for_function`` predicate is not awaited, so it must answer synchronously."""
    page.evaluate("async () => { window.shellUnderTest = await import('/static/js/shell.js'); }")
    page.wait_for_function("() => window.shellUnderTest.streamOpen()")


def test_notifications_arrive_live_and_badge_the_header(
    api: Api, open_page: Callable[..., tuple[Page, ConsoleErrors]]
) -> None:
    me = api.sign_up("inbox")
    page, errors = open_page()
    sign_in_tab(page, api, me)
    page.goto("/")
    page.get_by_role("link", name="Notifications").wait_for()
    wait_for_header_stream(page)
    fan = api.sign_up("fan", display_name="Sara 2")
    fan.follow(me)
    page.get_by_role("link", name="Notifications, 1 unread").wait_for()

    page.get_by_role("link", name=re.compile("^Notifications")).click()
    page.wait_for_url("**/notifications")
    page.locator(".notice-item[data-kind='follow']").filter(has_text="Sara 2").wait_for()
    page.get_by_role("link", name="Notifications", exact=True).wait_for()  # read: no badge
    page.wait_for_function("() => window.majlis && window.majlis.streamOpen")
    second = api.sign_up("fan2", display_name="Omar")
    second.follow(me)
    page.locator(".notice-item.fresh").filter(has_text="Omar").wait_for()
    link = page.locator(".notice-item").filter(has_text="Omar").get_by_role("link")
    assert link.get_attribute("href") == f"/@{second.handle}"

    # What was read here is read on every device: a second browser shows no badge, then
    # counts only what came after.
    newest = me.get("/api/v1/notifications").json()["items"][0]["created_at"]
    eventually(  # the page's POST /notifications/seen is in flight
        lambda: me.get("/api/v1/notifications").json()["seen_at"] == newest,
        message="the notifications page never marked them seen",
    )
    laptop, laptop_errors = open_page()
    sign_in_tab(laptop, api, me)
    laptop.goto("/")
    wait_for_header_stream(laptop)
    api.sign_up("fan3").follow(me)
    laptop.get_by_role("link", name="Notifications, 1 unread").wait_for()
    assert errors == [] and laptop_errors == []


def test_the_stream_url_holds_a_ticket_not_the_token_and_ending_the_session_signs_out(
    api: Api, open_page: Callable[..., tuple[Page, ConsoleErrors]]
) -> None:
    """Tokens never travel in URLs (issue 14): the header's stream opens with a single-use
    ticket. Ending this device's session from another one (a lost phone) closes its stream;
    its reconnect finds the session gone, and the page shows it is signed out."""
    me = api.sign_up("lostphone")
    page, errors = open_page()
    urls: list[str] = []
    page.on("request", lambda request: urls.append(request.url))
    sign_in_tab(page, api, me)
    page.goto("/")
    wait_for_header_stream(page)
    streams = [u for u in urls if "/api/v1/notifications/stream" in u]
    assert streams and all("?ticket=" in u for u in streams), streams
    assert not [u for u in urls if me.token in u]

    laptop = api.sign_in(me.handle)
    phone = next(s for s in laptop.get("/api/v1/sessions").json()["items"] if not s["current"])
    assert laptop.delete(f"/api/v1/sessions/{phone['id']}").status_code == 204
    page.get_by_role("link", name="Sign in").first.wait_for()
    assert page.evaluate("() => localStorage.getItem('majlis.token')") is None
    assert not [e for e in errors if "401" not in e], errors


def test_keyboard_reaches_the_main_controls_and_each_has_a_name(
    api: Api, open_page: Callable[..., tuple[Page, ConsoleErrors]]
) -> None:
    me = api.sign_up("keys")
    page, errors = open_page()
    sign_in_tab(page, api, me)
    page.goto("/")
    page.locator("#sign-out").wait_for()
    reached: list[str] = []
    for _ in range(12):
        page.keyboard.press("Tab")
        reached.append(
            page.evaluate(
                "() => { const e = document.activeElement; return e.id ||"
                " e.getAttribute('href') || e.tagName; }"
            )
        )
    for control in [
        "brand",
        "nav-home",
        "nav-notifications",
        "nav-profile",
        "start-space",
        "sign-out",
        "lang-select",
    ]:
        assert control in reached, (control, reached)
    assert reached.index("brand") < reached.index("nav-home") < reached.index("lang-select")
    # Names as a screen reader hears them.
    for role, name in [
        ("link", "majlis"),
        ("link", "Home"),
        ("link", "Notifications"),
        ("link", "My profile"),
        ("link", "Start a Space"),
        ("button", "Sign out"),
        ("combobox", "Language"),
        ("navigation", "Main"),
    ]:
        assert page.get_by_role(role, name=name, exact=True).count() >= 1, (role, name)  # type: ignore[arg-type]
    # The skip link comes first and moves focus into the page.
    page.keyboard.press("Shift+Tab")
    page.goto("/")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.className") == "skip-link"
    page.keyboard.press("Enter")
    assert page.evaluate("() => document.activeElement.id") == "main"
    assert errors == []


@pytest.mark.parametrize("locale", ["en-US", "ar"])
def test_no_console_errors_on_any_page(
    api: Api,
    open_page: Callable[..., tuple[Page, ConsoleErrors]],
    ended_after: list[tuple[User, str]],
    locale: str,
) -> None:
    host = api.sign_up("page", display_name=ARABIC_NAME)
    viewer = api.sign_up("viewer")
    viewer.follow(host)
    space = host.create_space("حوار الأربعاء")
    ended_after.append((host, space["id"]))
    host.schedule_space("Later today")
    paths = ["/", "/signin", "/signup", f"/@{host.handle}", "/notifications"]
    page, errors = open_page(locale=locale)
    for path in paths:  # signed out
        page.goto(path)
        page.wait_for_load_state("networkidle")
    sign_in_tab(page, api, viewer)
    for path in paths:  # signed in
        page.goto(path)
        page.wait_for_load_state("networkidle")
        assert page.evaluate("() => document.documentElement.lang") == locale[:2]
        # Every data-i18n key has a translation (an untranslated key shows as itself).
        missing = page.evaluate(
            "() => [...document.querySelectorAll('[data-i18n]')]"
            ".filter(e => e.textContent === e.dataset.i18n).map(e => e.dataset.i18n)"
        )
        assert missing == [], (path, missing)
    assert errors == []


def test_every_english_string_has_an_arabic_translation(
    open_page: Callable[..., tuple[Page, ConsoleErrors]],
) -> None:
    """Loads every catalog this client serves and compares their keys (space.js is W2's page,
    checked the same way)."""
    page, errors = open_page()
    page.goto("/signin")
    found = page.evaluate(
        """async () => {
          const names = ['common', 'home', 'auth', 'profile', 'notifications', 'space'];
          const out = {};
          for (const name of names) {
            const response = await fetch('/static/js/strings/' + name + '.js');
            out[name] = response.ok ? await response.text() : null;
          }
          return out;
        }"""
    )
    for name, source in found.items():
        if source is None:
            continue
        en = _catalog_keys(source, "en")
        ar = _catalog_keys(source, "ar")
        plural_only = {k for k in en - ar if re.search(r"\.(one|two|few|many|zero)$", k)}
        assert en - ar - plural_only == set(), (name, sorted(en - ar))
        assert ar - en - {k for k in ar if re.search(r"\.(one|two|few|many|zero)$", k)} == set()
    assert errors == []


def _catalog_keys(source: str, lang: str) -> set[str]:
    """The keys of one language block of a strings file (``en: {...}`` up to the next block)."""
    match = re.search(rf"\b{lang}:\s*\{{(.*?)\n\s*\}}", source, re.DOTALL)
    assert match, f"no {lang} block"
    return set(re.findall(r'"([\w.]+)"\s*:', match.group(1)))


def test_the_space_page_header_polls_instead_of_holding_a_second_stream(
    api: Api,
    open_page: Callable[..., tuple[Page, ConsoleErrors]],
    ended_after: list[tuple[User, str]],
) -> None:
    """A browser has 6 connections per origin over HTTP/1.1 for all its tabs; the Space page's
    own stream and blocking playlist reloads need them more than the header's badge does."""
    me = api.sign_up("tabs")
    space = me.create_space("Two tabs")
    ended_after.append((me, space["id"]))
    page, errors = open_page()
    streams: list[str] = []
    page.on(
        "request",
        lambda request: (
            streams.append(request.url) if "/notifications/stream" in request.url else None
        ),
    )
    sign_in_tab(page, api, me)
    page.goto("/")
    page.wait_for_function("() => window.majlis && window.majlis.loaded")
    page.wait_for_timeout(300)  # a while in which no second stream may open
    assert len(streams) == 1, streams
    page.goto(f"/spaces/{space['id']}")
    page.locator("#site-header #nav-notifications").wait_for()
    page.wait_for_timeout(1500)  # likewise: time for a stream that must not open
    assert len(streams) == 1, streams
    assert errors == []


def test_home_shows_upcoming_and_pages_through_all_live_spaces(
    api: Api,
    open_page: Callable[..., tuple[Page, ConsoleErrors]],
    ended_after: list[tuple[User, str]],
) -> None:
    host = api.sign_up("pager")
    me = api.sign_up("reader")
    me.follow(host)
    later = host.schedule_space("Tomorrow's majlis", hours=20)
    for title in ("First live", "Second live"):  # one live Space per host
        other = api.sign_up("live")
        space = other.create_space(title)
        ended_after.append((other, space["id"]))
    page, errors = open_page()
    # The real server answers, one Space per page, so paging shows with only two live Spaces.
    page.route(
        re.compile(r".*/api/v1/spaces\?state=live&limit=\d+.*"),
        lambda route: route.continue_(url=re.sub(r"limit=\d+", "limit=1", route.request.url)),
    )
    sign_in_tab(page, api, me)
    page.goto("/")
    upcoming = page.locator(f"#upcoming-list [data-space-id='{later['id']}']")
    upcoming.wait_for()
    assert "Scheduled" in upcoming.inner_text() and "Starts" in upcoming.inner_text()
    assert "listening" not in upcoming.inner_text()
    cards = page.locator("#all-live-list .space-card")
    assert cards.count() == 1
    more = page.get_by_role("button", name="Show more")
    more.click()
    page.wait_for_function(
        "() => document.querySelectorAll('#all-live-list .space-card').length === 2"
    )
    ids = cards.evaluate_all("cards => cards.map(c => c.dataset.spaceId)")
    assert len(set(ids)) == 2, "the second page is new Spaces, not the first again"
    assert errors == []


def test_follow_when_signed_out_signs_in_and_comes_back(
    api: Api, open_page: Callable[..., tuple[Page, ConsoleErrors]]
) -> None:
    star = api.sign_up("star", display_name="Hala")
    fan = api.sign_up("fan")
    page, errors = open_page()
    page.goto(f"/@{star.handle}")
    page.get_by_role("button", name="Follow \u2068Hala\u2069").click()
    page.wait_for_url(re.compile(r"/signin\?next=%2F%40"))
    page.get_by_label("Handle").fill(fan.handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"**/@{star.handle}")
    page.get_by_role("button", name="Follow \u2068Hala\u2069").click()
    page.get_by_role("button", name="Unfollow \u2068Hala\u2069").wait_for()
    assert fan.get(f"/api/v1/accounts/{star.handle}").json()["followed_by_me"] is True
    # An address that would leave the site is not followed after sign-in.
    page.evaluate("() => localStorage.clear()")
    page.goto("/signin?next=//evil.example/")
    page.get_by_label("Handle").fill(fan.handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))
    assert errors == []


#: ``?next=`` payloads that a check on the raw text let through (issue 14): the browser's URL
#: parser drops tab, LF and CR and reads "\\" as "/", so each of these is "//evil.example".
OFF_SITE_NEXT = [
    "/%09/evil.example/x",
    "/%0A/evil.example/x",
    "/%0D/evil.example/x",
    "/%5C/evil.example/x",
    "/%09%5Cevil.example/x",
    "%2F%2Fevil.example",
    "https://evil.example/",
    "javascript:alert(1)",
    "evil.example",
]


def test_sign_in_goes_back_only_to_a_page_of_this_site(
    api: Api, open_page: Callable[..., tuple[Page, ConsoleErrors]]
) -> None:
    page, errors = open_page()
    other = page.locator("#auth-other")  # "Create an account" carries on where sign-in goes

    def goes_to(payload: str) -> str:
        page.goto(f"/signin?next={payload}")
        page.wait_for_function("() => document.getElementById('auth-other').href.includes('?')")
        href = other.get_attribute("href") or ""
        return parse_qs(urlsplit(href).query)["next"][0]

    for payload in OFF_SITE_NEXT:
        assert goes_to(payload) == "/", payload
    assert goes_to("%2F%40hala%3Ftab%3Dpast%23top") == "/@hala?tab=past#top"  # a page here
    # The whole way, with the payload the probe used: signed in, and still on this site.
    fan = api.sign_up("fan")
    page.goto("/signin?next=/%09/evil.example/x")
    page.get_by_label("Handle").fill(fan.handle)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"^http://127\.0\.0\.1:\d+/$"))
    assert errors == []


def test_profile_lists_live_upcoming_and_past_spaces_on_a_busy_server(
    api: Api, open_page: Callable[..., tuple[Page, ConsoleErrors]]
) -> None:
    host = api.sign_up("shows", display_name="Rania")
    done = host.create_space("Yesterday's talk")
    assert host.post(f"/api/v1/spaces/{done['id']}/end").status_code == 200
    later = host.schedule_space("Next week", hours=100)
    # A busy server: more than a page (100) of other hosts' Spaces, sooner and ended later
    # (6 hosts: a host may have 20 scheduled at a time).
    for _ in range(6):
        busy = api.sign_up("busy")
        for _ in range(17):
            busy.schedule_space("Sooner", hours=1)
            ended = busy.schedule_space("Ended later", hours=1)
            assert busy.post(f"/api/v1/spaces/{ended['id']}/end").status_code == 200
    page, errors = open_page(locale="ar")
    page.goto(f"/@{host.handle}")
    upcoming = page.locator(f"#profile-spaces [data-space-id='{later['id']}']")
    upcoming.wait_for()
    assert "مجدولة" in upcoming.inner_text()
    past = page.locator(f"#profile-past [data-space-id='{done['id']}']")
    past.wait_for()
    assert "انتهت" in past.inner_text()
    assert past.get_by_role("link").get_attribute("href") == f"/spaces/{done['id']}"
    assert page.get_by_role("heading", name="مساحات سابقة").is_visible()
    assert errors == []


def test_i18n_falls_back_plurals_and_ignores_unknown_languages(
    open_page: Callable[..., tuple[Page, ConsoleErrors]],
) -> None:
    page, errors = open_page(locale="ar")
    page.goto("/signin")
    result = page.evaluate(
        """async () => {
          const I = await import("/static/js/i18n.js");
          I.register({en: {"x.only": "English {who}"}, ar: {}, xx: {"x.only": "nope"}});
          const out = {
            fallback: I.t("x.only", {who: "A"}),
            missing: I.t("no.such.key"),
            keepsUnknownParam: I.t("x.only", {}),
            ar: [0, 1, 2, 3, 11, 100].map(n => I.plural("listeners", n)),
          };
          I.setLang("xx");
          out.afterBadLang = [I.lang(), document.dir];
          I.setLang("en");
          out.en = [0, 1, 2].map(n => I.plural("listeners", n));
          out.number = I.number(1234567);
          return out;
        }"""
    )
    assert result["fallback"] == "English A"
    assert result["missing"] == "no.such.key"
    assert result["keepsUnknownParam"] == "English {who}"
    assert result["ar"] == [
        "لا أحد يستمع بعد",
        "مستمع واحد",
        "مستمعان",
        "3 مستمعين",
        "11 مستمعًا",
        "100 مستمع",
    ]
    assert result["afterBadLang"] == ["ar", "rtl"]
    assert result["en"] == ["0 listening", "1 listening", "2 listening"]
    assert result["number"] == "1,234,567"
    assert errors == []


def _luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def _contrast(a: str, b: str) -> float:
    hi, lo = sorted((_luminance(a), _luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


#: Text colour on background, as the stylesheet pairs them.
TEXT_PAIRS = [
    ("fg", "bg"),
    ("fg", "surface"),
    ("muted", "bg"),
    ("muted", "surface"),
    ("brand-fg", "brand"),
    ("brand-fg", "brand-strong"),
    ("brand-strong", "brand-soft"),
    ("brand-strong", "surface"),
    ("live", "live-soft"),
    ("live", "surface"),
    ("warn-fg", "warn-soft"),
]


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_palette_text_meets_wcag_aa_contrast(scheme: str) -> None:
    from importlib import resources

    css = (resources.files("majlis.web") / "static" / "css" / "majlis.css").read_text("utf-8")
    light = re.search(r":root\s*\{(.*?)\}", css, re.DOTALL)
    dark = re.search(r"prefers-color-scheme:\s*dark\)\s*\{\s*:root\s*\{(.*?)\}", css, re.DOTALL)
    assert light and dark
    colours = dict(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", light.group(1)))
    if scheme == "dark":
        colours.update(re.findall(r"--([\w-]+):\s*(#[0-9a-fA-F]{6})\s*;", dark.group(1)))
    if scheme == "dark":
        # In dark mode links and "scheduled" badges use --brand on dark surfaces instead.
        pairs = [p for p in TEXT_PAIRS if p[0] != "brand-strong"] + [
            ("brand", "surface"),
            ("brand", "brand-soft"),
        ]
    else:
        pairs = TEXT_PAIRS
    for text, background in pairs:
        ratio = _contrast(colours[text], colours[background])
        assert ratio >= 4.5, f"{scheme}: --{text} on --{background} is {ratio:.2f}:1"


def test_home_waits_out_a_503_calmly_then_shows_the_spaces(
    api: Api,
    open_page: Callable[..., tuple[Page, ConsoleErrors]],
    ended_after: list[tuple[User, str]],
) -> None:
    from playwright.sync_api import Route

    host = api.sign_up("calm")
    space = host.create_space("After the rush")
    ended_after.append((host, space["id"]))
    page, _ = open_page()
    asked: list[float] = []

    def shed_first(route: Route) -> None:
        asked.append(time.monotonic())
        if len(asked) == 1:
            route.fulfill(
                status=503,
                headers={"Retry-After": "2", "Content-Type": "application/problem+json"},
                body=json.dumps(
                    {"type": "about:blank", "title": "Busy", "status": 503, "detail": "x"}
                ),
            )
        else:
            route.continue_()

    page.route(re.compile(r".*/api/v1/spaces\?state=live.*"), shed_first)
    page.goto("/")
    status = page.locator("#home-status")
    status.filter(has_text="busy right now").wait_for()
    assert "in 2 seconds" in status.inner_text()
    page.locator(f"#all-live-list [data-space-id='{space['id']}']").wait_for()
    assert len(asked) == 2, "one retry, not a storm"
    assert asked[1] - asked[0] >= 0.9, "the retry waited (Retry-After 2 s, jittered 0.5-1.5x)"
    assert status.is_hidden() or status.inner_text() == ""


def test_the_api_docs_run_from_this_node_only_under_a_csp(
    server: RunningServer, open_page: Callable[..., tuple[Page, ConsoleErrors]]
) -> None:
    """/docs used to load Swagger UI from a CDN at a floating version, with an inline script,
    on the origin that keeps the token (issue 14): now vendored, and no inline script runs."""
    page, errors = open_page()
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    response = page.goto("/docs")
    assert response is not None
    assert response.headers["content-security-policy"] == DOCS_CONTENT_SECURITY_POLICY
    assert "script-src 'self';" in DOCS_CONTENT_SECURITY_POLICY
    operations = page.locator(".opblock")
    operations.first.wait_for()  # rendered from this node's /openapi.json
    assert operations.count() > 30
    assert [url for url in requested if not url.startswith(server.base_url)] == []
    assert errors == []
