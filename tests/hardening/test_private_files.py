"""Issue 14: the data directory is private to the user majlis runs as: the directory 0700, the
database, the secret and recordings 0600, including what an older version left readable; a
recordings volume shared by nodes (a symlink) is left as the operator made it."""

from __future__ import annotations

import os
import stat
from contextlib import closing
from pathlib import Path

from majlis.security.private_files import make_private
from tests.support.client import Api
from tests.support.server import free_port, serve_process
from tests.support.wait import eventually


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_data_directory_and_what_majlis_writes_are_private(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)
    older = data / "recordings"
    older.mkdir()
    (older / "old.m4a").write_bytes(b"left readable by an older version")
    (older / "old.m4a").chmod(0o644)
    shared = tmp_path / "volume"
    shared.mkdir(mode=0o755)
    shared.chmod(0o755)
    (data / "shared").symlink_to(shared, target_is_directory=True)
    port = free_port()
    process = serve_process(data, port)
    try:
        with closing(Api(f"http://127.0.0.1:{port}")) as api:
            host = api.sign_up("private")
            space = host.create_space("Private files", record=True)
            recording = older / f"{space['id']}.m4a"
            eventually(recording.exists, message="nothing recorded")
            assert host.post(f"/api/v1/spaces/{space['id']}/end").status_code == 200
        assert _mode(data) == 0o700
        for path in (data / "majlis.db", data / "secret", older / "old.m4a", recording):
            assert _mode(path) == 0o600, (path, oct(_mode(path)))
        assert _mode(older) == 0o700
        assert _mode(shared) == 0o755  # the operator's shared volume, untouched
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_what_this_user_does_not_own_is_left_alone_and_never_stops_the_start(
    tmp_path: Path,
) -> None:
    """A volume's lost+found, or a mount point owned by root: left as it is, logged at most."""
    data = tmp_path / "data"
    data.mkdir()
    foreign = data / "lost+found"
    foreign.mkdir(mode=0o755)
    foreign.chmod(0o755)
    if os.geteuid() == 0:
        os.chown(foreign, 65534, 65534)  # nobody's, as on a fresh ext4 volume it is root's
    else:
        foreign.chmod(0o555)  # not ours to change either way: read-only for its owner
    previous = os.umask(0o022)
    try:
        make_private(data)  # sets the process's umask: this test process's is put back
    finally:
        os.umask(previous)
    expected = 0o755 if os.geteuid() == 0 else 0o555
    assert _mode(foreign) == expected
    assert _mode(data) == 0o700
