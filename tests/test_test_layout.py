"""The test tree keeps its layout: tests import helpers from ``tests/support/`` (or a
``conftest.py``), never from another test module; tests/ holds only tests at its top; and the
unit layer starts no server.

Why a test: importing a helper from a test module also collects that module's fixtures and
module-level work into the importer (an autouse fixture once came along with a helper), and it
couples two test files that other people edit; the harness files at the top of tests/ hid
which files were tests. Each slipped in one convenient import at a time.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TESTS = ROOT / "tests"

#: What the unit layer must not import: the harness that starts servers, and network clients.
NOT_IN_UNIT = ("tests.support.server", "tests.support.client", "tests.support.services", "httpx")


def _imported(path: Path, hint: re.Pattern[str]) -> Iterator[str]:
    """The modules ``path`` imports, if its text matches ``hint`` (parsing every file of the
    tree costs seconds on a busy machine; a file the hint misses cannot offend)."""
    text = path.read_text(encoding="utf-8")
    return _imported_from(ast.parse(text), path) if hint.search(text) else iter(())


#: An import that may name a test module: ``import a.test_b``, ``from a.test_b import c``,
#: ``from a import test_b`` (also inside parentheses over several lines).
MAY_IMPORT_A_TEST = re.compile(
    r"^\s*(?:from|import)\s+[\w.]*\btest_|^\s*from\s+[\w.]+\s+import\s+(?:\([^)]*|[^\n]*)\btest_",
    re.M,
)
ANY_IMPORT = re.compile(r"^\s*(?:from|import)\s", re.M)


def _imported_from(tree: ast.AST, path: Path) -> Iterator[str]:
    """Every module an import in ``path`` names, wherever it stands (functions included):
    ``from a.b import c`` names ``a.b`` and ``a.b.c``, as ``c`` may be a module."""
    package = ".".join(path.relative_to(ROOT).parent.parts)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parent, *([base] if base else [])])
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _is_test_module(name: str) -> bool:
    return name.rsplit(".", 1)[-1].startswith("test_")


def _python_files(*roots: Path) -> list[Path]:
    return sorted(p for root in roots for p in root.rglob("*.py"))


def test_no_module_imports_a_test_module() -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _python_files(TESTS, ROOT / "bench")
        for name in _imported(path, MAY_IMPORT_A_TEST)
        if _is_test_module(name)
    ]
    assert not offences, "move the helper to tests/support/ or a conftest.py:\n" + "\n".join(
        offences
    )


def test_the_top_of_tests_holds_only_tests() -> None:
    allowed = {"__init__.py", "conftest.py"}
    strays = [
        p.name
        for p in TESTS.glob("*.py")
        if p.name not in allowed and not p.name.startswith("test_")
    ]
    assert not strays, f"harness modules belong in tests/support/: {strays}"


def test_the_unit_layer_starts_no_server() -> None:
    offences = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in _python_files(TESTS / "unit")
        for name in _imported(path, ANY_IMPORT)
        if name.startswith(NOT_IN_UNIT)
    ]
    assert not offences, "\n".join(offences)


def test_the_checks_see_an_offence() -> None:
    """The import reader finds what the checks look for, in every form an import takes."""
    sample = TESTS / "media" / "test_sample.py"
    forms = [
        "from tests.media.test_dash import NS",
        "from tests.contract import test_live_seams as seams",
        "import tests.test_cli",
        "from .test_opus import rms_db",
        "from . import test_sdp",
        "from tests.web import (\n    shell,\n    test_pages,\n)",
        "def f():\n    from tests.media.test_sdp import GOOD",
    ]
    for form in forms:
        names = list(_imported_from(ast.parse(form), sample))
        assert any(_is_test_module(n) for n in names), (form, names)
        assert MAY_IMPORT_A_TEST.search(form), form
    helper = ast.parse("from tests.support.program import latest_program")
    assert not any(_is_test_module(n) for n in _imported_from(helper, sample))
