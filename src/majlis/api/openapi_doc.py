"""The served OpenAPI document, corrected where FastAPI's defaults would misdescribe the API.

Why: clients, load tests and schemathesis (tests/test_fuzz_openapi.py, every check) are written
against this document without reading our code, so it must say what the server does:
- errors are RFC 9457 ``application/problem+json``, not ``application/json``;
- an operation that takes a token but does not need one (a Space page, joining as a listener)
  says so with an empty security requirement beside the bearer, or a conformance check reads
  its 200 to an anonymous caller as an authentication bypass.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from starlette.routing import BaseRoute

_PROBLEM_JSON = "application/problem+json"


def corrected(
    document: dict[str, Any],
    routes: Iterable[BaseRoute],
    requires_token: frozenset[Callable[..., object]],
) -> dict[str, Any]:
    """``document`` with problems as problem+json and optional authentication declared.
    ``requires_token``: the dependencies that refuse an anonymous caller (401)."""
    _problems_as_problem_json(document)
    _anonymous_where_allowed(document, routes, requires_token)
    return document


def _problems_as_problem_json(document: dict[str, Any]) -> None:
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if status.isdigit() and int(status) >= 400 and "application/json" in content:
                    content[_PROBLEM_JSON] = content.pop("application/json")


def _anonymous_where_allowed(
    document: dict[str, Any],
    routes: Iterable[BaseRoute],
    requires_token: frozenset[Callable[..., object]],
) -> None:
    for route in iter_route_contexts(list(routes)):
        if not isinstance(route.original_route, APIRoute):
            continue
        if _calls(route.dependant) & requires_token:
            continue
        for method in route.methods or ():
            operation = document.get("paths", {}).get(route.path_format, {}).get(method.lower())
            if operation and operation.get("security") and {} not in operation["security"]:
                operation["security"] = [*operation["security"], {}]


def _calls(dependant: Dependant) -> set[Callable[..., object]]:
    found: set[Callable[..., object]] = set()
    for dependency in dependant.dependencies:
        if dependency.call is not None:
            found.add(dependency.call)
        found |= _calls(dependency)
    return found
