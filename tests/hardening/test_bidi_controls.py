"""Issue 14, finding 11 (bidi): names and titles lose their bidi embeddings, overrides and
isolates, and keep the marks Arabic needs (LRM, RLM, ALM)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing

import pytest

from tests.support.client import Api, problem_of
from tests.support.server import run_server

RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"
LRM, RLM, ALM = "\u200e", "\u200f", "\u061c"


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    with (
        run_server(tmp_path_factory.mktemp("bidi")) as server,
        closing(Api(server.base_url)) as client,
    ):
        yield client


def test_overrides_and_isolates_are_removed_from_names_and_titles(api: Api) -> None:
    host = api.sign_up("bidi_host", display_name=f"{RLO}gpj.exe{PDF} {LRI}Hala{PDI}")
    assert host.get(f"/api/v1/accounts/{host.handle}").json()["display_name"] == "gpj.exe Hala"
    space = host.create_space(f"{RLO}مجلس{PDF} 2030")
    assert space["title"] == "مجلس 2030"


def test_the_marks_arabic_needs_are_kept(api: Api) -> None:
    title = f"مجلس{RLM} (2){LRM} {ALM}-3"
    assert api.sign_up("marks").create_space(title)["title"] == title


def test_a_name_of_nothing_but_controls_is_refused(api: Api) -> None:
    user = api.sign_up("controls_only")
    created = user.post("/api/v1/spaces", json={"title": f"{RLO}{PDF}{LRI}{PDI}"})
    problem_of(created, 422)
