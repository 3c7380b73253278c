"""The data directory is private to the user majlis runs as (issue 14: "data dir 0700,
database and recordings 0600").

Why at start-up and through the umask: the directory holds the SQLite database (password
hashes, session token hashes), the node secret and every recording, and files are created by
many hands (SQLite's journal, the recorder, the teaser store). A umask of 077 makes each of
them private when it is made, whoever makes it; what an older version left readable is made
private once here. A recordings volume shared by several nodes (a symlink here) is the
operator's, and left as it is.
"""

from __future__ import annotations

import os
from pathlib import Path

DIR_MODE = 0o700
FILE_MODE = 0o600


def make_private(data_dir: Path) -> None:
    os.umask(0o077)
    data_dir.mkdir(parents=True, exist_ok=True, mode=DIR_MODE)
    _private(data_dir)


def _private(directory: Path) -> None:
    directory.chmod(DIR_MODE)
    for entry in directory.iterdir():
        if entry.is_symlink():
            continue
        if entry.is_dir():
            _private(entry)
        elif entry.is_file():
            entry.chmod(FILE_MODE)
