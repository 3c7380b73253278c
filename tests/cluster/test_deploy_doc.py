"""docs/deploy.md is checked, not just read: the compose file parses and names real settings and
roles, the env file names real settings, and the systemd units pass ``systemd-analyze verify``.

Docker does not run on this machine, so the compose file is validated by parsing; its majlis
services' commands go through majlis' own argument parser and settings validation.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import subprocess
import sys
from pathlib import Path

import yaml  # type: ignore[import-untyped]  # no stubs installed; safe_load gives Any

from majlis.cli import _parser
from majlis.config import ROLES, Settings
from tests.support.services import unavailable

DOC = Path(__file__).resolve().parents[2] / "docs" / "deploy.md"
SETTINGS = {f"MAJLIS_{f.name.upper()}" for f in dataclasses.fields(Settings)}
#: ```lang, then a first line "# <file name>", then the file, up to the closing fence.
_BLOCK = re.compile(r"^```(\w+)\n# (\S+)\n(.*?)^```$", re.S | re.M)


def _files() -> dict[str, str]:
    return {name: body for _, name, body in _BLOCK.findall(DOC.read_text())}


def _majlis_env(raw: dict[str, object]) -> dict[str, str]:
    return {k: str(v) for k, v in raw.items() if k.startswith("MAJLIS_")}


def test_the_doc_has_every_file_it_promises() -> None:
    assert set(_files()) >= {
        "Dockerfile",
        "compose.yaml",
        "/etc/majlis/majlis.env",
        "/etc/systemd/system/majlis-api@.service",
        "/etc/systemd/system/majlis-media@.service",
    }


def test_compose_file_parses_with_real_settings_and_roles() -> None:
    compose = yaml.safe_load(_files()["compose.yaml"])
    services = compose["services"]
    assert {"postgres", "redis", "edge"} <= set(services)
    roles = []
    for name, service in services.items():
        command = service.get("command", [])
        if service.get("image") != "majlis":
            continue
        args = _parser().parse_args(command)  # exits on an unknown flag or role
        assert args.command == "serve" and args.role in ROLES, name
        roles.append(args.role)
        env = _majlis_env(service["environment"])
        assert set(env) <= SETTINGS, (name, set(env) - SETTINGS)
        settings = Settings.from_env(env).with_overrides(role=args.role, port=args.port)
        settings.validated()
        assert settings.resolved_node_url().endswith(f":{args.port}"), name
    assert roles.count("api") >= 2 and roles.count("media") >= 1


def test_env_file_names_only_real_settings() -> None:
    lines = [ln for ln in _files()["/etc/majlis/majlis.env"].splitlines() if "=" in ln]
    keys = {ln.split("=", 1)[0] for ln in lines if not ln.startswith("#")}
    assert keys and keys <= SETTINGS, keys - SETTINGS
    assert "MAJLIS_SECRET" in keys and "MAJLIS_REDIS_URL" in keys


def test_systemd_units_verify(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        unavailable("systemd-analyze is not installed")
    assert analyze is not None
    majlis = Path(sys.executable).with_name("majlis")
    assert majlis.exists(), majlis
    units = {n: b for n, b in _files().items() if n.endswith(".service")}
    instances = []
    for name, body in units.items():
        unit = tmp_path / Path(name).name
        # The doc installs into /opt/majlis; here the venv's entry point stands in for it.
        unit.write_text(body.replace("/opt/majlis/bin/majlis", str(majlis)))
        instances.append(str(unit).replace("@.service", "@8001.service"))
        for flag in ("--role", "--port", "--node-id"):
            assert flag in body, (name, flag)
    result = subprocess.run(
        [analyze, "verify", *instances], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
