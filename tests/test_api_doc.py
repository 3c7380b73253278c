"""docs/api.md, the public contract, says what the server serves: no more, no less.

Clients and outside tools are written against docs/api.md without reading our code; the
server's OpenAPI document is generated from the routes. Each operation in the contract's
tables (above "To build") must be served, and each operation served under /api/v1 must be in
a table, so a renamed or forgotten route shows up here rather than in someone's client.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi.routing import iter_route_contexts

from majlis.app import create_app
from majlis.config import Settings

DOC = (Path(__file__).resolve().parent.parent / "docs" / "api.md").read_text(encoding="utf-8")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
FIRST_CELL = re.compile(r"^\|([^|]+)\|", re.M)
OPERATION = re.compile(
    r"^((?:GET|POST|PUT|PATCH|DELETE)(?:\s*/\s*(?:GET|POST|PUT|PATCH|DELETE))*)\s+(/\S+)"
)


def _shape(path: str) -> str:
    """`/spaces/{id}` and `/spaces/{space_id}` are the same operation."""
    return re.sub(r"\{[^}]*\}", "{}", path.split("?")[0])


def _documented(section: str) -> set[tuple[str, str]]:
    operations = set()
    for cell in FIRST_CELL.findall(section):
        for part in cell.replace("`", "").split(","):
            match = OPERATION.match(part.strip())
            if match:
                for method in re.split(r"\s*/\s*", match.group(1)):
                    operations.add((method, _shape(match.group(2))))
    return operations


def _served() -> set[tuple[str, str]]:
    document = create_app(Settings()).openapi()
    return {
        (method.upper(), _shape(path))
        for path, item in document["paths"].items()
        for method in item
        if method.upper() in METHODS
    }


def _pages() -> set[tuple[str, str]]:
    """What the app serves outside the OpenAPI document: the web client's pages, its share
    cards, oEmbed and the embed players (documented in the contract's tables all the same)."""
    app = create_app(Settings())
    return {
        (method, _shape(str(route.path_format)))
        for route in iter_route_contexts(app.routes)
        for method in (route.methods or set())
        if method in METHODS
    }


def test_every_operation_of_the_contract_is_served() -> None:
    built = DOC.partition("## To build")[0]
    documented = _documented(built)
    assert len(documented) > 40
    assert not documented - _served() - _pages() - {("GET", "/metrics")}


def test_every_api_operation_served_is_in_the_contract() -> None:
    undocumented = {op for op in _served() - _documented(DOC) if op[1].startswith("/api/")}
    assert not undocumented, f"add these to docs/api.md: {sorted(undocumented)}"
