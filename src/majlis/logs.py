"""Logging for a person at a terminal, or JSON lines for an operator's collector.

Why quiet by default: `majlis serve` on a busy night answers thousands of requests a second, and
a line per request (uvicorn's access log) costs CPU and buries the lines that matter. Libraries
that narrate their normal work (Alembic's plugins and migrations, httpx's requests, ICE candidate
checks, uvicorn's start and stop) speak only when something is wrong, unless asked with
MAJLIS_LOG_LEVEL=debug. `--access-log` (MAJLIS_ACCESS_LOG=1) turns the request log back on.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime

#: Loggers that narrate normal operation at INFO; raised to WARNING unless the level is DEBUG.
CHATTY = ("alembic", "httpx", "httpcore", "aioice", "aiortc", "uvicorn.error", "asyncio")
LOG_FORMATS = ("text", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message (and the traceback, if any)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


#: Query parameters that carry a credential: the inbox stream's ``ticket`` (EventSource cannot
#: send a header), a token someone still sends as ``access_token``, a WHIP redirect's ``grant``.
_SECRET_QUERY = re.compile(r"((?:^|[?&])(?:access_token|ticket|grant)=)[^&#\s]*")


def redact(text: str) -> str:
    """``text`` with the value of every credential in a query string replaced."""
    return _SECRET_QUERY.sub(r"\1[redacted]", text)


class RedactSecrets(logging.Filter):
    """Takes credentials out of access-log lines before any handler sees them (issue 14: the
    inbox stream's ``?access_token=`` was written to the access log)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        record.msg = redact(record.msg) if isinstance(record.msg, str) else record.msg
        return True


def configure(level: str, log_format: str = "text", access_log: bool = False) -> None:
    """Configure the root logger once for the whole process (uvicorn is told not to)."""
    handler = logging.StreamHandler(sys.stderr)
    if log_format == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    quiet = max(logging.WARNING, root.level)
    for name in CHATTY:
        logging.getLogger(name).setLevel(quiet if root.level > logging.DEBUG else root.level)
    access = logging.getLogger("uvicorn.access")
    access.setLevel(logging.INFO if access_log else logging.WARNING)
    if not any(isinstance(f, RedactSecrets) for f in access.filters):
        access.addFilter(RedactSecrets())
