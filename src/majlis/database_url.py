"""The database URL an operator pastes, turned into the async driver URL majlis runs on.

Why: every hosting provider hands out ``postgresql://`` (or ``postgres://``) with
``?sslmode=require``. SQLAlchemy reads a bare ``postgresql://`` as psycopg, which majlis does
not install, so such a URL crashed at start (``No module named 'psycopg'``) after the CLI had
printed "serving on". asyncpg, the driver majlis uses, names ``sslmode`` ``ssl``. So the common
spellings are mapped, and anything else majlis cannot run on is refused before anything starts.
"""

from __future__ import annotations

#: The schemes people write, and the async driver each means here.
_ASYNC_SCHEMES = {
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


def async_database_url(url: str) -> str:
    """``url`` on the async driver majlis runs on; ValueError says what is wrong with it."""
    scheme, separator, rest = url.partition("://")
    if not separator:
        raise ValueError(
            "database_url must look like postgresql://user:password@host:5432/name "
            "or sqlite:///path/to/majlis.db"
        )
    driver = _ASYNC_SCHEMES.get(scheme.lower())
    if driver is None:
        raise ValueError(
            f"database_url: majlis runs on PostgreSQL (postgresql://) or SQLite (sqlite:///), "
            f"through its async drivers; {scheme!r} is not one of them"
        )
    if driver == "postgresql+asyncpg":
        rest = _sslmode_as_ssl(rest)
    return f"{driver}://{rest}"


def _sslmode_as_ssl(rest: str) -> str:
    """libpq's ``sslmode=require`` is asyncpg's ``ssl=require`` (the same values)."""
    where, question, query = rest.partition("?")
    if not question:
        return rest
    fields = [
        "ssl=" + f[len("sslmode=") :] if f.startswith("sslmode=") else f for f in query.split("&")
    ]
    return f"{where}?{'&'.join(fields)}"
