"""The ``Store`` on SQLAlchemy Core, one code path for SQLite (embedded) and PostgreSQL.

Why Core and not the ORM: every query here is on a request path, most are one statement, and
the records we return are immutable dataclasses; an identity map would only add work.

One module per aggregate (accounts, spaces, stage, notices, comments, clips, captions), each a
set of queries on the shared engine (``engine``: connections, the write lock, the Space-row lock);
``SqlStore`` is all of them.
"""

from __future__ import annotations

from majlis.store.sql.accounts import AccountQueries
from majlis.store.sql.captions import CaptionQueries
from majlis.store.sql.clips import ClipQueries
from majlis.store.sql.comments import CommentQueries
from majlis.store.sql.node_secret import NodeSecretQueries
from majlis.store.sql.notices import NoticeQueries
from majlis.store.sql.spaces import SpaceQueries
from majlis.store.sql.stage import StageQueries


class SqlStore(
    AccountQueries,
    SpaceQueries,
    StageQueries,
    NoticeQueries,
    CommentQueries,
    ClipQueries,
    CaptionQueries,
    NodeSecretQueries,
):
    """Every query of the ``Store`` protocol, over one engine."""


__all__ = ["SqlStore"]
