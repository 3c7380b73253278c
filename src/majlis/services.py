"""Wires one node: the store, the live seams and the domain services, started and stopped
together."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from majlis.cluster.heartbeat import NodeHeartbeat
from majlis.cluster.ownership import Ownership
from majlis.config import Settings
from majlis.domain.accounts import Accounts
from majlis.domain.audience import Audience
from majlis.domain.clips import Clips
from majlis.domain.comments import Comments
from majlis.domain.context import Context
from majlis.domain.links import Links
from majlis.domain.notices import Notices
from majlis.domain.space_cache import SpaceCache
from majlis.domain.spaces import Spaces
from majlis.domain.stage import Stage
from majlis.domain.transcripts import Transcripts
from majlis.media.clip_files import ClipFiles
from majlis.media.hls.parts.build import build_part_store
from majlis.media.plane import MediaPlane
from majlis.media.teaser import TeaserDecoder
from majlis.seams.build import Seams, build_seams, lease_seams
from majlis.security.listener_ids import ListenerIds
from majlis.security.passwords import PasswordKdf
from majlis.security.shared_secret import SecretMismatch, shared_secret
from majlis.store.sql import SqlStore

log = logging.getLogger(__name__)


@dataclass
class Services:
    ctx: Context
    accounts: Accounts
    spaces: Spaces
    stage: Stage
    links: Links
    comments: Comments
    clips: Clips
    transcripts: Transcripts
    clip_files: ClipFiles
    audience: Audience
    notices: Notices
    media: MediaPlane
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    #: The state nodes share: live seams, media nodes and where each Space runs (issue 6);
    #: in-process on a single node.
    seams: Seams | None = None
    #: Keeps this node's lease in the registry; None on an api-only node.
    heartbeat: NodeHeartbeat | None = None

    @classmethod
    async def start(cls, settings: Settings) -> Services:
        store = SqlStore(settings.resolved_database_url())
        await store.migrate()
        try:
            settings = await shared_secret(store, settings, datetime.now(UTC))
        except SecretMismatch:
            await store.close()
            raise
        seams = build_seams(settings)
        ctx = Context(
            settings=settings,
            store=store,
            live=seams.live,
            kdf=PasswordKdf(settings.kdf_profile, settings.kdf_concurrency),
            listener_ids=ListenerIds(settings.resolved_secret()),
            space_cache=SpaceCache(store, settings.space_cache_ttl_s),
        )
        node_id = settings.resolved_node_id() if settings.runs_media else ""
        ownership = Ownership(seams.registry, seams.placement, node_id)
        notices = Notices(ctx)
        accounts = Accounts(ctx, notices)
        spaces = Spaces(ctx, TeaserDecoder())
        clip_files = ClipFiles(settings.data_dir)
        services = cls(
            ctx=ctx,
            accounts=accounts,
            spaces=spaces,
            stage=Stage(ctx, spaces, accounts, notices),
            links=Links(ctx, spaces),
            comments=Comments(ctx, spaces),
            clips=Clips(ctx, spaces, clip_files),
            transcripts=Transcripts(ctx, spaces),
            clip_files=clip_files,
            audience=Audience(ctx),
            notices=notices,
            media=MediaPlane(
                ctx,
                build_part_store(seams.redis, seams.live.bus, settings.redis_prefix),
                ownership,
                end_space=spaces.end_abandoned,
            ),
        )
        services.seams = seams
        if settings.runs_media:
            # Registered before the plane starts: its first placements may choose this node.
            services.heartbeat = NodeHeartbeat(
                settings.resolved_node_id(),
                settings.resolved_node_url(),
                seams.registry,
                seams.placement,
                services.room_count,
                settings.node_heartbeat_s,
                own_seams=lease_seams(settings),
                stall_s=settings.node_stall_s,
            )
            await services.heartbeat.start()
            await services.media.start()
        else:
            log.info("role %r: this node runs no rooms", settings.role)
        services._tasks.append(asyncio.create_task(services.audience.relay_reactions_forever()))
        log.info("majlis node ready (database: %s)", "sqlite" if store.is_sqlite else "postgresql")
        return services

    def room_count(self) -> tuple[int, int]:
        """(live Spaces, connected speakers) on this node, for its heartbeat."""
        return self.media.load()

    async def stop(self) -> None:
        if self.heartbeat is not None:
            await self.heartbeat.stop()
        await self.media.stop()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.seams is not None:
            await self.seams.aclose()
        await self.ctx.store.close()
