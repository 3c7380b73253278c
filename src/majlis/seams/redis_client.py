"""The node's Redis client, made safe to cancel on Python 3.11.

Why: redis-py sends every command under ``asyncio.wait_for(send, socket_timeout)`` (5 s by
default). On Python 3.11 ``wait_for`` swallows a cancel that lands while the finished send is
being handed back (CPython bpo-42130; 3.12 rebuilt ``wait_for`` on ``asyncio.timeout``). The
cancelled task then simply runs on. Measured here (redis-py 8.2, Python 3.11.7): a task looping
over Redis commands, cancelled at a random moment, was still running afterwards in 104 of 300
tries; with this client, in none (``tests/seams/test_redis_client.py``).

What that cost: a stopping node cancels its heartbeat and its placement keeper and waits for
them. One that lost its cancel kept beating, so the node never gave up its lease, its stop hung,
and no other node took its Spaces over (a CI failure of ``test_plane_placement``). Every loop of
ours that talks to Redis and is stopped by a cancel had the same weakness; fixing it here, at
the one place all of them send through, fixes them all.

How: the send runs as its own task, awaited through ``asyncio.shield``, so a cancel always
reaches the caller. A cancel that arrives mid-send drops the connection, as redis-py itself
does when a send is interrupted: a command that went out must not leave its reply on a
connection the pool hands to someone else. redis-py's socket timeout still bounds the send.
The extra task costs nothing measurable: a GET round trip took 86-103 us against 95-108 us with
plain redis-py, alternating in one run.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Coroutine, Iterable
from typing import Any
from urllib.parse import urlsplit

from redis.asyncio import Redis
from redis.asyncio.connection import (
    AbstractConnection,
    Connection,
    SSLConnection,
    UnixDomainSocketConnection,
)

#: From Python 3.12 on, ``asyncio.wait_for`` delivers every cancel: redis-py's send is kept.
WAIT_FOR_IS_CANCEL_SAFE = sys.version_info >= (3, 12)

Command = bytes | str | Iterable[bytes]


async def _send_cancel_safely(
    connection: AbstractConnection, send: Coroutine[Any, Any, None]
) -> None:
    if WAIT_FOR_IS_CANCEL_SAFE or not connection.socket_timeout:
        await send
        return
    sending = asyncio.ensure_future(send)
    try:
        await asyncio.shield(sending)
    except asyncio.CancelledError:
        sending.cancel()  # redis-py's wait_for may swallow this one: then the send just ends
        await asyncio.wait([sending])
        if not sending.cancelled():
            sending.exception()  # retrieved: the cancel is what the caller must see
        with contextlib.suppress(Exception):
            await connection.disconnect(nowait=True)
        raise


class CancelSafeConnection(Connection):
    async def send_packed_command(self, command: Command, check_health: bool = True) -> None:
        await _send_cancel_safely(self, super().send_packed_command(command, check_health))


class CancelSafeSSLConnection(SSLConnection):
    async def send_packed_command(self, command: Command, check_health: bool = True) -> None:
        await _send_cancel_safely(self, super().send_packed_command(command, check_health))


class CancelSafeUnixConnection(UnixDomainSocketConnection):
    async def send_packed_command(self, command: Command, check_health: bool = True) -> None:
        await _send_cancel_safely(self, super().send_packed_command(command, check_health))


#: The connection class redis-py picks for each URL scheme, made cancel-safe.
_BY_SCHEME: dict[str, type[AbstractConnection]] = {
    "redis": CancelSafeConnection,
    "rediss": CancelSafeSSLConnection,
    "unix": CancelSafeUnixConnection,
}


def redis_client(url: str) -> Redis:
    """``Redis.from_url(url)``, every command of which can be cancelled (module docstring)."""
    connection_class = _BY_SCHEME.get(urlsplit(url).scheme)
    if connection_class is None:
        return Redis.from_url(url)  # redis-py says what is wrong with the URL
    return Redis.from_url(url, connection_class=connection_class)
