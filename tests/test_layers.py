"""The import graph of src/majlis keeps its layers: no module imports itself back through
others, and the inner layers (domain rules, durable and ephemeral state) import nothing of the
outer ones (HTTP, media, cluster wiring).

Why a test: a layer is skipped one convenient import at a time (the domain once decoded teasers
itself and the cluster subclassed an HTTP error); the graph says so the moment it happens.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

#: package -> packages it must never import (directly, at any place in a module).
FORBIDDEN = {
    "majlis.domain": {
        "majlis.api",
        "majlis.web",
        "majlis.media",
        "majlis.cluster",
        "majlis.services",
        # The store implements the domain's port (domain/store.py): the domain needs nothing of
        # it, not its SQL, tables or migrations, nor its old record path.
        "majlis.store",
    },
    "majlis.store": {"majlis.api", "majlis.web", "majlis.media", "majlis.cluster", "majlis.domain"},
    "majlis.seams": {
        "majlis.api",
        "majlis.web",
        "majlis.media",
        "majlis.cluster",
        "majlis.domain",
        "majlis.store",
        "majlis.services",
    },
    "majlis.cluster": {"majlis.api", "majlis.web", "majlis.media", "majlis.domain"},
    "majlis.media": {"majlis.api", "majlis.web"},
    # The HTTP layer serves the web client's pages but does not build them: the app (majlis.app)
    # mounts both, so web -> api (for the request dependencies) is the one direction.
    "majlis.api": {"majlis.web", "majlis.app"},
}

#: package -> the modules of a forbidden package it may import all the same. The domain owns its
#: model and the port it needs: the store builds the domain's entities from rows and implements
#: its Store protocol, and imports nothing else of it.
ALLOWED = {"majlis.store": {"majlis.domain.model", "majlis.domain.store"}}


def _modules() -> dict[str, Path]:
    found = {}
    for path in (SRC / "majlis").rglob("*.py"):
        name = ".".join(path.relative_to(SRC).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def _imports(path: Path, modules: dict[str, Path]) -> Iterator[str]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("majlis"):
            for alias in node.names:
                full = f"{node.module}.{alias.name}"
                yield full if full in modules else node.module
        elif isinstance(node, ast.Import):
            yield from (a.name for a in node.names if a.name.startswith("majlis"))


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    return {
        name: {m for m in _imports(path, modules) if m in modules and m != name}
        for name, path in modules.items()
    }


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def test_inner_layers_import_nothing_of_the_outer_ones() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if _package(target) in FORBIDDEN.get(_package(module), set())
        and target not in ALLOWED.get(_package(module), set())
    )
    assert not wrong


def test_no_module_imports_itself_back() -> None:
    graph = _graph()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1 on the current path, 2 done
    path: list[str] = []

    def visit(module: str) -> None:
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                cycles.append([*path[path.index(target) :], target])
            elif target not in state:
                visit(target)
        path.pop()
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module)
    assert not cycles


def test_no_package_imports_itself_back() -> None:
    """Package by package (api, web, domain, seams, media ...), not only module by module: two
    packages that import each other cannot be understood, tested or replaced one at a time."""
    graph: dict[str, set[str]] = {}
    for module, targets in _graph().items():
        graph.setdefault(_package(module), set()).update(
            _package(t) for t in targets if _package(t) != _package(module)
        )
    cycles = []
    for package, targets in graph.items():
        for target in targets:
            if package in _reachable(graph, target):
                cycles.append(f"{package} -> {target} -> ... -> {package}")
    assert not cycles, sorted(cycles)


def _reachable(graph: dict[str, set[str]], start: str) -> set[str]:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node not in seen:
            seen.add(node)
            todo.extend(graph.get(node, ()))
    return seen
