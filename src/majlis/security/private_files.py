"""The data directory is private to the user majlis runs as (issue 14: "data dir 0700,
database and recordings 0600").

Why at start-up and through the umask: the directory holds the SQLite database (password
hashes, session token hashes), the node secret and every recording, and files are created by
many hands (SQLite's journal, the recorder, the teaser store). A umask of 077 makes each of
them private when it is made, whoever makes it; what an older version left readable is made
private once here.

What is left as the operator made it: a symlink (a recordings volume shared by nodes), another
file system mounted inside (a volume), and anything this user does not own (a volume's
lost+found, a root-owned mount point). A file that cannot be changed is logged, never a reason
not to start.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private(data_dir: Path) -> None:
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    top = data_dir.stat()
    _private(data_dir, top.st_dev, os.geteuid())


def _private(directory: Path, device: int, owner: int) -> None:
    _chmod(directory, DIR_MODE)
    try:
        entries = list(directory.iterdir())
    except OSError as exc:
        log.warning("cannot read %s to make it private: %s", directory, exc)
        return
    for entry in entries:
        try:
            info = entry.lstat()
        except OSError:
            continue  # gone meanwhile
        if entry.is_symlink() or info.st_dev != device or info.st_uid != owner:
            continue
        if entry.is_dir():
            _private(entry, device, owner)
        elif entry.is_file():
            _chmod(entry, FILE_MODE)


def _chmod(path: Path, mode: int) -> None:
    try:
        if path.stat().st_mode & 0o777 != mode:
            path.chmod(mode)
    except OSError as exc:
        log.warning("cannot make %s private (%s); leaving it as it is", path, exc)
