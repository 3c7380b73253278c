"""What the renderers write is exactly the shape the OpenAPI document shows (domain.shapes).

mypy strict holds the renderers to their typed dicts; this checks the bytes at run time too,
with unknown keys refused, for values that reach a renderer untyped (from the bus or a store
row), and that the OpenAPI document is built from those same declarations."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from majlis.app import create_app
from majlis.config import Settings
from majlis.domain import shapes
from majlis.domain.model import (
    Account,
    Notification,
    Space,
    SpaceRef,
    SpeakRequest,
    StageMember,
)
from majlis.domain.render import (
    account_json,
    member_json,
    notification_json,
    request_json,
    space_json,
)

NOW = datetime(2030, 1, 31, 18, 0, tzinfo=UTC)
HOST = Account(id=1, handle="host", display_name="المضيف", created_at=NOW, followers_count=3)
GUEST = Account(id=2, handle="guest", display_name="Guest", created_at=NOW)


def _space(state: Any = "live", doors: int = 0) -> Space:
    return Space(
        id="sp1",
        title="مجلس الليلة",
        state=state,
        host=HOST,
        stage=(
            StageMember(account=HOST, role="host", muted=False),
            StageMember(account=GUEST, role="speaker", muted=True),
        ),
        scheduled_start=NOW + timedelta(minutes=30) if state == "scheduled" else None,
        started_at=NOW if state != "scheduled" else None,
        ended_at=NOW + timedelta(hours=1) if state == "ended" else None,
        record=True,
        created_at=NOW,
        doors_open_minutes=doors,
    )


def _keys(shape: Any) -> set[str]:
    return set(shape.__required_keys__) | set(shape.__optional_keys__)


def _exact(shape: Any) -> TypeAdapter[Any]:
    return TypeAdapter(shape)


@pytest.mark.parametrize(
    ("state", "doors"), [("scheduled", 0), ("scheduled", 45), ("live", 0), ("ended", 0)]
)
def test_a_space_renders_exactly_its_shape(state: str, doors: int) -> None:
    rendered = space_json(Settings(), _space(state, doors), listener_count=7, now=NOW)
    _exact(shapes.SpaceOut).validate_python(rendered)
    assert set(rendered) == _keys(shapes.SpaceOut)


def test_accounts_members_requests_and_notices_render_exactly_their_shapes() -> None:
    _exact(shapes.AccountOut).validate_python(account_json(HOST))
    _exact(shapes.StageMemberOut).validate_python(member_json(_space().stage[1]))
    _exact(shapes.RequestOut).validate_python(request_json(SpeakRequest(GUEST, NOW)))
    notice = Notification(
        id="live-sp1",
        kind="live",
        created_at=NOW,
        space=SpaceRef(id="sp1", title="t", state="live"),
        actor=HOST,
    )
    _exact(shapes.NotificationOut).validate_python(notification_json(notice))


def test_a_key_the_shape_does_not_declare_is_refused() -> None:
    """The check above would catch a renderer writing a field the contract does not show."""
    with pytest.raises(ValidationError):
        _exact(shapes.AccountOut).validate_python({**account_json(HOST), "secret": 1})


def test_the_openapi_document_shows_the_shapes_the_renderers_return() -> None:
    schemas = create_app(Settings()).openapi()["components"]["schemas"]
    for name in ("SpaceOut", "AccountOut", "JoinOut", "SnapshotOut", "NotificationPage"):
        assert set(schemas[name]["properties"]) == _keys(getattr(shapes, name)), name
