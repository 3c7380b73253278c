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
}

#: package -> the modules of a forbidden package it may import all the same. The domain owns its
#: model: the store builds the domain's entities from rows, and imports nothing else of it.
ALLOWED = {"majlis.store": {"majlis.domain.model"}}

#: package -> {package -> the only modules of it that may be imported}. The domain reaches the
#: store through its seam alone, never its SQL, tables or migrations, nor its old record path.
ONLY_THROUGH = {"majlis.domain": {"majlis.store": {"majlis.store.protocol"}}}


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


def test_the_domain_reaches_the_store_only_through_its_seam() -> None:
    wrong = sorted(
        f"{module} imports {target}"
        for module, targets in _graph().items()
        for target in targets
        if target not in ONLY_THROUGH.get(_package(module), {}).get(_package(target), {target})
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
