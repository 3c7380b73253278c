"""The ``majlis`` command."""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import majlis
from majlis.config import Settings


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="majlis",
        description="Self-hosted live audio rooms: a few speak, any number listen.",
        epilog="Every flag also reads from a MAJLIS_* environment variable (e.g. MAJLIS_PORT).",
    )
    parser.add_argument("--version", action="version", version=f"majlis {majlis.__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = commands.add_parser(
        "serve",
        help="run the whole system in one process",
        description="Run the API on an embedded SQLite store (or MAJLIS_DATABASE_URL).",
    )
    serve.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (default 8000)")
    serve.add_argument("--data-dir", type=Path, help="where the database and secret live (./data)")
    serve.add_argument("--database-url", help="SQLAlchemy URL, e.g. postgresql+asyncpg://...")
    demo = commands.add_parser(
        "demo",
        help="serve, plus a live demo Space with a synthetic speaker; prints the URL to open",
        description="Run majlis with a live demo Space where a synthetic speaker talks.",
    )
    demo.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    demo.add_argument("--port", type=int, help="port to listen on (default 8000)")
    demo.add_argument("--data-dir", type=Path, help="where the database and secret live (./data)")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        settings = Settings.from_env().with_overrides(
            host=args.host,
            port=args.port,
            data_dir=args.data_dir,
            database_url=getattr(args, "database_url", None),
        )
    except ValueError as exc:
        print(f"majlis: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    if args.command == "serve":
        return serve(settings)
    if args.command == "demo":
        return demo(settings)
    return 2


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    # ICE logs every candidate pair check at INFO: useful when debugging, noise otherwise.
    for chatty in ("aioice", "aiortc"):
        logging.getLogger(chatty).setLevel(max(logging.WARNING, logging.root.level))


def demo(settings: Settings) -> int:
    import asyncio

    from majlis.demo import run_demo

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(settings))
    return 0


def serve(settings: Settings) -> int:
    import uvicorn

    from majlis.api.app import create_app

    print(f"majlis {majlis.__version__} serving on http://{settings.host}:{settings.port}/docs")
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        proxy_headers=False,
        server_header=False,
    )
    return 0
