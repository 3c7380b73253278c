"""The SQL schema, as SQLAlchemy Core tables. Migrations in ``migrations/`` must match it
(a test compares them), so the running schema is always the one a fresh install gets."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC on every engine (SQLite would otherwise hand back naive values)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store")
        aware: datetime = value.astimezone(UTC)
        return aware.replace(tzinfo=None) if dialect.name == "sqlite" else aware

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)  # type: ignore[no-any-return]
        return value.astimezone(UTC)  # type: ignore[no-any-return]


def _account_fk(**kwargs: Any) -> ForeignKey:
    return ForeignKey("accounts.id", ondelete="CASCADE", **kwargs)


def _space_fk() -> ForeignKey:
    return ForeignKey("spaces.id", ondelete="CASCADE")


accounts = Table(
    "accounts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("handle", String(32), nullable=False),
    #: Lower-cased handle: uniqueness is case-insensitive on every engine.
    Column("handle_key", String(32), nullable=False, unique=True),
    Column("display_name", String(64), nullable=False),
    Column("password_hash", String(256), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    #: Notices up to this instant were seen (on any device): the unread badge counts the rest.
    Column("notifications_seen_at", UTCDateTime(), nullable=True),
)

sessions = Table(
    "sessions",
    metadata,
    #: SHA-256 of the bearer token; the token itself is never stored.
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", Integer, _account_fk(), nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
    #: What the owner sees and ends a session by (``GET/DELETE /api/v1/sessions``): random, so
    #: it says nothing of the token. NULL only for a row an older node wrote mid-upgrade.
    Column("id", String(24), nullable=True),
    #: Updated at most every few minutes (a write per request would cost the auth path): a
    #: session unused for ``session_idle_days`` ends.
    Column("last_used_at", UTCDateTime(), nullable=True),
    UniqueConstraint("id", name="uq_sessions_id"),
)

follows = Table(
    "follows",
    metadata,
    Column("follower_id", Integer, _account_fk(), primary_key=True),
    Column("followee_id", Integer, _account_fk(), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_follows_followee", "followee_id", "follower_id"),
)

spaces = Table(
    "spaces",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("host_id", Integer, _account_fk(), nullable=False),
    Column("title", String(140), nullable=False),
    Column("state", String(10), nullable=False),
    Column("scheduled_start", UTCDateTime(), nullable=True),
    Column("started_at", UTCDateTime(), nullable=True),
    Column("ended_at", UTCDateTime(), nullable=True),
    Column("record", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    #: Minutes before ``scheduled_start`` the doors open (pre-show teaser); 0 = no pre-show.
    Column("doors_open_minutes", Integer, nullable=False, server_default="0"),
    #: The link a host or cohost pinned (never fetched by the server), and its title.
    Column("link_url", String(2048), nullable=True),
    Column("link_title", String(100), nullable=True),
    #: The comment a host or cohost pinned (one at a time), or null.
    Column("pinned_comment_id", String(16), nullable=True),
    #: Whether listeners may clip it (the host turns clips off).
    Column("clips_allowed", Boolean, nullable=False, server_default=true()),
    #: Whether its speakers are captioned live (the host's switch; the operator's default).
    Column("captions", Boolean, nullable=False, server_default=false()),
    #: What is spoken in it (BCP 47, "ar", "en-GB"), or null: captions then detect it.
    Column("language", String(35), nullable=True),
    Index("ix_spaces_state_started", "state", "started_at"),
    Index("ix_spaces_host_state", "host_id", "state"),
)

stage_members = Table(
    "stage_members",
    metadata,
    Column("space_id", String(16), _space_fk(), primary_key=True),
    Column("account_id", Integer, _account_fk(), primary_key=True, index=True),
    Column("role", String(8), nullable=False),
    Column("muted", Boolean, nullable=False),
    Column("joined_at", UTCDateTime(), nullable=False),
)

speak_requests = Table(
    "speak_requests",
    metadata,
    Column("space_id", String(16), _space_fk(), primary_key=True),
    Column("account_id", Integer, _account_fk(), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: What people say in a Space's room, newest first by (created_at, id).
comments = Table(
    "comments",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("space_id", String(16), _space_fk(), nullable=False),
    Column("account_id", Integer, _account_fk(), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_comments_space_created", "space_id", "created_at", "id"),
)

#: Moments cut from a Space's recording (the audio file lies beside the recordings).
clips = Table(
    "clips",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("space_id", String(16), _space_fk(), nullable=False),
    Column("account_id", Integer, _account_fk(), nullable=False),
    #: Where the clip starts in the Space's program, and how long it is, in seconds.
    Column("start_s", Float, nullable=False),
    Column("duration_s", Float, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_clips_space_created", "space_id", "created_at", "id"),
)

captions = Table(
    "captions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("space_id", String(16), _space_fk(), nullable=False),
    Column("account_id", Integer, _account_fk(), nullable=False),
    #: Seconds since the Space went live: its place in the replay.
    Column("start_s", Float, nullable=False),
    Column("end_s", Float, nullable=False),
    Column("text", String(2000), nullable=False),
    #: ``text`` folded (majlis.text_folding): what search matches, Arabic-aware.
    Column("text_folded", String(2000), nullable=False, server_default=""),
    #: ISO 639-1, as the recognizer heard it (or was told).
    Column("language", String(8), nullable=False),
    Index("ix_captions_space_start", "space_id", "start_s", "id"),
)

removals = Table(
    "removals",
    metadata,
    Column("space_id", String(16), _space_fk(), primary_key=True),
    Column("account_id", Integer, _account_fk(), primary_key=True),
    Column("removed_by", Integer, _account_fk(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

reminders = Table(
    "reminders",
    metadata,
    Column("space_id", String(16), _space_fk(), primary_key=True),
    Column("account_id", Integer, _account_fk(), primary_key=True, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

#: Personal notices only (invited, removed, followed). "Live" and "reminder" notices are derived
#: on read from follows and reminders, so a host with 88M followers goes live with O(1) writes.
notifications = Table(
    "notifications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_id", Integer, _account_fk(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("space_id", String(16), _space_fk(), nullable=True),
    Column("actor_id", Integer, _account_fk(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Index("ix_notifications_account_created", "account_id", "created_at"),
)

#: A host's pre-show teaser: the uploaded audio as sent (already validated by decoding it once),
#: kept in the database so any media node can play it; at most one per Space.
teasers = Table(
    "teasers",
    metadata,
    Column("space_id", String(16), _space_fk(), primary_key=True),
    Column("content_type", String(64), nullable=False),
    Column("audio", LargeBinary, nullable=False),
    Column("duration_ms", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)


node_secret = Table(
    "node_secret",
    metadata,
    #: One row ("node"): the secret every node on this database signs with
    #: (``security/shared_secret.py``).
    Column("name", String(16), primary_key=True),
    #: The secret itself, when majlis generated it (nodes started without MAJLIS_SECRET); NULL
    #: when the operator gave every node one.
    Column("value", String(128), nullable=True),
    #: A keyed hash of the secret: a node given another secret sees the mismatch and refuses.
    Column("verifier", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
