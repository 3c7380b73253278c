"""Request bodies (validated, unknown fields refused) and response shapes (documented in the
OpenAPI document; responses are built by ``domain.render`` without a second validation pass)."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StringConstraints,
)

from majlis.domain.audience import EMOJI


def _printable(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty or only spaces")
    if any(unicodedata.category(ch) in ("Cc", "Cs") for ch in value):
        raise ValueError("must not contain control characters")
    return value


def _iso_text(value: object) -> object:
    """Timestamps arrive as ISO 8601 text (API.md "Conventions"): pydantic alone would also take a
    number, or digits in a string, as Unix seconds and quietly schedule a Space from them."""
    if not isinstance(value, str) or value.strip().lstrip("+-").replace(".", "", 1).isdigit():
        raise ValueError(
            "must be an ISO 8601 date-time with offset, like 2030-01-31T18:00:00+03:00"
        )
    return value


HANDLE_PATTERN = r"^[A-Za-z0-9_]{1,32}$"
Handle = Annotated[str, StringConstraints(strict=True, pattern=HANDLE_PATTERN)]
DisplayName = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=64), AfterValidator(_printable)
]
Title = Annotated[
    str, StringConstraints(strict=True, min_length=1, max_length=140), AfterValidator(_printable)
]
Password = Annotated[str, StringConstraints(strict=True, min_length=8, max_length=256)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
DoorsOpenMinutes = Annotated[
    int,
    Field(
        strict=True,
        ge=0,
        le=60,
        description="open the doors this many minutes before scheduled_start (0-60): listeners "
        "can join and hear a looping teaser on the same hls_url the show will use; 0 = no "
        "pre-show. Needs scheduled_start.",
    ),
]


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewAccount(Body):
    handle: Handle = Field(description="1-32 of A-Z a-z 0-9 _; unique ignoring case")
    password: Password
    display_name: DisplayName


class SignIn(Body):
    handle: Handle
    password: Annotated[str, StringConstraints(strict=True, min_length=1, max_length=256)]


class NewSpace(Body):
    title: Title = Field(description="1-140 characters, any script")
    scheduled_start: Timestamp | None = Field(
        default=None,
        description="ISO 8601 with offset, up to 14 days ahead; omitted means live now",
    )
    record: StrictBool = True
    doors_open_minutes: DoorsOpenMinutes = 0


class SpaceChange(Body):
    doors_open_minutes: DoorsOpenMinutes


class StageRole(Body):
    role: Literal["speaker", "cohost"]


class Reaction(Body):
    emoji: Literal[EMOJI]  # type: ignore[valid-type]


# --- response shapes, for the OpenAPI document -------------------------------------------------


class AccountBrief(BaseModel):
    handle: str
    display_name: str


class AccountOut(AccountBrief):
    followers_count: int
    following_count: int
    created_at: datetime


class SessionOut(BaseModel):
    token: str
    account: AccountOut


class StageMemberOut(AccountBrief):
    role: Literal["host", "cohost", "speaker"]
    muted: bool


class SpaceOut(BaseModel):
    id: str
    title: str
    state: Literal["scheduled", "live", "ended"]
    host: AccountBrief
    stage: list[StageMemberOut]
    listener_count: int
    scheduled_start: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    created_at: datetime
    record: bool
    url: str
    hls_url: str | None = Field(
        description="set while live, and while scheduled once the doors are open (pre-show)"
    )
    dash_url: str | None = Field(
        description="the same audio as a low-latency DASH MPD (CMAF, chunked transfer); set "
        "whenever hls_url is"
    )
    replay_url: str | None
    recording_url: str | None
    doors_open_minutes: int
    doors_open_at: datetime | None = Field(
        description="when listeners may join before the start; null = no pre-show"
    )
    teaser: Literal["custom", "default"] | None = Field(
        description="what the pre-show plays: the host's upload, the default hold audio, or "
        "nothing (no pre-show)"
    )


class ReminderOut(BaseModel):
    reminder: bool = Field(description="true if I will be notified when this Space starts")


class SpacePage(BaseModel):
    items: list[SpaceOut]
    next_cursor: str | None


class SpaceList(BaseModel):
    items: list[SpaceOut]


class JoinOut(BaseModel):
    listener_id: str
    low_latency: bool = Field(
        description="play hls_url as LL-HLS (parts, blocking reloads); false: as plain HLS "
        "(whole segments), which a large audience gets so that edges hold"
    )
    events: bool = Field(
        description="open events_url; false (a large audience): follow the Space by polling "
        "snapshot_url, which edges cache, unless you are on the stage or asked to speak"
    )
    hls_url: str
    dash_url: str = Field(
        description="low-latency DASH of the same audio: one request per segment, streamed as "
        "it is produced; what the web client plays where Media Source Extensions exist"
    )
    snapshot_url: str
    events_url: str
    heartbeat_url: str
    heartbeat_interval_s: int


class SnapshotOut(BaseModel):
    id: str
    title: str
    state: Literal["scheduled", "live", "ended"]
    stage: list[StageMemberOut]
    speaking: list[str]
    listener_count: int
    reactions: dict[str, int]


class RequestOut(AccountBrief):
    requested_at: datetime


class RequestList(BaseModel):
    items: list[RequestOut]


class SpaceRefOut(BaseModel):
    id: str
    title: str
    state: Literal["scheduled", "live", "ended"]


class NotificationOut(BaseModel):
    id: str
    kind: Literal["live", "reminder", "invited", "promoted", "removed", "follow"]
    created_at: datetime
    space: SpaceRefOut | None
    actor: AccountBrief | None


class NotificationPage(BaseModel):
    items: list[NotificationOut]
    next_cursor: str | None
    seen_at: datetime | None = Field(
        description="notices up to this instant were seen, on any device (null: none yet)"
    )


class NotificationsSeen(Body):
    up_to: Timestamp = Field(description="the created_at of the newest notice shown")


class SeenOut(BaseModel):
    seen_at: datetime


class Problem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
