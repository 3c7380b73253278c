"""The part store across nodes: a media node copies each change of its streams to Redis and
the bus; any other node mirrors the state from the bus and reads the bytes from Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import astuple

import orjson
from redis.asyncio import Redis

from majlis.media.hls.parts.memory import MemoryPartStore
from majlis.media.hls.parts.protocol import HlsSource, StateTest, hls_topic
from majlis.media.hls.stream import (
    Anchor,
    LiveStream,
    NotYet,
    StreamChange,
    StreamState,
)
from majlis.seams.bus.protocol import EventBus, Subscription
from majlis.types import JSON

log = logging.getLogger(__name__)


#: How long parts and segments stay in Redis: longer than any listener may still ask for them
#: (a part is listed for ~3 target durations, a segment for the window, ~12 s).
PART_TTL_S = 60


#: The state key outlives the last change by this much: a dead node's Space stops being served
#: soon, an ended Space's ENDLIST stays readable as long as locally (plane.ENDED_STREAM_GRACE_S).
STATE_TTL_S = 60


#: A mirror nobody asked for this long is dropped (and its subscription closed).
IDLE_S = 30.0


#: Changes waiting to be copied out per stream before the oldest are dropped (Redis too slow).
QUEUE_LIMIT = 64


def _state_json(state: StreamState) -> JSON:
    return {
        "text": state.text,
        "last_part": list(state.last_part) if state.last_part is not None else None,
        "last_complete_msn": state.last_complete_msn,
        "hinted": list(state.hinted),
        "ended": state.ended,
        "parts_per_segment": state.parts_per_segment,
        "part_target_s": state.part_target_s,
        "discontinuities": state.discontinuities,
        "anchor": list(astuple(state.anchor)) if state.anchor is not None else None,
    }


def state_of(data: JSON) -> StreamState:
    last = data["last_part"]
    hinted = data["hinted"]
    return StreamState(
        text=str(data["text"]),
        last_part=(int(last[0]), int(last[1])) if last is not None else None,
        last_complete_msn=int(data["last_complete_msn"]),
        hinted=(int(hinted[0]), int(hinted[1])),
        ended=bool(data["ended"]),
        parts_per_segment=int(data["parts_per_segment"]),
        part_target_s=float(data["part_target_s"]),
        discontinuities=int(data.get("discontinuities", 0)),
        anchor=_anchor_of(data.get("anchor")),
    )


def _anchor_of(data: object) -> Anchor | None:
    if not isinstance(data, list) or len(data) != 5:
        return None
    start, period_start, first_msn, first_decode_time, timescale = data
    return Anchor(
        float(start), float(period_start), int(first_msn), int(first_decode_time), int(timescale)
    )


class RemoteStream:
    """A live stream of another node, mirrored: its state from the bus, its bytes from Redis."""

    def __init__(self, store: RedisPartStore, space_id: str, state: StreamState) -> None:
        self._store = store
        self.space_id = space_id
        self.state = state
        self.used_at = time.monotonic()
        self._changed = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    def update(self, state: StreamState) -> None:
        old, new = self.state.last_part, state.last_part
        if old is not None and new is not None and new < old and not state.ended:
            return  # an older message (or a stale copy from the state key): keep the newer
        self.state = state
        self._changed.set()
        self._changed = asyncio.Event()

    async def follow(self, subscription: Subscription) -> None:
        """Apply every state the owner publishes, until nobody asked for IDLE_S or nothing
        changed for that long (the Space ended, or its node died and no other took over)."""
        items = aiter(subscription)
        try:
            while time.monotonic() - self.used_at < IDLE_S:
                # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel
                # (seams/redis_client.py), and this loop would then run on after its store closed.
                async with asyncio.timeout(IDLE_S):
                    item = await anext(items)
                self.update(state_of(item))
        except (TimeoutError, StopAsyncIteration):
            pass
        except Exception as exc:
            log.warning("hls mirror of %s stopped: %s", self.space_id, exc)
        finally:
            self._store.forget(self)
            with contextlib.suppress(Exception):
                await subscription.close()

    def current(self) -> StreamState:
        return self.state

    async def wait_until(self, ready: StateTest, timeout_s: float) -> None:
        self.used_at = time.monotonic()
        await self._wait(ready, timeout_s)

    async def _wait(self, ready: StateTest, timeout_s: float) -> None:
        try:
            async with asyncio.timeout(timeout_s):
                while not ready(self.state):
                    await self._changed.wait()
        except TimeoutError:
            raise NotYet(
                f"not available within {timeout_s:g} s", retry_after_s=self.state.part_target_s
            ) from None

    async def playlist(self, msn: int | None, part: int | None, timeout_s: float) -> str:
        # The same rules as LiveStream.playlist (RFC 8216bis §6.2.5.2), over the mirrored state.
        self.used_at = time.monotonic()
        now = self.state.answer_now(msn, part)
        if now is not None or msn is None:
            return self.state.text
        await self._wait(lambda s: s.ended or s.holds(msn, part), timeout_s)
        return self.state.text

    async def part(self, msn: int, index: int, timeout_s: float) -> bytes | None:
        self.used_at = time.monotonic()
        data = await self._store.get(f"p:{self.space_id}:{msn}.{index}")
        if data is not None or self.state.ended or (msn, index) != self.state.hinted:
            return data
        await self._wait(lambda s: s.ended or s.hinted > (msn, index), timeout_s)
        return await self._store.get(f"p:{self.space_id}:{msn}.{index}")

    async def segment(self, msn: int) -> bytes | None:
        self.used_at = time.monotonic()
        return await self._store.get(f"s:{self.space_id}:{msn}")

    async def init(self) -> bytes | None:
        self.used_at = time.monotonic()
        return await self._store.get(f"i:{self.space_id}")


class RedisPartStore(MemoryPartStore):
    """Streams attached here are served locally *and* copied to Redis; others are mirrored."""

    def __init__(self, redis: Redis, bus: EventBus, prefix: str = "majlis:") -> None:
        super().__init__()
        self._redis = redis
        self._bus = bus
        self._prefix = prefix + "hls:"
        self._queues: dict[str, asyncio.Queue[StreamChange]] = {}
        self._copiers: dict[str, asyncio.Task[None]] = {}
        self._mirrors: dict[str, RemoteStream] = {}
        self._opening: dict[str, asyncio.Future[RemoteStream | None]] = {}

    # --- the media node's half -----------------------------------------------------------------

    def attach(self, space_id: str, stream: LiveStream) -> None:
        super().attach(space_id, stream)
        queue: asyncio.Queue[StreamChange] = asyncio.Queue(QUEUE_LIMIT)
        self._queues[space_id] = queue

        def on_change(change: StreamChange) -> None:
            if queue.full():
                queue.get_nowait()  # Redis is behind: the newest state matters most
                log.warning("hls: copying %s to Redis fell behind; dropped a change", space_id)
            queue.put_nowait(change)

        stream.on_change = on_change
        old = self._copiers.pop(space_id, None)
        if old is not None:
            old.cancel()
        self._copiers[space_id] = asyncio.create_task(self._copy(space_id, stream, queue))

    def detach(self, space_id: str, stream: LiveStream) -> None:
        super().detach(space_id, stream)
        stream.on_change = None
        copier = self._copiers.get(space_id)
        if copier is not None and not stream.ended:  # (an ended stream's copier ends itself)
            copier.cancel()
            self._copiers.pop(space_id, None)
            self._queues.pop(space_id, None)

    async def _copy(
        self, space_id: str, stream: LiveStream, queue: asyncio.Queue[StreamChange]
    ) -> None:
        key = self._prefix
        while True:
            if stream.init is not None:
                break
            await asyncio.sleep(0.05)
        init = stream.init
        while True:
            try:
                await self._redis.set(f"{key}i:{space_id}", init, ex=PART_TTL_S * 60)
                break
            except Exception as exc:
                log.warning("hls: storing the init of %s failed: %s", space_id, exc)
                await asyncio.sleep(1)
        while True:
            change = await queue.get()
            try:
                pipe = self._redis.pipeline(transaction=False)
                if change.part is not None:
                    msn, index, data = change.part
                    pipe.set(f"{key}p:{space_id}:{msn}.{index}", data, ex=PART_TTL_S)
                    if change.segment is not None:
                        pipe.set(f"{key}s:{space_id}:{msn}", change.segment, ex=PART_TTL_S)
                state = _state_json(change.state)
                pipe.set(f"{key}state:{space_id}", orjson.dumps(state), ex=STATE_TTL_S)
                pipe.expire(f"{key}i:{space_id}", PART_TTL_S * 60)
                await pipe.execute()
                # Published only once the bytes are stored: a reader told of a part finds it.
                await self._bus.publish(hls_topic(space_id), state)
            except Exception as exc:
                log.warning("hls: copying %s to Redis failed: %s", space_id, exc)
            if change.state.ended:
                self._copiers.pop(space_id, None)
                self._queues.pop(space_id, None)
                return

    # --- any node's half -----------------------------------------------------------------------

    async def source(self, space_id: str) -> HlsSource | None:
        local = await super().source(space_id)
        if local is not None:
            return local
        mirror = self._mirrors.get(space_id)
        if mirror is not None:
            return mirror
        pending = self._opening.get(space_id)
        if pending is None:  # one Redis read and one subscription, however many ask at once
            pending = asyncio.ensure_future(self._mirror(space_id))
            self._opening[space_id] = pending
            pending.add_done_callback(lambda _: self._opening.pop(space_id, None))
        return await asyncio.shield(pending)

    async def _mirror(self, space_id: str) -> RemoteStream | None:
        # Subscribed before reading the state, so no change falls between the two.
        subscription = await self._bus.subscribe([hls_topic(space_id)])
        raw = await self._redis.get(f"{self._prefix}state:{space_id}")
        if raw is None:
            await subscription.close()
            return None
        mirror = RemoteStream(self, space_id, state_of(orjson.loads(raw)))
        self._mirrors[space_id] = mirror
        mirror.task = asyncio.create_task(mirror.follow(subscription))
        return mirror

    def forget(self, mirror: RemoteStream) -> None:
        if self._mirrors.get(mirror.space_id) is mirror:
            del self._mirrors[mirror.space_id]

    async def get(self, suffix: str) -> bytes | None:
        data = await self._redis.get(self._prefix + suffix)
        return data.encode() if isinstance(data, str) else data

    async def last_state(self, space_id: str) -> StreamState | None:
        raw = await self._redis.get(f"{self._prefix}state:{space_id}")
        state = state_of(orjson.loads(raw)) if raw is not None else None
        return state if state is not None and not state.ended else None

    async def aclose(self) -> None:
        for task in [*self._copiers.values(), *(m.task for m in self._mirrors.values() if m.task)]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._copiers.clear()
        self._mirrors.clear()
        await super().aclose()
