"""The domain's entities: plain immutable records the rules reason about and the store returns.

They live in the domain, not in the store, so the domain owns its model: the store imports them
to build them from rows, and the domain never reaches into the store for a type. The API turns
them into JSON.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Generic, TypeVar

from majlis.types import Role, SpaceState


@dataclass(frozen=True)
class Account:
    id: int
    handle: str
    display_name: str
    created_at: datetime
    followers_count: int = 0
    following_count: int = 0


@dataclass(frozen=True)
class Session:
    """A signed-in device: what ``GET /api/v1/sessions`` lists (the token is never kept)."""

    id: str
    account_id: int
    created_at: datetime
    last_used_at: datetime


@dataclass(frozen=True)
class Credentials:
    account: Account
    password_hash: str


@dataclass(frozen=True)
class StageMember:
    account: Account
    role: Role
    muted: bool


@dataclass(frozen=True, slots=True)
class PinnedLink:
    """A link a host or cohost pinned to a Space: shown with its domain, never fetched."""

    url: str
    title: str


@dataclass(frozen=True, slots=True)
class Comment:
    id: str
    space_id: str
    account: Account
    text: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Clip:
    """A moment cut from a Space's recording: ``start`` and ``duration`` in program seconds."""

    id: str
    space_id: str
    account: Account
    start: float
    duration: float
    created_at: datetime


@dataclass(frozen=True)
class Cue:
    """A caption: what one speaker said, in seconds since the Space went live (its replay's
    timeline), as the recognizer heard it."""

    id: int
    space_id: str
    speaker: Account
    start: float
    end: float
    text: str
    #: ISO 639-1.
    language: str


@dataclass(frozen=True)
class TranscriptHit:
    """A Space whose transcript matches a search: how many cues match, and the first."""

    space_id: str
    hits: int
    first: Cue


@dataclass(frozen=True)
class Space:
    id: str
    title: str
    state: SpaceState
    host: Account
    stage: tuple[StageMember, ...]
    scheduled_start: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    record: bool
    created_at: datetime
    #: Minutes before ``scheduled_start`` the pre-show opens; 0 = no pre-show.
    doors_open_minutes: int = 0
    #: Whether the host uploaded a teaser (else the pre-show plays the default hold audio).
    has_teaser: bool = False
    link: PinnedLink | None = None
    #: Whether listeners may clip it (the host's switch; on by default).
    clips_allowed: bool = True
    #: Whether its speakers are captioned live (the host's switch; the operator's default).
    captions: bool = False
    #: What is spoken in it (BCP 47), or None (captions detect it).
    language: str | None = None

    @property
    def doors_open_at(self) -> datetime | None:
        """When listeners may come in before the show, or None if there is no pre-show."""
        if self.scheduled_start is None or self.doors_open_minutes <= 0:
            return None
        return self.scheduled_start - timedelta(minutes=self.doors_open_minutes)

    def doors_open(self, now: datetime) -> bool:
        """Scheduled, with a pre-show whose doors have opened: listeners are welcome."""
        at = self.doors_open_at
        return self.state == "scheduled" and at is not None and at <= now

    def audible(self, now: datetime) -> bool:
        """Whether the Space has a program to listen to: live, or in its pre-show."""
        return self.state == "live" or self.doors_open(now)

    def member(self, account_id: int) -> StageMember | None:
        for member in self.stage:
            if member.account.id == account_id:
                return member
        return None


@dataclass(frozen=True)
class Teaser:
    """A host's uploaded pre-show audio, as uploaded (it was validated by decoding it)."""

    content_type: str
    audio: bytes
    duration_ms: int
    created_at: datetime


@dataclass(frozen=True)
class SpeakRequest:
    account: Account
    created_at: datetime


@dataclass(frozen=True)
class SpaceRef:
    """Just enough of a Space to show it in a list of notices."""

    id: str
    title: str
    state: SpaceState


@dataclass(frozen=True)
class Notification:
    """An inbox entry. ``id`` is stable: ``n<row>`` for stored notices, ``live-<space>`` or
    ``reminder-<space>`` for notices derived on read from follows and reminders."""

    id: str
    kind: str
    created_at: datetime
    space: SpaceRef | None
    actor: Account | None


T = TypeVar("T")


@dataclass(frozen=True)
class Page(Generic[T]):
    items: list[T]
    next_cursor: str | None
