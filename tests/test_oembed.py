"""A Space or clip link pasted into a news site's CMS becomes a player (issue 15, "embeds"):
the pages say where their oEmbed answer is, the answer is oEmbed 1.0 (https://oembed.com,
section 2.3: a ``rich`` type with ``html``, ``width`` and ``height``), its iframe is the embed
player, and only the embed pages may be framed by another site."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any
from urllib.parse import quote

import pytest

from tests.support.client import Api, problem_of
from tests.support.clips import clip_of
from tests.support.server import RunningServer

pytestmark = pytest.mark.usefixtures("end_live_spaces")

#: oEmbed 1.0, 2.3.4: what every response has, and what a ``rich`` one adds.
REQUIRED = {"type": str, "version": str}
RICH = {"html": str, "width": int, "height": int}
OPTIONAL = {
    "title": str,
    "author_name": str,
    "author_url": str,
    "provider_name": str,
    "provider_url": str,
    "cache_age": int,
    "thumbnail_url": str,
    "thumbnail_width": int,
    "thumbnail_height": int,
}
THUMBNAIL = {"thumbnail_url", "thumbnail_width", "thumbnail_height"}


def validate_oembed(answer: dict[str, Any]) -> None:
    """The response as the spec defines it (fields, types, the thumbnail all-or-none rule)."""
    for name, kind in {**REQUIRED, **RICH}.items():
        assert isinstance(answer.get(name), kind), (name, answer)
    assert answer["version"] == "1.0" and answer["type"] == "rich"
    for name, value in answer.items():
        assert name in {**REQUIRED, **RICH, **OPTIONAL}, name
        assert isinstance(value, {**REQUIRED, **RICH, **OPTIONAL}[name]), name
    present = THUMBNAIL & set(answer)
    assert present in (set(), THUMBNAIL), present


class _Iframe(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.found: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "iframe":
            self.found.append(dict(attrs))


def _iframe(answer: dict[str, Any]) -> dict[str, str | None]:
    parsed = _Iframe()
    parsed.feed(answer["html"])
    assert len(parsed.found) == 1, answer["html"]
    return parsed.found[0]


def _oembed(api: Api, url: str, **params: Any) -> dict[str, Any]:
    got = api.http.get("/oembed", params={"url": url, **params})
    assert got.status_code == 200, got.text
    assert got.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = got.json()
    return body


def test_a_space_link_embeds_as_a_player(api: Api, server: RunningServer) -> None:
    host = api.sign_up("oeh", display_name="ليلى")
    space = host.create_space("On the news")
    page = f"{server.base_url}/spaces/{space['id']}"
    answer = _oembed(api, page)
    validate_oembed(answer)
    assert answer["title"] == "On the news" and answer["author_name"] == "ليلى"
    assert answer["author_url"] == f"{server.base_url}/@{host.handle}"
    assert (answer["width"], answer["height"]) == (560, 200)
    frame = _iframe(answer)
    assert frame["src"] == f"{server.base_url}/embed/spaces/{space['id']}"
    assert (frame["width"], frame["height"]) == ("560", "200")
    assert answer["thumbnail_url"] == f"{page}/card.png"
    # The page's discovery link leads to the same answer.
    discovered = api.http.get(f"/spaces/{space['id']}").text
    assert f"/oembed?format=json&amp;url={quote(page, safe='')}" in discovered
    # Within a smaller frame: sized down, and no thumbnail larger than allowed.
    small = _oembed(api, page, maxwidth=300, maxheight=150)
    validate_oembed(small)
    assert (small["width"], small["height"]) == (300, 150) and "thumbnail_url" not in small
    assert _iframe(small)["width"] == "300"
    # The embed's own address and a trailing slash are the same Space.
    assert _oembed(api, f"{server.base_url}/embed/spaces/{space['id']}/")["html"] == answer["html"]


def test_a_clip_link_embeds_as_a_player(api: Api, server: RunningServer) -> None:
    host, fan = api.sign_up("och"), api.sign_up("ocf")
    clip = clip_of(server, host, fan, 'مجلس "الأحد"')
    answer = _oembed(api, f"{server.base_url}/clips/{clip['id']}")
    validate_oembed(answer)
    assert answer["title"] == 'مجلس "الأحد"'
    assert _iframe(answer)["src"] == f"{server.base_url}/embed/clips/{clip['id']}"
    assert "&quot;" in answer["html"]  # the title is escaped inside the iframe's attribute


def test_links_that_are_not_ours_or_not_json_are_refused(api: Api, server: RunningServer) -> None:
    host = api.sign_up("oer")
    space = host.create_space("Refusals")
    ours = f"{server.base_url}/spaces/{space['id']}"
    problem_of(api.http.get("/oembed", params={"url": ours, "format": "xml"}), 501)
    for url in (
        f"https://elsewhere.example/spaces/{space['id']}",
        f"{server.base_url}/spaces/unknown",
        f"{server.base_url}/@{host.handle}",
        f"{server.base_url}/clips/nope",
        f"javascript://{server.base_url[7:]}/spaces/{space['id']}",
        "http://[::1",
        "not a url",
    ):
        problem_of(api.http.get("/oembed", params={"url": url}), 404)
    problem_of(api.http.get("/oembed"), 422)
    problem_of(api.http.get("/oembed", params={"url": ours, "maxwidth": "0"}), 422)
    problem_of(api.http.get("/oembed", params={"url": "x" * 3000}), 422)


def test_only_the_embed_pages_may_be_framed_by_another_site(
    api: Api, server: RunningServer
) -> None:
    host, fan = api.sign_up("ofh"), api.sign_up("off")
    clip = clip_of(server, host, fan, 'مجلس "الأحد"')
    space_id = clip["space_id"]
    for path in (f"/embed/spaces/{space_id}", f"/embed/clips/{clip['id']}"):
        got = api.http.get(path)
        assert got.status_code == 200, got.text
        policy = got.headers["content-security-policy"]
        assert "frame-ancestors *" in policy and "script-src 'self'" in policy
    for path in (f"/spaces/{space_id}", f"/clips/{clip['id']}", "/", f"/@{host.handle}"):
        got = api.http.get(path)
        assert got.status_code == 200, got.text
        assert "frame-ancestors 'none'" in got.headers["content-security-policy"], path
    problem_of(api.http.get("/embed/spaces/nope"), 404)
    problem_of(api.http.get("/embed/clips/nope"), 404)
