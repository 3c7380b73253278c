"""A speaker bot on its own thread and event loop, for tests that also drive a browser
(Playwright's sync API must not run inside an asyncio loop)."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any

from majlis.bots.sources import PacedSource, ToneSource
from majlis.bots.speaker import SpeakerBot


class BotThread:
    def __init__(
        self,
        base_url: str,
        space_id: str,
        token: str,
        tone_hz: float,
        source: PacedSource | None = None,
    ) -> None:
        """The bot sends a tone at ``tone_hz``, or ``source`` when one is given."""
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self.bot = SpeakerBot(base_url, space_id, token, source or ToneSource(tone_hz))
        self._call(self.bot.connect())

    def _call(self, coroutine: Any, timeout: float = 30) -> Any:
        future: Future[Any] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        try:
            self._call(self.bot.close())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(10)
            self.loop.close()
