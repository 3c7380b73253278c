"""The JSON shapes majlis sends, declared once.

These typed dicts are both what the renderers return (mypy strict checks every key and type
they write) and what the OpenAPI document shows (FastAPI reads them as response models). A
field added to the wire without being added here fails type checking, so the contract and the
bytes cannot drift apart the way two separate declarations did.

``typing_extensions.TypedDict`` rather than ``typing``'s: pydantic needs it on Python 3.11 to
build a schema from one.
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import ConfigDict, Field, WithJsonSchema, with_config
from typing_extensions import TypedDict

#: A timestamp as it travels: ISO 8601 text with an offset (API.md "Conventions").
IsoTime = Annotated[str, WithJsonSchema({"type": "string", "format": "date-time"})]
SpaceStateName = Literal["scheduled", "live", "ended"]
StageRoleName = Literal["host", "cohost", "speaker"]
#: invited: put on stage by a host without asking; approved: their request to speak was
#: answered by putting them on stage; promoted: made a cohost.
NoticeKind = Literal["live", "reminder", "invited", "approved", "promoted", "removed", "follow"]

#: A key a shape does not declare is a bug in the renderer, not an extension: the document says
#: so (``additionalProperties: false``) and a validation of a rendered body refuses it.
_EXACT = ConfigDict(extra="forbid")


@with_config(_EXACT)
class AccountBrief(TypedDict):
    handle: str
    display_name: str


@with_config(_EXACT)
class AccountOut(AccountBrief):
    followers_count: int
    following_count: int
    created_at: IsoTime
    followed_by_me: NotRequired[
        Annotated[bool, Field(description="asked with a token: whether I follow this account")]
    ]


@with_config(_EXACT)
class SessionOut(TypedDict):
    token: str
    account: AccountOut


@with_config(_EXACT)
class SessionInfoOut(TypedDict):
    id: Annotated[str, Field(description="DELETE /api/v1/sessions/{id} ends it")]
    created_at: IsoTime
    last_used_at: Annotated[
        IsoTime, Field(description="to within five minutes (marked at most that often)")
    ]
    current: Annotated[bool, Field(description="the session this request was made with")]


@with_config(_EXACT)
class StreamTicketOut(TypedDict):
    ticket: Annotated[str, Field(description="?ticket= on the stream's URL; good for one stream")]
    expires_in: Annotated[int, Field(description="seconds it may wait before it is used")]


@with_config(_EXACT)
class SessionPage(TypedDict):
    items: list[SessionInfoOut]
    next_cursor: Annotated[
        str | None, Field(description="always null: the 100 most recently used are all listed")
    ]


@with_config(_EXACT)
class StageMemberOut(AccountBrief):
    role: StageRoleName
    muted: bool


@with_config(_EXACT)
class LinkOut(TypedDict):
    url: str
    title: str


@with_config(_EXACT)
class SpaceUrls(TypedDict):
    hls_url: Annotated[
        str | None,
        Field(description="set while live, and while scheduled once the doors are open (pre-show)"),
    ]
    dash_url: Annotated[
        str | None,
        Field(
            description="the same audio as a low-latency DASH MPD (CMAF, chunked transfer); set "
            "whenever hls_url is"
        ),
    ]
    hls_main_url: Annotated[
        str | None,
        Field(
            description="a multivariant HLS playlist: the audio of hls_url and, with captions "
            "on, a WebVTT subtitles rendition; set whenever hls_url is"
        ),
    ]
    replay_url: str | None
    recording_url: str | None


@with_config(_EXACT)
class SpaceOut(SpaceUrls):
    id: str
    title: str
    state: SpaceStateName
    host: AccountBrief
    stage: list[StageMemberOut]
    listener_count: int
    scheduled_start: IsoTime | None
    started_at: IsoTime | None
    ended_at: IsoTime | None
    created_at: IsoTime
    record: bool
    url: str
    doors_open_minutes: int
    doors_open_at: Annotated[
        IsoTime | None,
        Field(description="when listeners may join before the start; null = no pre-show"),
    ]
    link: Annotated[
        LinkOut | None,
        Field(description="the link a host or cohost pinned (never fetched by the server)"),
    ]
    clips_allowed: Annotated[
        bool, Field(description="whether listeners may clip it (the host's switch)")
    ]
    captions: Annotated[
        bool, Field(description="whether its speakers are captioned live (the host's switch)")
    ]
    language: Annotated[
        str | None,
        Field(description="what is spoken in it (BCP 47), or null: captions detect it"),
    ]
    teaser: Annotated[
        Literal["custom", "default"] | None,
        Field(
            description="what the pre-show plays: the host's upload, the default hold audio, or "
            "nothing (no pre-show)"
        ),
    ]


@with_config(_EXACT)
class ReminderOut(TypedDict):
    reminder: Annotated[
        bool, Field(description="true if I will be notified when this Space starts")
    ]


@with_config(_EXACT)
class SpacePage(TypedDict):
    items: list[SpaceOut]
    next_cursor: str | None


@with_config(_EXACT)
class SpaceList(TypedDict):
    items: list[SpaceOut]


@with_config(_EXACT)
class JoinOut(TypedDict):
    listener_id: str
    low_latency: Annotated[
        bool,
        Field(
            description="play hls_url as LL-HLS (parts, blocking reloads); false: as plain HLS "
            "(whole segments), which a large audience gets so that edges hold"
        ),
    ]
    events: Annotated[
        bool,
        Field(
            description="open events_url; false (a large audience): follow the Space by polling "
            "snapshot_url, which edges cache, unless you are on the stage or asked to speak"
        ),
    ]
    hls_url: str
    dash_url: Annotated[
        str,
        Field(
            description="low-latency DASH of the same audio: one request per segment, streamed "
            "as it is produced; what the web client plays where Media Source Extensions exist"
        ),
    ]
    snapshot_url: str
    events_url: str
    heartbeat_url: str
    heartbeat_interval_s: int


@with_config(_EXACT)
class CueOut(TypedDict):
    id: int
    start: Annotated[float, Field(description="seconds since the Space went live (its replay)")]
    end: Annotated[float, Field(description="seconds since the Space went live (its replay)")]
    speaker: AccountBrief
    text: str
    language: Annotated[str, Field(description="ISO 639-1, as the recognizer heard it")]


@with_config(_EXACT)
class SnapshotOut(TypedDict):
    id: str
    title: str
    state: SpaceStateName
    stage: list[StageMemberOut]
    speaking: list[str]
    listener_count: int
    reactions: dict[str, int]
    link: LinkOut | None
    captions: Annotated[
        list[CueOut],
        Field(
            description="with captions on, the last cues said in the last 10 s: what a page "
            "that follows the snapshot instead of the event stream shows on its caption line"
        ),
    ]


@with_config(_EXACT)
class AudienceOut(TypedDict):
    listener_count: Annotated[
        int, Field(description="listeners now, as the snapshot counts them (at most 1 s old)")
    ]
    followed: Annotated[
        list[AccountBrief],
        Field(
            description="people I follow listening now, signed in, most recently followed first "
            "(at most 8; never me)"
        ),
    ]


@with_config(_EXACT)
class RequestOut(AccountBrief):
    requested_at: IsoTime


@with_config(_EXACT)
class CommentOut(TypedDict):
    id: str
    account: AccountBrief
    text: str
    created_at: IsoTime
    pinned: bool


@with_config(_EXACT)
class CommentPage(TypedDict):
    items: list[CommentOut]
    next_cursor: str | None
    pinned: Annotated[
        CommentOut | None,
        Field(description="the comment a host or cohost pinned, wherever it is in the list"),
    ]


@with_config(_EXACT)
class SpaceRefOut(TypedDict):
    id: str
    title: str
    state: SpaceStateName


@with_config(_EXACT)
class ClipOut(TypedDict):
    id: str
    space_id: str
    space: SpaceRefOut
    account: AccountBrief
    start: Annotated[float, Field(description="seconds into the Space's program")]
    duration: Annotated[float, Field(description="seconds")]
    created_at: IsoTime
    page_url: Annotated[str, Field(description="the clip's page: a player and a share card")]
    audio_url: Annotated[str, Field(description="the clip as one .m4a (AAC), for download")]
    card_url: Annotated[str, Field(description="the share card image (PNG, 1200x630)")]
    embed_url: Annotated[str, Field(description="a player for an iframe on another site")]


@with_config(_EXACT)
class TranscriptOut(TypedDict):
    space: SpaceRefOut
    cues: list[CueOut]


@with_config(_EXACT)
class ClipPage(TypedDict):
    items: list[ClipOut]
    next_cursor: str | None


@with_config(_EXACT)
class RequestList(TypedDict):
    items: list[RequestOut]


@with_config(_EXACT)
class NotificationOut(TypedDict):
    id: str
    kind: NoticeKind
    created_at: IsoTime
    space: SpaceRefOut | None
    actor: AccountBrief | None


@with_config(_EXACT)
class NotificationPage(TypedDict):
    items: list[NotificationOut]
    next_cursor: str | None
    seen_at: Annotated[
        IsoTime | None,
        Field(description="notices up to this instant were seen, on any device (null: none yet)"),
    ]


@with_config(_EXACT)
class SeenOut(TypedDict):
    seen_at: IsoTime


@with_config(_EXACT)
class FieldProblem(TypedDict):
    field: str
    message: str


@with_config(_EXACT)
class Problem(TypedDict):
    type: str
    title: str
    status: int
    detail: str
    #: A 422 names each field that was wrong (at most 20).
    errors: NotRequired[list[FieldProblem]]
