"""The durable state the domain needs, as the port it declares: ``majlis.store`` implements it
(SQLite and PostgreSQL), so the domain imports nothing of the store. Business rules live here in
the domain; the store guarantees the invariants that need atomicity (stage limits, bans, state
transitions) inside one transaction."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Protocol

from majlis.domain.model import (
    Account,
    Clip,
    Comment,
    Credentials,
    Cue,
    Notification,
    Page,
    PinnedLink,
    Session,
    Space,
    SpeakRequest,
    StageMember,
    Teaser,
    TranscriptHit,
)
from majlis.types import Role, SpaceState


class StoreConflict(Exception):
    """A write the current state does not allow; ``reason`` is a stable machine-readable key."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


class Store(Protocol):
    async def migrate(self) -> None: ...
    async def close(self) -> None: ...
    async def ping(self) -> None: ...

    # accounts and sessions
    async def create_account(
        self, handle: str, display_name: str, password_hash: str, now: datetime
    ) -> Account: ...
    async def account_by_handle(self, handle: str) -> Account | None: ...
    async def credentials(self, handle: str) -> Credentials | None: ...
    async def create_session(
        self, token_hash: str, session_id: str, account_id: int, now: datetime
    ) -> None: ...
    async def session_for_token(self, token_hash: str) -> tuple[Account, Session] | None:
        """The account and session of a token; a session without an id (written by an older
        node) is given one here."""

    async def touch_session(self, token_hash: str, now: datetime) -> None: ...
    async def session_by_id(
        self, account_id: int, session_id: str
    ) -> tuple[Account, Session] | None: ...
    async def sessions_of(self, account_id: int, limit: int) -> list[Session]:
        """The account's sessions, most recently used first."""

    async def delete_session(self, token_hash: str) -> bool: ...
    async def delete_session_by_id(self, account_id: int, session_id: str) -> str | None:
        """End the account's session ``session_id``; its token's hash, or None if none."""

    # the nodes' shared secret (security/shared_secret.py)
    async def claim_node_secret(
        self, verifier: str, value: str | None, now: datetime
    ) -> tuple[str, str | None]: ...

    # follows
    async def follow(self, follower_id: int, followee_id: int, now: datetime) -> bool: ...
    async def unfollow(self, follower_id: int, followee_id: int) -> bool: ...
    async def followee_ids(self, account_id: int) -> frozenset[int]: ...
    async def followed_among(
        self, follower_id: int, account_ids: Collection[int], limit: int
    ) -> list[Account]:
        """Those of ``account_ids`` that ``follower_id`` follows, most recently followed first,
        at most ``limit``."""
        ...

    # spaces
    async def create_space(
        self,
        space_id: str,
        host_id: int,
        title: str,
        state: SpaceState,
        scheduled_start: datetime | None,
        record: bool,
        now: datetime,
        doors_open_minutes: int = 0,
        captions: bool = False,
    ) -> Space: ...
    async def count_spaces_of_host(self, host_id: int, state: SpaceState) -> int: ...
    async def space(self, space_id: str) -> Space | None: ...
    async def list_spaces(
        self, state: SpaceState | None, cursor: str | None, limit: int, host_id: int | None = None
    ) -> Page[Space]: ...
    async def transition(
        self, space_id: str, allowed_from: tuple[SpaceState, ...], to: SpaceState, now: datetime
    ) -> Space: ...
    async def live_feed(self, account_id: int, limit: int) -> list[Space]: ...
    async def set_doors_open(self, space_id: str, minutes: int) -> Space:
        """Only while scheduled (else ``StoreConflict("state")``)."""
        ...

    # the pre-show teaser
    async def put_teaser(self, space_id: str, teaser: Teaser) -> Space:
        """Replace the Space's teaser; only while scheduled (else ``StoreConflict("state")``)."""
        ...

    async def teaser(self, space_id: str) -> Teaser | None: ...
    async def set_link(self, space_id: str, link: PinnedLink | None) -> Space:
        """Pin (or, with None, unpin) the Space's link; not once ended (``StoreConflict``)."""
        ...

    async def delete_teaser(self, space_id: str) -> bool: ...
    async def set_clips_allowed(self, space_id: str, allowed: bool) -> Space: ...
    async def upcoming_feed(self, account_id: int, limit: int) -> list[Space]: ...

    # the stage
    async def put_on_stage(
        self,
        space_id: str,
        account_id: int,
        role: Role,
        max_cohosts: int,
        max_speakers: int,
        now: datetime,
    ) -> StageMember: ...
    async def leave_stage(self, space_id: str, account_id: int) -> bool: ...
    async def set_muted(self, space_id: str, account_id: int, muted: bool) -> bool: ...
    async def add_request(self, space_id: str, account_id: int, now: datetime) -> None: ...
    async def requests(self, space_id: str) -> list[SpeakRequest]: ...
    async def delete_request(self, space_id: str, account_id: int) -> bool: ...
    async def has_request(self, space_id: str, account_id: int) -> bool: ...
    async def remove_from_space(
        self, space_id: str, account_id: int, removed_by: int, now: datetime
    ) -> bool: ...
    async def banned_ids(self, space_id: str) -> frozenset[int]: ...

    # comments
    async def add_comment(
        self, comment_id: str, space_id: str, account_id: int, text: str, now: datetime
    ) -> Comment: ...
    async def comments(self, space_id: str, cursor: str | None, limit: int) -> Page[Comment]:
        """Newest first; a forged cursor raises ``BadCursor``."""
        ...

    async def comment(self, space_id: str, comment_id: str) -> Comment | None: ...
    async def pinned_comment(self, space_id: str) -> Comment | None: ...
    async def delete_comment(self, space_id: str, comment_id: str) -> bool:
        """Deletes it (and unpins it if it was pinned); whether there was one."""
        ...

    async def pin_comment(self, space_id: str, comment_id: str | None) -> None:
        """Pin it (one per Space) or, with None, unpin; ``StoreConflict("not_found")`` if the
        comment is not in this Space."""
        ...

    # clips
    async def add_clip(
        self,
        clip_id: str,
        space_id: str,
        account_id: int,
        start: float,
        duration: float,
        now: datetime,
    ) -> Clip: ...
    async def clip(self, clip_id: str) -> Clip | None: ...
    async def clips(self, space_id: str, cursor: str | None, limit: int) -> Page[Clip]:
        """Newest first; a forged cursor raises ``BadCursor``."""
        ...

    async def delete_clip(self, clip_id: str) -> bool: ...

    # captions
    async def set_captions(self, space_id: str, on: bool) -> Space: ...
    async def set_language(self, space_id: str, language: str) -> Space: ...
    async def add_cue(
        self,
        space_id: str,
        account_id: int,
        start: float,
        end: float,
        text: str,
        language: str,
    ) -> Cue: ...
    async def cues(self, space_id: str, after_id: int = 0, limit: int = 10_000) -> list[Cue]:
        """In the order they were said (start, then id); ``after_id`` pages on by id."""
        ...

    async def cues_between(self, space_id: str, start: float, end: float) -> list[Cue]:
        """The cues that start in [start, end) seconds, in the order said."""
        ...

    async def search_transcripts(self, query: str, limit: int) -> list[TranscriptHit]:
        """Spaces by what was said in them: every folded word of ``query`` in one cue
        (Arabic-aware, ``majlis.text_folding``), those with the most such cues first."""
        ...

    async def latest_cues(self, space_id: str, limit: int) -> list[Cue]:
        """The last ``limit`` cues made (newest last)."""
        ...

    async def delete_cues(self, space_id: str) -> int:
        """Deletes the Space's transcript; how many cues there were."""
        ...

    # reminders and notifications
    async def add_reminder(self, space_id: str, account_id: int, now: datetime) -> None: ...
    async def delete_reminder(self, space_id: str, account_id: int) -> bool: ...
    async def reminder_space_ids(self, account_id: int) -> frozenset[str]: ...
    async def add_notification(
        self,
        account_id: int,
        kind: str,
        space_id: str | None,
        actor_id: int | None,
        now: datetime,
    ) -> int: ...
    async def notifications(
        self, account_id: int, cursor: str | None, limit: int
    ) -> Page[Notification]: ...
    async def notifications_seen_at(self, account_id: int) -> datetime | None: ...
    async def mark_notifications_seen(self, account_id: int, up_to: datetime) -> datetime: ...
