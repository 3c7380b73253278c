"""Doors open before the show: a start time in minutes from now, a teaser to upload, and the
upload itself."""

from __future__ import annotations

import io
import wave
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from tests.support.client import User


def tone_wav(hz: float, seconds: float, rate: int = 44_100, channels: int = 2) -> bytes:
    """A WAV file of one tone, at a rate and layout the server has to resample."""
    t = np.arange(int(seconds * rate)) / rate
    mono = (np.sin(2 * np.pi * hz * t) * 0.3 * 32767).astype(np.int16)
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(channels)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(np.repeat(mono, channels).tobytes())
    return buffer.getvalue()


def at(minutes: float) -> str:
    return (datetime.now(UTC) + timedelta(minutes=minutes)).isoformat()


def put_teaser(user: User, space_id: str, body: bytes, media_type: str = "audio/wav") -> Any:
    return user.put(
        f"/api/v1/spaces/{space_id}/teaser", content=body, headers={"Content-Type": media_type}
    )
