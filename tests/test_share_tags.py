"""A Space's or a person's link pasted into a chat or a social site shows a preview (issue 15,
"share cards"): OpenGraph and Twitter card tags on the Space and profile pages, read here with
a real HTML parser, escaped whatever the title holds; the card image each names is a PNG the
server draws (tests/unit/web/test_cards.py looks at how), and the Space and clip pages say
where their oEmbed answer is (tests/test_oembed.py)."""

from __future__ import annotations

import io
from html.parser import HTMLParser

from PIL import Image

from tests.support.client import Api, problem_of
from tests.support.clips import clip_of
from tests.support.server import RunningServer


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}
        self.links: dict[str, str] = {}
        self.scripts_inline = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and (found.get("property") or found.get("name")):
            key = str(found.get("property") or found.get("name"))
            self.tags[key] = str(found.get("content") or "")
        if tag == "link" and found.get("rel") == "alternate":
            self.links[str(found.get("type"))] = str(found.get("href"))
        if tag == "script" and "src" not in found:
            self.scripts_inline += 1


def _meta(api: Api, path: str) -> _Meta:
    page = api.http.get(path)
    assert page.status_code == 200, page.text
    parsed = _Meta()
    parsed.feed(page.text)
    return parsed


def test_a_space_page_carries_its_preview(api: Api, server: RunningServer) -> None:
    host = api.sign_up("sharer", display_name='ليلى "المضيفة"')
    title = 'مجلس "الأربعاء" <script>alert(1)</script> & more'
    space = host.create_space(title)
    try:
        meta = _meta(api, f"/spaces/{space['id']}")
        assert meta.tags["og:title"] == title  # escaped in the page, the same text once parsed
        assert meta.tags["og:url"] == f"{server.base_url}/spaces/{space['id']}"
        assert meta.tags["og:type"] == "website" and meta.tags["og:site_name"] == "majlis"
        assert "Live now" in meta.tags["og:description"]
        assert 'ليلى "المضيفة"' in meta.tags["og:description"]
        assert meta.tags["twitter:card"] == "summary_large_image"
        assert meta.tags["og:image"] == f"{server.base_url}/spaces/{space['id']}/card.png"
        assert (meta.tags["og:image:width"], meta.tags["og:image:height"]) == ("1200", "630")
        _assert_card(api, meta.tags["og:image"])
        oembed = meta.links["application/json+oembed"]
        assert oembed.startswith(f"{server.base_url}/oembed?format=json&url=http")
        assert meta.scripts_inline == 0  # the title's <script> is text, not a script
    finally:
        host.post(f"/api/v1/spaces/{space['id']}/end")
    ended = _meta(api, f"/spaces/{space['id']}")
    assert "replay" in ended.tags["og:description"]


def test_a_profile_page_carries_its_preview(api: Api, server: RunningServer) -> None:
    person = api.sign_up("profiled", display_name="Nour")
    meta = _meta(api, f"/@{person.handle}")
    assert meta.tags["og:type"] == "profile"
    assert meta.tags["og:title"] == f"Nour (@{person.handle})"
    assert meta.tags["profile:username"] == person.handle
    assert meta.tags["og:url"] == f"{server.base_url}/@{person.handle}"
    assert meta.tags["og:image"] == f"{server.base_url}/@{person.handle}/card.png"
    _assert_card(api, meta.tags["og:image"])
    problem_of(api.http.get("/@nobody_here_at_all/card.png"), 404)
    problem_of(api.http.get("/spaces/nope/card.png"), 404)
    problem_of(api.http.get("/clips/nope/card.png"), 404)


def _assert_card(api: Api, url: str) -> None:
    got = api.http.get(url)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "image/png"
    assert got.headers["cache-control"] == "public, max-age=60"
    with Image.open(io.BytesIO(got.content)) as image:
        assert image.size == (1200, 630)


def test_a_clip_page_carries_its_preview_and_its_audio(api: Api, server: RunningServer) -> None:
    host, fan = api.sign_up("cph", display_name="ليلى"), api.sign_up("cpf")
    clip = clip_of(server, host, fan, 'مجلس "الأحد"')
    meta = _meta(api, f"/clips/{clip['id']}")
    assert meta.tags["og:type"] == "music.song"
    assert meta.tags["og:title"] == 'مجلس "الأحد"'
    assert meta.tags["og:url"] == f"{server.base_url}/clips/{clip['id']}"
    assert meta.tags["og:audio"] == f"{server.base_url}{clip['audio_url']}"
    assert meta.tags["og:audio:type"] == "audio/mp4"
    assert f"@{fan.handle}" in meta.tags["og:description"]
    assert meta.tags["twitter:card"] == "summary_large_image"
    _assert_card(api, meta.tags["og:image"])
    assert "application/json+oembed" in meta.links
    host.post(f"/api/v1/spaces/{clip['space_id']}/end")
    assert fan.delete(f"/api/v1/clips/{clip['id']}").status_code == 204
    assert api.http.get(f"/clips/{clip['id']}").status_code == 404
