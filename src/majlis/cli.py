"""The ``majlis`` command."""

from __future__ import annotations

import argparse
import contextlib
import importlib.util
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import majlis
from majlis.config import ROLES, Settings
from majlis.security.private_files import make_private

if TYPE_CHECKING:
    from majlis.delivery.edge import EdgeOptions, Origin


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
    serve.add_argument(
        "--role",
        choices=ROLES,
        help="api: HTTP API only, runs no rooms; media: runs the rooms placed on it; "
        "all: both, the single-node default (api and media need MAJLIS_REDIS_URL)",
    )
    serve.add_argument("--node-id", help="this node's name in the registry (<hostname>:<port>)")
    demo = commands.add_parser(
        "demo",
        help="serve, plus a live demo Space with a synthetic speaker; prints the URL to open",
        description="Run majlis with a live demo Space where a synthetic speaker talks.",
    )
    demo.add_argument("--host", help="address to listen on (default 127.0.0.1)")
    demo.add_argument("--port", type=int, help="port to listen on (default 8000)")
    demo.add_argument("--data-dir", type=Path, help="where the database and secret live (./data)")
    for command in (serve, demo):
        command.add_argument(
            "--access-log",
            action="store_true",
            default=None,
            help="log every request (off by default: it costs CPU at scale)",
        )
    _add_edge_config(commands)
    _add_edge_feed(commands)
    _add_scaletest(commands)
    return parser


