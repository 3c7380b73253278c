"""A Space's or a person's link pasted into a chat or a social site shows a preview (issue 15,
"share cards"): OpenGraph and Twitter card tags on the Space and profile pages, read here with
a real HTML parser, escaped whatever the title holds. (The card image is not built yet.)"""

from __future__ import annotations

from html.parser import HTMLParser

from tests.support.client import Api
from tests.support.server import RunningServer


class _Meta(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: dict[str, str] = {}
        self.scripts_inline = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "meta" and (found.get("property") or found.get("name")):
            key = str(found.get("property") or found.get("name"))
            self.tags[key] = str(found.get("content") or "")
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
        assert meta.tags["twitter:card"] == "summary"
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
