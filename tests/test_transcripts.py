"""The transcript API (issue 16): the host's captions and language switches, the cues as JSON,
WebVTT and SRT (read back with real parsers), and deleting them; bad input changes nothing."""

from __future__ import annotations

import io
from typing import Any

import pytest
import srt
import webvtt

from tests.support.client import Api, User
from tests.support.server import RunningServer
from tests.support.wait import eventually


def _cue(
    server: RunningServer, space_id: str, who: User, start: float, text: str, lang: str
) -> None:
    store = server.services.ctx.store

    async def add() -> None:
        account = await store.account_by_handle(who.handle)
        assert account is not None
        await store.add_cue(space_id, account.id, start, start + 2.5, text, lang)

    server.call(add())


def test_the_host_switches_captions_and_language_and_bad_input_changes_nothing(api: Api) -> None:
    host, other = api.sign_up("host"), api.sign_up("other")
    space = host.create_space("switches")
    assert space["captions"] is False and space["language"] is None
    path = f"/api/v1/spaces/{space['id']}"
    changed = host.request("PATCH", path, json={"captions": True, "language": "ar-EG"}).json()
    assert changed["captions"] is True and changed["language"] == "ar-EG"
    for bad in ({"captions": "yes"}, {"language": "arabic!"}, {"language": "a"}, {"language": 7}):
        response = host.request("PATCH", path, json=bad)
        assert response.status_code == 422, (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
    assert other.request("PATCH", path, json={"captions": False}).status_code == 403
    now = api.space(space["id"])
    assert now["captions"] is True and now["language"] == "ar-EG"


def test_the_transcript_in_three_formats_and_the_host_deletes_it(
    server: RunningServer, api: Api
) -> None:
    host, guest = api.sign_up("host"), api.sign_up("guest", display_name="ضيف <الليلة>")
    space = host.create_space("words")
    sid = space["id"]
    _cue(server, sid, guest, 3.0, "أهلا وسهلا بكم", "ar")
    _cue(server, sid, host, 0.5, "Welcome, everyone.\n\nTonight: <music> & talk", "en")

    body = api.http.get(f"/api/v1/spaces/{sid}/transcript").json()
    assert body["space"]["id"] == sid
    cues = body["cues"]
    assert [c["text"][:7] for c in cues] == ["Welcome", "أهلا وس"]  # in the order said
    assert cues[0]["speaker"] == {"handle": host.handle, "display_name": host.handle}
    assert cues[1]["speaker"]["display_name"] == "ضيف <الليلة>"
    assert (cues[1]["start"], cues[1]["end"], cues[1]["language"]) == (3.0, 5.5, "ar")

    vtt = api.http.get(f"/api/v1/spaces/{sid}/transcript.vtt")
    assert vtt.headers["content-type"].startswith("text/vtt")
    captions = webvtt.from_buffer(io.StringIO(vtt.text))
    assert [(c.start, c.end) for c in captions] == [
        ("00:00:00.500", "00:00:03.000"),
        ("00:00:03.000", "00:00:05.500"),
    ]
    assert captions[0].voice == host.handle
    assert captions[1].voice == "ضيف &lt;الليلة&gt;"
    assert "Tonight: &lt;music&gt; &amp; talk" in captions[0].raw_text
    assert "\n" not in captions[0].raw_text  # the blank line would have ended the cue

    subrip = api.http.get(f"/api/v1/spaces/{sid}/transcript.srt")
    parsed = list(srt.parse(subrip.text))
    assert [p.content for p in parsed] == [
        f"{host.handle}: Welcome, everyone. Tonight: <music> & talk",
        "ضيف <الليلة>: أهلا وسهلا بكم",
    ]
    assert parsed[1].start.total_seconds() == 3.0

    assert guest.delete(f"/api/v1/spaces/{sid}/transcript").status_code == 403
    assert len(api.http.get(f"/api/v1/spaces/{sid}/transcript").json()["cues"]) == 2
    assert host.delete(f"/api/v1/spaces/{sid}/transcript").status_code == 204
    assert api.http.get(f"/api/v1/spaces/{sid}/transcript").json()["cues"] == []
    assert api.http.get(f"/api/v1/spaces/{sid}/transcript.srt").text == ""


@pytest.mark.parametrize("suffix", ["", ".vtt", ".srt"])
def test_no_such_space_is_a_404_problem(api: Api, suffix: str) -> None:
    response = api.http.get(f"/api/v1/spaces/nosuchspace/transcript{suffix}")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("application/problem+json")


def test_the_snapshot_carries_the_last_cues_for_pages_without_an_event_stream(
    server: RunningServer, api: Api
) -> None:
    host = api.sign_up("host")
    space = host.create_space("snapshot captions")
    sid = space["id"]
    _cue(server, sid, host, 0.1, "not shown: captions are off", "en")

    def snapshot() -> dict[str, Any]:
        body: dict[str, Any] = api.http.get(f"/api/v1/spaces/{sid}/snapshot").json()
        return body

    assert snapshot()["captions"] == []
    host.request("PATCH", f"/api/v1/spaces/{sid}", json={"captions": True})
    for text in ("one", "two", "three"):
        _cue(server, sid, host, 0.2, text, "en")
    # Rendered at most once a second per node: wait for the next rendering.
    shown = eventually(lambda: [c["text"] for c in snapshot()["captions"]] or None)
    assert shown == ["two", "three"]  # the last two, oldest first