def _add_edge_feed(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    feed = commands.add_parser(
        "edge-feed",
        help="feed an nginx + Nchan edge (edge-config --engine nchan) from the origin",
        description="Follow the Spaces this edge's listeners ask for: one origin fetch per "
        "segment, published chunk by chunk into nginx, which writes each chunk to every "
        "listener. Listens on loopback for the MPD requests nginx sends it.",
    )
    feed.add_argument("--origin", required=True, help="the origin's root URL (http://host:port)")
    feed.add_argument(
        "--edge",
        default="http://127.0.0.1:8080",
        help="this edge's nginx, as the feeder reaches it",
    )
    feed.add_argument(
        "--segments-dir",
        type=Path,
        default=Path("/var/cache/majlis-edge/dash"),
        help="where complete segments are written (nginx serves them from there)",
    )
    feed.add_argument("--port", type=int, default=8090, help="loopback port nginx asks on")


def edge_feed(args: argparse.Namespace) -> int:
    from majlis.delivery.edge import EdgeConfigError, check_plain_http, parse_origin
    from majlis.delivery.fanout import Edge
    from majlis.delivery.feed_service import run

    try:
        origin, edge = parse_origin(args.origin), parse_origin(args.edge)
        check_plain_http("edge-feed", (origin, edge))
        if not 1 <= args.port <= 65535:
            raise EdgeConfigError(f"--port must be a port between 1 and 65535, not {args.port}")
    except EdgeConfigError as exc:
        print(f"majlis edge-feed: {exc}", file=sys.stderr)
        return 2
    args.segments_dir.mkdir(parents=True, exist_ok=True)
    feeding = Edge(edge.host.strip("[]"), edge.port, args.segments_dir)
    run(f"http://{origin.address}", feeding, args.port)
    return 0


def _add_scaletest(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    from majlis.scaletest.plan import add_arguments

    scaletest = commands.add_parser(
        "scaletest",
        help="rehearse an audience surge against a running deployment and report capacity",
        description="Drive WHIP bot speakers and N simulated LL-HLS listeners (Locust) against "
        "a deployment, then write report.html (plots) and report.json with a go/no-go verdict.",
    )
    add_arguments(scaletest)


SCALETEST_EXTRA = ("locust", "matplotlib")


def missing_modules(names: Sequence[str]) -> list[str]:
    """The named modules that cannot be imported here, found without importing them (importing
    Locust would monkeypatch this process with gevent)."""
    missing = []
    for name in names:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # ValueError: a module blanked out in sys.modules
            found = False
        if not found:
            missing.append(name)
    return missing


def scaletest(args: argparse.Namespace) -> int:
    from majlis.scaletest.plan import from_args
    from majlis.scaletest.run import run

    missing = missing_modules(SCALETEST_EXTRA)
    if missing:
        print(
            f"majlis scaletest needs the scaletest extra ({', '.join(missing)} missing): "
            "pip install -r requirements/scaletest.txt, or pip install 'majlis[scaletest]'",
            file=sys.stderr,
        )
        return 2
    try:
        plan = from_args(args)
    except ValueError as exc:
        print(f"majlis scaletest: {exc}", file=sys.stderr)
        return 2
    return run(plan)


def _add_edge_config(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    edge = commands.add_parser(
        "edge-config",
        help="print an nginx configuration (or a Varnish VCL, or a squid.conf) for a caching edge",
        description="Print an nginx.conf for a caching edge: collapsed blocking playlist "
        "reloads, parts cached for long, playlists and snapshots stale-while-updating, "
        "everything else passed through. The cache and log directories it names are created "
        "(unless --no-mkdir), so nginx starts with it as it is: save it and run nginx -t -c on it. "
        "With --engine varnish, print a Varnish 7 VCL instead, which also streams LL-DASH "
        "segments to every listener while the origin produces them; the varnishd command line "
        "to run it is at its top. With --engine squid, print a squid.conf (Squid 5.7+) that does "
        "the same from one event loop, without a thread per listener; the squid command line "
        "is at its top. With --engine nchan, print the nginx edge with LL-DASH served by the "
        "Nchan module (Debian: libnginx-mod-nchan, libnginx-mod-http-headers-more-filter), "
        "fed by `majlis edge-feed` running beside it: each chunk is written to every listener "
        "from nginx's event loop, at half Varnish's CPU per listener.",
    )
    edge.add_argument(
        "--engine",
        choices=EDGE_ENGINES,
        default="nginx",
        help="nginx (default), varnish, squid or nchan",
    )
    edge.add_argument(
        "--no-mkdir",
        action="store_true",
        help="only print; do not create the cache and log directories the configuration names",
    )
    edge.add_argument(
        "--origin",
        required=True,
        action="append",
        help="the majlis origin, e.g. http://10.0.0.5:8000; repeat it for each API node",
    )
    edge.add_argument("--listen", type=int, default=8080, help="port the edge listens on (8080)")
    edge.add_argument(
        "--cache-size",
        help="most the cache may use: disk for nginx (1g), memory for varnish and squid (256m)",
    )
    # For some engines only (None: not given, so the others refuse them rather than ignore them).
    edge.add_argument("--cache-dir", type=Path, help="nginx: /var/cache/majlis-edge")
    edge.add_argument("--server-name", help="nginx server_name (any host: _)")
    edge.add_argument(
        "--log-dir", type=Path, help="nginx: /var/log/majlis-edge; squid: /var/log/squid"
    )
    edge.add_argument(
        "--access-log",
        action="store_true",
        default=None,
        help="squid: log every request (off by default: it costs the edge CPU)",
    )
    edge.add_argument(
        "--no-access-log",
        action="store_true",
        default=None,
        help="nginx: log no requests (saves the edge CPU; the log shows cache status per request)",
    )
    edge.add_argument(
        "--snippet",
        action="store_true",
        default=None,
        help="nginx: print only the http-context part, for /etc/nginx/conf.d/",
    )
    edge.add_argument("--feed-port", type=int, help="nchan: edge-feed's loopback port (8090)")
    edge.add_argument(
        "--segments-dir",
        type=Path,
        help="nchan: edge-feed's --segments-dir (/var/cache/majlis-edge/dash)",
    )


EDGE_ENGINES = ("nginx", "varnish", "squid", "nchan")
#: The flags only some engines take, and those engines.
_ENGINE_FLAGS = {
    "cache_dir": ("nginx", "nchan"),
    "server_name": ("nginx", "nchan"),
    "log_dir": ("nginx", "squid", "nchan"),
    "no_access_log": ("nginx", "nchan"),
    "snippet": ("nginx",),
    "access_log": ("squid",),
    "feed_port": ("nchan",),
    "segments_dir": ("nchan",),
}


def _either(names: Sequence[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return " or ".join((", ".join(names[:-1]), names[-1])) if len(names) > 1 else names[0]


def _refuse_other_engines_flags(args: argparse.Namespace) -> None:
    """EdgeConfigError naming each given flag that ``args.engine`` does not take."""
    from majlis.delivery.edge import EdgeConfigError

    refused = [
        f"--{name.replace('_', '-')}: for --engine {_either(engines)} only"
        for name, engines in _ENGINE_FLAGS.items()
        if getattr(args, name) is not None and args.engine not in engines
    ]
    if refused:
        raise EdgeConfigError("; ".join(refused))


def edge_config(args: argparse.Namespace) -> int:
    from majlis.delivery.edge import EdgeConfigError, parse_origin

    render = {
        "nginx": _nginx_config,
        "varnish": _varnish_config,
        "squid": _squid_config,
        "nchan": _nchan_config,
    }
    try:
        _refuse_other_engines_flags(args)
        origins = tuple(parse_origin(url) for url in args.origin)
        text = render[args.engine](args, origins)
    except EdgeConfigError as exc:
        print(f"majlis edge-config: {exc}", file=sys.stderr)
        return 2
    print(text, end="")
    return 0


def _nginx_options(args: argparse.Namespace, origins: tuple[Origin, ...]) -> EdgeOptions:
    from majlis.delivery.edge import EdgeOptions

    return EdgeOptions(
        origin=origins[0],
        more_origins=origins[1:],
        listen=args.listen,
        server_name=_given(args.server_name, "_"),
        cache_dir=_given(args.cache_dir, Path("/var/cache/majlis-edge")),
        cache_size=_given(args.cache_size, "1g"),
        log_dir=_given(args.log_dir, Path("/var/log/majlis-edge")),
        access_log=not args.no_access_log,
    )


def _nginx_config(args: argparse.Namespace, origins: tuple[Origin, ...]) -> str:
    """nginx.conf (or its http part); the directories it names are created first, unless
    --no-mkdir, because nginx creates none of them."""
    from majlis.delivery.edge import directories, render_config, render_http

    options = _nginx_options(args, origins)
    if not args.no_mkdir:
        _make_directories(directories(options))
    return render_http(options) if args.snippet else render_config(options)


def _nchan_config(args: argparse.Namespace, origins: tuple[Origin, ...]) -> str:
    """The nginx.conf of the nginx + Nchan edge; its directories (and the feeder's segment
    directory, which nginx serves) are created first, unless --no-mkdir."""
    from majlis.delivery.edge import EdgeConfigError, directories
    from majlis.delivery.nchan import NchanOptions, render

    feed_port = _given(args.feed_port, 8090)
    if not 1 <= feed_port <= 65535:
        raise EdgeConfigError(f"--feed-port must be a port between 1 and 65535, not {feed_port}")
    options = NchanOptions(
        _nginx_options(args, origins),
        feed_port=feed_port,
        segments_dir=_given(args.segments_dir, Path("/var/cache/majlis-edge/dash")),
    )
    if not args.no_mkdir:
        _make_directories((*directories(options.edge), options.segments_dir))
    return render(options)


T = TypeVar("T")


def _given(value: T | None, default: T) -> T:
    """An option's value, or its engine's default when it was not given (an empty one was)."""
    return default if value is None else value


def _varnish_config(args: argparse.Namespace, origins: tuple[Origin, ...]) -> str:
    """The VCL, with the varnishd command line at its top; it names no directory to create."""
    from majlis.delivery.varnish import VarnishOptions, render_vcl

    return render_vcl(
        VarnishOptions(
            origin=origins[0],
            more_origins=origins[1:],
            listen=args.listen,
            cache_size=_given(args.cache_size, "256m"),
        )
    )


def _squid_config(args: argparse.Namespace, origins: tuple[Origin, ...]) -> str:
    """The squid.conf, with the squid command line at its top. Squid creates its log files in
    the directory, which Debian's package makes (owned by its user); it creates no other."""
    from majlis.delivery.squid import SquidOptions, render_config

    return render_config(
        SquidOptions(
            origin=origins[0],
            more_origins=origins[1:],
            listen=args.listen,
            cache_size=_given(args.cache_size, "256m"),
            access_log=bool(args.access_log),
            log_dir=_given(args.log_dir, Path("/var/log/squid")),
        )
    )


def _make_directories(paths: Sequence[Path]) -> None:
    for path in paths:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            print(
                f"majlis edge-config: could not create {path} ({exc.strerror}); "
                f"before starting nginx: mkdir -p {' '.join(str(p) for p in paths)}",
                file=sys.stderr,
            )
            return


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "edge-config":
        return edge_config(args)
    if args.command == "scaletest":
        return scaletest(args)
    if args.command == "edge-feed":
        return edge_feed(args)
    try:
        settings = (
            Settings.from_env()
            .with_overrides(
                host=args.host,
                port=args.port,
                data_dir=args.data_dir,
                database_url=getattr(args, "database_url", None),
                role=getattr(args, "role", None),
                node_id=getattr(args, "node_id", None),
                access_log=args.access_log,
            )
            .validated()
        )
    except ValueError as exc:
        print(f"majlis: {exc}", file=sys.stderr)
        return 2
    _configure_logging(settings)
    make_private(settings.data_dir)
    if args.command == "serve":
        return serve(settings)
    if args.command == "demo":
        return demo(settings)
    return 2


def _configure_logging(settings: Settings) -> None:
    from majlis.logs import configure

    configure(settings.log_level, settings.log_format, settings.access_log)


def _banner(settings: Settings) -> str:
    """The few lines a person reads at start: what runs, where its data is, where to go."""
    mode = "cluster node (Redis)" if settings.redis_url else "single node"
    database = settings.resolved_database_url().split(":", 1)[0].split("+", 1)[0]
    return (
        f"majlis {majlis.__version__} · {mode} · role {settings.role} · {database}"
        f" · data in {settings.data_dir}"
    )


def demo(settings: Settings) -> int:
    import asyncio

    from majlis.demo import run_demo

    print(_banner(settings), flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(run_demo(settings))
    return 0


def serve(settings: Settings) -> int:
    import asyncio

    from majlis.app import create_app
    from majlis.serving import server_for

    print(_banner(settings), flush=True)
    base = f"http://{settings.host}:{settings.port}"
    print(f"serving on {base}/  (API docs: {base}/docs)", flush=True)
    server = server_for(settings, create_app(settings))
    # uvicorn exits (SystemExit 3) when the app's startup fails: say so ourselves.
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        asyncio.run(server.serve())
    if not server.started:
        print("majlis: the node did not start; the log above says why", file=sys.stderr)
        return 1
    return 0
