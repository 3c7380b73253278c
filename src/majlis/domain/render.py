"""Records to public JSON, in exactly the shapes of API.md. One place, so every endpoint and every
event stream shows a Space, an account or a notice the same way; each returns its shape from
``domain.shapes``, which is also what the OpenAPI document shows."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import cast, overload

from majlis.config import Settings
from majlis.domain.model import (
    Account,
    Clip,
    Comment,
    Cue,
    Notification,
    Space,
    SpeakRequest,
    StageMember,
)
from majlis.domain.shapes import (
    AccountBrief,
    AccountOut,
    ClipOut,
    CommentOut,
    CueOut,
    LinkOut,
    NoticeKind,
    NotificationOut,
    RequestOut,
    SpaceOut,
    SpaceUrls,
    StageMemberOut,
)


@overload
def iso(value: datetime) -> str: ...
@overload
def iso(value: datetime | None) -> str | None: ...
def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def account_brief(account: Account) -> AccountBrief:
    return {"handle": account.handle, "display_name": account.display_name}


def account_json(account: Account) -> AccountOut:
    return {
        "handle": account.handle,
        "display_name": account.display_name,
        "followers_count": account.followers_count,
        "following_count": account.following_count,
        "created_at": iso(account.created_at),
    }


def member_json(member: StageMember) -> StageMemberOut:
    return {**account_brief(member.account), "role": member.role, "muted": member.muted}


def space_urls(settings: Settings, space: Space, now: datetime | None = None) -> SpaceUrls:
    # The pre-show plays on the same path the show will: players seated early never reload.
    live = space.audible(now or datetime.now(UTC))
    # Only a show that started has a replay (a pre-show is not recorded, see media.plane).
    replay = space.state == "ended" and space.record and space.started_at is not None
    return {
        "hls_url": settings.url(f"/hls/{space.id}/live.m3u8") if live else None,
        "hls_main_url": settings.url(f"/hls/{space.id}/main.m3u8") if live else None,
        "dash_url": settings.url(f"/dash/{space.id}/live.mpd") if live else None,
        "replay_url": settings.url(f"/api/v1/spaces/{space.id}/replay.m3u8") if replay else None,
        "recording_url": settings.url(f"/api/v1/spaces/{space.id}/recording.m4a")
        if replay
        else None,
    }


def space_json(
    settings: Settings, space: Space, listener_count: int, now: datetime | None = None
) -> SpaceOut:
    doors = space.doors_open_at
    return {
        "id": space.id,
        "title": space.title,
        "state": space.state,
        "host": account_brief(space.host),
        "stage": [member_json(m) for m in space.stage],
        "listener_count": listener_count,
        "scheduled_start": iso(space.scheduled_start),
        "started_at": iso(space.started_at),
        "ended_at": iso(space.ended_at),
        "record": space.record,
        "created_at": iso(space.created_at),
        "url": settings.url(f"/spaces/{space.id}"),
        "doors_open_minutes": space.doors_open_minutes,
        "doors_open_at": iso(doors),
        "link": link_json(space),
        "clips_allowed": space.clips_allowed,
        "captions": space.captions,
        "language": space.language,
        "teaser": "custom" if space.has_teaser else ("default" if doors else None),
        **space_urls(settings, space, now),
    }


def etag(body: bytes) -> str:
    """A strong ETag for a rendered body that everyone is served alike (the snapshot, the
    newest comments): a conditional poll is then a 304 of no bytes."""
    return '"' + hashlib.blake2b(body, digest_size=12).hexdigest() + '"'


def comment_json(comment: Comment, pinned_id: str | None) -> CommentOut:
    return {
        "id": comment.id,
        "account": account_brief(comment.account),
        "text": comment.text,
        "created_at": iso(comment.created_at),
        "pinned": comment.id == pinned_id,
    }


def clip_json(settings: Settings, clip: Clip, space: Space) -> ClipOut:
    return {
        "id": clip.id,
        "space_id": clip.space_id,
        "space": {"id": space.id, "title": space.title, "state": space.state},
        "account": account_brief(clip.account),
        "start": round(clip.start, 3),
        "duration": round(clip.duration, 3),
        "created_at": iso(clip.created_at),
        "page_url": settings.url(f"/clips/{clip.id}"),
        "audio_url": settings.url(f"/api/v1/clips/{clip.id}/audio.m4a"),
        "card_url": settings.url(f"/clips/{clip.id}/card.png"),
        "embed_url": settings.url(f"/embed/clips/{clip.id}"),
    }


def cue_json(cue: Cue) -> CueOut:
    return {
        "id": cue.id,
        "start": round(cue.start, 3),
        "end": round(cue.end, 3),
        "speaker": account_brief(cue.speaker),
        "text": cue.text,
        "language": cue.language,
    }


def link_json(space: Space) -> LinkOut | None:
    link = space.link
    return None if link is None else {"url": link.url, "title": link.title}


def request_json(request: SpeakRequest) -> RequestOut:
    return {**account_brief(request.account), "requested_at": iso(request.created_at)}


def notification_json(notice: Notification) -> NotificationOut:
    return {
        "id": notice.id,
        # The store writes only the kinds domain.notices sends (NoticeKind), as text.
        "kind": cast(NoticeKind, notice.kind),
        "created_at": iso(notice.created_at),
        "space": None
        if notice.space is None
        else {"id": notice.space.id, "title": notice.space.title, "state": notice.space.state},
        "actor": None if notice.actor is None else account_brief(notice.actor),
    }
