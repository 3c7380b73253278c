"""Subscribing to the event bus again after it dropped us, for the plane's long-lived followers.

Why a loop with backoff and not one attempt: the lifecycle follower and every room's stage
watcher must outlive a Redis restart; until Redis answers they wait, doubling the wait up to a
few seconds, and then catch up from the store (events published meanwhile are lost).
"""

from __future__ import annotations

import asyncio
import logging

from majlis.seams.bus.protocol import EventBus, Subscription

log = logging.getLogger(__name__)

#: Waits between attempts to subscribe again after the event bus dropped us (Redis restarted,
#: or a subscriber fell too far behind).
RESUBSCRIBE_MIN_S, RESUBSCRIBE_MAX_S = 0.1, 5.0


async def subscribe_retrying(bus: EventBus, topics: list[str]) -> Subscription:
    """Subscribe, retrying with backoff while the bus (Redis) is unreachable."""
    delay = RESUBSCRIBE_MIN_S
    while True:
        try:
            return await bus.subscribe(topics)
        except Exception:
            log.warning("media plane: subscribing to %s failed; retrying", topics)
            await asyncio.sleep(delay)
            delay = min(delay * 2, RESUBSCRIBE_MAX_S)
