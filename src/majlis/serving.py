"""Running the ASGI app: uvicorn, with the stop a person expects from Ctrl-C.

uvicorn shuts down gracefully on SIGINT/SIGTERM and then raises the same signal again, which
turns a clean stop into a KeyboardInterrupt inside ``asyncio.run`` (tasks of the database driver
reported destroyed while pending) or a death by SIGTERM. Here a stop asked for by a signal is the
normal end: the work that needs the app still serving runs first (the demo ends its Space over
HTTP), then the graceful shutdown, then one goodbye line, and the process exits 0.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sys
from collections.abc import Awaitable, Callable, Generator

import uvicorn
from starlette.types import ASGIApp

from majlis.config import Settings
from majlis.http_limits import limited_http

FORCED_SHUTDOWN_S = 5.0
BeforeShutdown = Callable[[], Awaitable[None]]


class MajlisServer(uvicorn.Server):
    def __init__(
        self, config: uvicorn.Config, before_shutdown: BeforeShutdown | None = None
    ) -> None:
        super().__init__(config)
        self.before_shutdown = before_shutdown

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        with super().capture_signals():
            yield
            self._captured_signals.clear()  # stopped by a signal is a clean stop: no re-raise

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        if self.before_shutdown is not None:
            with contextlib.suppress(Exception):
                await self.before_shutdown()
        await super().shutdown(sockets)
        if self.force_exit:
            # A second Ctrl-C (or `timeout`, which signals the child and then its process group)
            # skips uvicorn's lifespan shutdown; the store and the rooms still close cleanly,
            # within a bound, so nothing is lost and no task is left to be destroyed pending.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(FORCED_SHUTDOWN_S):
                    await self.lifespan.shutdown()
        print("majlis stopped. Goodbye.", file=sys.stderr, flush=True)


def server_for(
    settings: Settings, app: ASGIApp, before_shutdown: BeforeShutdown | None = None
) -> MajlisServer:
    """A server whose logging is ours (majlis.logs), not uvicorn's own configuration."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=settings.access_log,
        proxy_headers=False,
        server_header=False,
        http=limited_http(
            settings.max_head_bytes,
            settings.head_timeout_s,
            settings.max_connections_per_address,
            settings.trusted_networks(),
        ),
    )
    return MajlisServer(config, before_shutdown)
