"""One event loop and one set of domain services per module: the services keep a database
connection pool bound to the loop that opened it, and opening them per test (migrations
included) would cost more than the tests."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.domain import Domain


@pytest.fixture(scope="module")
def loop() -> Iterator[asyncio.Runner]:
    with asyncio.Runner() as runner:
        yield runner


@pytest.fixture(scope="module")
def domain(loop: asyncio.Runner) -> Iterator[Domain]:
    # In memory where there is a tmpfs: SQLite syncs every commit, and the matrix makes hundreds.
    shm = Path("/dev/shm")
    with tempfile.TemporaryDirectory(dir=shm if shm.is_dir() else None) as directory:
        opened = loop.run(Domain.open(Path(directory)))
        yield opened
        loop.run(opened.close())
