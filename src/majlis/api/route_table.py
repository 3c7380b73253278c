"""The one table of routes: what each route is, for every layer that treats routes differently.

Why one table: admission control (which lane a request queues in), the body guards (which cap,
which Content-Type), WHIP CORS, the query-string token and the metrics label used to each find
their routes by matching path strings their own way, so renaming a route could silently move
it out of a lane or under another body cap. Here every route of the app is named once by its
path template and methods, with a class; each layer maps the class to what it does. An app
with a route that has no row here does not start (``create_app``), and a test says which.

Why our own matcher and not the router: admission and the guards must decide before the router
runs (a shed request costs one lookup, not a routing), and repeating the router's walk over
~60 regexes for every request would cost what routing costs. The templates are compiled into a
tree with one dict per path segment, literal segments tried before parameters (the routes have
no case where the router's first-registered order disagrees; the test checks each route's
path). A request is matched once: the answer is kept in its scope for the layers after.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Final

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute
from starlette.types import Scope


class RouteClass(Enum):
    """What a route is for, as the layers in front of it need to know."""

    #: Liveness: never shed (a busy node must still say it is alive).
    PROBE = "probe"
    #: New arrivals (join, sign-in, sign-up): shed first, so the seated audience is served.
    ENTRY = "entry"
    #: The seated audience's own requests: heartbeat, snapshot, reactions.
    AUDIENCE = "audience"
    #: LL-HLS and DASH files and the replay: short GETs an edge caches.
    MEDIA = "media"
    #: The LL-HLS playlist: with ``_HLS_msn`` it waits for a part that does not exist yet.
    BLOCKING_RELOAD = "blocking-reload"
    #: A DASH segment, streamed as it is produced: it waits on the encoder for ~2 s.
    GROWING_SEGMENT = "growing-segment"
    #: A Space's Server-Sent Events: open as long as the listener stays.
    EVENT_STREAM = "event-stream"
    #: One reader's inbox as Server-Sent Events; EventSource cannot set headers, so the token
    #: may come in the query string.
    INBOX_STREAM = "inbox-stream"
    #: Speakers' WHIP offers (SDP bodies) and hang-ups, answered cross-origin after a 307.
    WHIP = "whip"
    #: A pre-show teaser: audio, the one body larger than a JSON cap.
    UPLOAD = "upload"
    #: Control-plane writes (accounts, Spaces, the stage).
    WRITE = "write"
    #: Control-plane reads, readiness.
    READ = "read"
    #: Pages for people: the web client, its static files, the API docs.
    PAGE = "page"


_C = RouteClass
_S = "/api/v1/spaces/{space_id}"
#: Every route of the app: path template (as the router spells it) -> method -> class.
#: ``{name:path}`` is the rest of the path, however many segments (a mount).
TEMPLATES: Final[Mapping[str, Mapping[str, RouteClass]]] = {
    "/livez": {"GET": _C.PROBE},
    # Shed like any read under load: it is a scrape, not liveness (issue 14, finding 3).
    "/metrics": {"GET": _C.READ},
    "/readyz": {"GET": _C.READ},
    "/api/v1/accounts": {"POST": _C.ENTRY},
    "/api/v1/sessions": {"POST": _C.ENTRY, "GET": _C.READ},
    f"{_S}/join": {"POST": _C.ENTRY},
    f"{_S}/heartbeat": {"POST": _C.AUDIENCE},
    f"{_S}/snapshot": {"GET": _C.AUDIENCE},
    f"{_S}/reactions": {"POST": _C.AUDIENCE},
    f"{_S}/events": {"GET": _C.EVENT_STREAM},
    # One signed-in viewer's own view of the audience (people they follow): not the edge-cached
    # snapshot, so shed like any read under load; the page keeps the count it had.
    f"{_S}/audience": {"GET": _C.READ},
    "/api/v1/notifications/stream": {"GET": _C.INBOX_STREAM},
    f"{_S}/whip": {"POST": _C.WHIP},
    f"{_S}/whip/{{session_id}}": {"DELETE": _C.WHIP},
    "/hls/{space_id}/live.m3u8": {"GET": _C.BLOCKING_RELOAD},
    "/hls/{space_id}/init.mp4": {"GET": _C.MEDIA},
    "/hls/{space_id}/main.m3u8": {"GET": _C.MEDIA},
    "/hls/{space_id}/captions.m3u8": {"GET": _C.MEDIA},
    "/hls/{space_id}/captions/{name}": {"GET": _C.MEDIA},
    "/hls/{space_id}/{name}": {"GET": _C.MEDIA},
    "/dash/time": {"GET": _C.MEDIA},
    "/dash/{space_id}/live.mpd": {"GET": _C.MEDIA},
    "/dash/{space_id}/{rendition}/init.mp4": {"GET": _C.MEDIA},
    "/dash/{space_id}/{rendition}/{name}": {"GET": _C.GROWING_SEGMENT},
    f"{_S}/replay.m3u8": {"GET": _C.MEDIA},
    f"{_S}/recording.m4a": {"GET": _C.MEDIA},
    f"{_S}/teaser": {"PUT": _C.UPLOAD, "DELETE": _C.WRITE},
    f"{_S}/link": {"PUT": _C.WRITE, "DELETE": _C.WRITE},
    # The newest comments are read by the seated audience, like the snapshot.
    f"{_S}/comments": {"GET": _C.AUDIENCE, "POST": _C.WRITE},
    f"{_S}/comments/{{comment_id}}": {"DELETE": _C.WRITE},
    f"{_S}/comments/{{comment_id}}/pin": {"POST": _C.WRITE, "DELETE": _C.WRITE},
    f"{_S}/clips": {"GET": _C.READ, "POST": _C.WRITE},
    "/api/v1/clips/{clip_id}": {"GET": _C.READ, "DELETE": _C.WRITE},
    "/api/v1/clips/{clip_id}/audio.m4a": {"GET": _C.MEDIA},
    f"{_S}/transcript": {"GET": _C.READ, "DELETE": _C.WRITE},
    f"{_S}/transcript.vtt": {"GET": _C.READ},
    f"{_S}/transcript.srt": {"GET": _C.READ},
    "/oembed": {"GET": _C.READ},
    "/api/v1/sessions/current": {"DELETE": _C.WRITE},
    "/api/v1/sessions/{session_id}": {"DELETE": _C.WRITE},
    "/api/v1/stream-tickets": {"POST": _C.WRITE},
    "/api/v1/accounts/{handle}": {"GET": _C.READ},
    "/api/v1/accounts/{handle}/follow": {"POST": _C.WRITE, "DELETE": _C.WRITE},
    "/api/v1/spaces": {"GET": _C.READ, "POST": _C.WRITE},
    _S: {"GET": _C.READ, "PATCH": _C.WRITE},
    f"{_S}/start": {"POST": _C.WRITE},
    f"{_S}/end": {"POST": _C.WRITE},
    f"{_S}/reminder": {"GET": _C.READ, "POST": _C.WRITE, "DELETE": _C.WRITE},
    f"{_S}/requests": {"GET": _C.READ, "POST": _C.WRITE},
    f"{_S}/requests/{{handle}}": {"DELETE": _C.WRITE},
    f"{_S}/stage/{{handle}}": {"PUT": _C.WRITE, "DELETE": _C.WRITE},
    f"{_S}/stage/{{handle}}/mute": {"POST": _C.WRITE},
    f"{_S}/stage/{{handle}}/unmute": {"POST": _C.WRITE},
    f"{_S}/removals/{{handle}}": {"POST": _C.WRITE},
    "/api/v1/feed/live": {"GET": _C.READ},
    "/api/v1/feed/upcoming": {"GET": _C.READ},
    "/api/v1/notifications": {"GET": _C.READ},
    "/api/v1/notifications/seen": {"POST": _C.WRITE},
    "/": {"GET": _C.PAGE},
    "/spaces/new": {"GET": _C.PAGE},
    "/spaces/{space_id}": {"GET": _C.PAGE},
    "/signin": {"GET": _C.PAGE},
    "/signup": {"GET": _C.PAGE},
    "/notifications": {"GET": _C.PAGE},
    "/@{handle}": {"GET": _C.PAGE},
    "/accounts/{handle}": {"GET": _C.PAGE},
    "/clips/{clip_id}": {"GET": _C.PAGE},
    "/clips/{clip_id}/card.png": {"GET": _C.PAGE},
    "/spaces/{space_id}/card.png": {"GET": _C.PAGE},
    "/@{handle}/card.png": {"GET": _C.PAGE},
    "/embed/spaces/{space_id}": {"GET": _C.PAGE},
    "/embed/clips/{clip_id}": {"GET": _C.PAGE},
    "/static/{path:path}": {"GET": _C.PAGE},
    "/docs": {"GET": _C.PAGE},
    "/openapi.json": {"GET": _C.PAGE},
}


@dataclass(frozen=True, eq=False)
class Route:
    """One path template of the table, with the class of each method it serves."""

    #: The template as the router spells it (``{path:path}`` as ``{path}``): the metrics label.
    label: str
    classes: Mapping[str, RouteClass]
    #: Answers WHIP CORS, preflights (OPTIONS, a method no route serves) included.
    whip: bool = False


#: A path no route serves (the router answers 404): the work lane, the JSON cap, no CORS.
UNROUTED: Final = Route(label="other", classes=MappingProxyType({}))


@dataclass(eq=False)
class _Node:
    literal: dict[str, _Node] = field(default_factory=dict)
    #: ``prefix{name}`` segments (``@{handle}``): a literal start, then a parameter.
    prefixed: list[tuple[str, _Node]] = field(default_factory=list)
    #: ``{name}``: any one non-empty segment.
    param: _Node | None = None
    #: ``{name:path}``: the rest of the path.
    tail: Route | None = None
    route: Route | None = None


class RouteTable:
    """Path templates compiled into a tree of segments; ``match`` is O(segments), not O(routes)."""

    def __init__(self, templates: Mapping[str, Mapping[str, RouteClass]]) -> None:
        self._root = _Node()
        self.routes: tuple[Route, ...] = tuple(
            self._add(template, classes) for template, classes in templates.items()
        )

    def _add(self, template: str, classes: Mapping[str, RouteClass]) -> Route:
        route = Route(
            label=template.replace(":path}", "}"),
            classes=MappingProxyType(dict(classes)),
            whip=RouteClass.WHIP in classes.values(),
        )
        node = self._root
        segments = template.split("/")[1:]
        for index, segment in enumerate(segments):
            opens = segment.find("{")
            if opens < 0:
                node = node.literal.setdefault(segment, _Node())
            elif segment.endswith(":path}") and opens == 0 and index == len(segments) - 1:
                node.tail = route
                return route
            elif opens == 0 and segment.endswith("}") and segment.count("{") == 1:
                node.param = node.param or _Node()
                node = node.param
            elif segment.endswith("}") and segment.count("{") == 1:
                prefix = segment[:opens]
                child = next((n for p, n in node.prefixed if p == prefix), None)
                if child is None:
                    child = _Node()
                    node.prefixed.append((prefix, child))
                node = child
            else:
                raise ValueError(f"the route table cannot match {segment!r} of {template}")
        if node.route is not None:
            raise ValueError(f"{template} is in the route table twice")
        node.route = route
        return route

    def unclassified(self, routes: Sequence[BaseRoute]) -> list[str]:
        """``METHOD template`` of each of ``routes`` (an app's) that the table has no class for."""
        classified = {(method, route.label) for route in self.routes for method in route.classes}
        return sorted(
            f"{method} {route.path_format}"
            for route in iter_route_contexts(routes)
            for method in route.methods or {"GET"}
            if method != "HEAD" and (method, route.path_format) not in classified
        )

    def match(self, path: str) -> Route:
        """The route the router would pick for ``path`` (whatever the method), or UNROUTED."""
        return _find(self._root, path.split("/"), 1) or UNROUTED


def _find(node: _Node, segments: list[str], index: int) -> Route | None:
    if index == len(segments):
        return node.route
    segment = segments[index]
    child = node.literal.get(segment)
    if child is not None:
        found = _find(child, segments, index + 1)
        if found is not None:
            return found
    for prefix, child in node.prefixed:
        if len(segment) > len(prefix) and segment.startswith(prefix):
            found = _find(child, segments, index + 1)
            if found is not None:
                return found
    if node.param is not None and segment:
        found = _find(node.param, segments, index + 1)
        if found is not None:
            return found
    return node.tail


TABLE: Final = RouteTable(TEMPLATES)
#: Where a request's route is kept once matched, for the layers after the first.
_SCOPE_KEY: Final = "majlis.route"
#: The paths of the audience (a Space's join, heartbeat, snapshot, playlist) repeat for every
#: listener: remembered, they are matched in one dict lookup (~0.3 us against ~1-5 us for the
#: walk). Bounded in number and in length, so made-up paths cannot grow it.
_remembered = functools.lru_cache(maxsize=4096)(TABLE.match)
_REMEMBERED_PATH_MAX = 200


def route_of(scope: Scope) -> Route:
    """The request's route, matched once per request whichever layer asks first."""
    route: Route | None = scope.get(_SCOPE_KEY)
    if route is None:
        path: str = scope["path"]
        route = _remembered(path) if len(path) <= _REMEMBERED_PATH_MAX else TABLE.match(path)
        scope[_SCOPE_KEY] = route
    return route


def class_of(scope: Scope) -> RouteClass | None:
    """The class of the request's route and method; ``None``: no route serves it (404, 405)."""
    return route_of(scope).classes.get(scope["method"])
