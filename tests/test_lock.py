"""The locks in requirements/ agree with pyproject.toml, and this environment is what they lock.

pyproject.toml says what majlis needs (ranges); requirements/*.txt (made by scripts/lock.sh) say
exactly which releases, with hashes, the README's commands install. If someone edits one without
re-running the lock, these tests say which requirement disagrees, before any upstream release can.
"""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from importlib import metadata
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$")

# Which extras each lock resolves (scripts/lock.sh); build requirements are in every lock.
LOCKS = {
    "run.txt": (),
    "scaletest.txt": ("scaletest",),
    "captions.txt": ("captions",),
    "test.txt": ("test", "scaletest", "captions"),
}


def _pins(lock: str) -> dict[str, str]:
    """name -> version of every pin whose marker holds on this interpreter."""
    pins: dict[str, str] = {}
    env = dict(default_environment())
    for line in (ROOT / "requirements" / lock).read_text(encoding="utf-8").splitlines():
        match = PIN.match(line)
        if match is None:
            continue
        name, version, marker = match.groups()
        if marker and not Requirement(f"x; {marker}").marker.evaluate(env):  # type: ignore[union-attr]
            continue
        pins[canonicalize_name(name)] = version
    return pins


def _wanted(extras: tuple[str, ...]) -> list[Requirement]:
    project = PYPROJECT["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in extras:
        wanted += [Requirement(r) for r in project["optional-dependencies"][extra]]
    wanted += [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    return [r for r in wanted if canonicalize_name(r.name) != "majlis"]


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_requirement_of_pyproject_is_pinned_in_its_lock_within_range(lock: str) -> None:
    pins = _pins(lock)
    disagreements = []
    for requirement in _wanted(LOCKS[lock]):
        if requirement.marker is not None and not requirement.marker.evaluate():
            continue
        pinned = pins.get(canonicalize_name(requirement.name))
        if pinned is None or not requirement.specifier.contains(pinned, prereleases=True):
            disagreements.append(f"{requirement} -> {pinned or 'not in the lock'}")
    assert not disagreements, (
        f"requirements/{lock} disagrees with pyproject.toml; run scripts/lock.sh: {disagreements}"
    )


@pytest.mark.parametrize("lock", sorted(LOCKS))
def test_every_pin_carries_hashes(lock: str) -> None:
    text = (ROOT / "requirements" / lock).read_text(encoding="utf-8")
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text)
    unhashed = [
        b.split()[0] for b in blocks if "==" in b.split("\n")[0] and "--hash=sha256:" not in b
    ]
    assert not unhashed


def test_the_locks_agree_with_each_other() -> None:
    """Tests run the versions that serve: a package in two locks has one version."""
    run, test = _pins("run.txt"), _pins("test.txt")
    differ = {n: (v, test.get(n)) for n, v in run.items() if test.get(n) != v}
    for lock in ("scaletest.txt", "captions.txt"):
        differ |= {n: (v, test.get(n)) for n, v in _pins(lock).items() if test.get(n) != v}
    assert not differ


def test_this_environment_is_exactly_the_test_lock() -> None:
    """The README's test command installed the locked releases, not whatever was newest."""
    pins = _pins("test.txt")
    installed = {
        canonicalize_name(d.metadata["Name"]): d.version
        for d in metadata.distributions()
        if d.metadata["Name"]
    }
    wrong = {n: (v, installed.get(n)) for n, v in pins.items() if installed.get(n) != v}
    assert not wrong, f"installed releases differ from requirements/test.txt: {wrong}"


def test_pip_check_is_clean() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "check"], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_run_install_is_lean() -> None:
    """What `majlis serve` installs carries no load generator, plotting or test tools."""
    run = _pins("run.txt")
    assert not {"locust", "gevent", "flask", "matplotlib", "pytest"} & set(run)
