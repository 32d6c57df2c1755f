"""Structured daemon logs: one `key=value` line per event, the token scrubbed (SPEC §9, §5).

Events from `service.daemon.log_event` already read `event=NAME k=v ...`; any other record (a
library's message) becomes `event=log msg="..."`, so every line parses the same way.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from canvas_sync.inert import InertLogFilter

__all__ = ["KeyValueFormatter", "configure_logging"]


class KeyValueFormatter(logging.Formatter):
    """`time=... level=... logger=... event=...`; never lets a secret through."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def format(self, record: logging.LogRecord) -> str:
        message = record.getMessage()
        if not message.startswith("event="):
            message = 'event=log msg="' + message.replace('"', '\\"').replace("\n", " ") + '"'
        if record.exc_info:
            error = self.formatException(record.exc_info).splitlines()[-1]
            message += ' exception="' + error.replace('"', '\\"') + '"'
        stamp = datetime.fromtimestamp(record.created, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        line = f"time={stamp} level={record.levelname.lower()} logger={record.name} {message}"
        for secret in self._secrets:
            line = line.replace(secret, "[token]")
        return line


def configure_logging(
    level: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Route every log record through one key=value handler at `level`."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(KeyValueFormatter(secrets))
    handler.addFilter(InertLogFilter())  # Canvas data in a message cannot forge or colour lines
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # APScheduler narrates every job at INFO; its warnings (misfires, skips) still show.
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
    # Alembic announces its context on every first use of a database; httpx every request
    # (those stay visible with --verbose, which sets DEBUG).
    quiet = logging.WARNING if root.level > logging.DEBUG else logging.DEBUG
    for name in ("alembic", "httpx", "httpcore"):
        logging.getLogger(name).setLevel(quiet)
