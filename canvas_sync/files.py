"""Files holding students' data are private to their owner, whatever the umask.

The SQLite database, its journal (SQLite gives journal and WAL files the database file's mode)
and the reports hold names and grades: they are created 0600, so another local user cannot
read them even under the usual 022 umask.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["PRIVATE_MODE", "create_private", "write_private"]

PRIVATE_MODE = 0o600


def create_private(path: Path) -> None:
    """Create an empty file 0600 if none exists yet (an existing file is left as it is)."""
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, PRIVATE_MODE)  # the umask may have taken bits; say exactly what we mean
    finally:
        os.close(fd)


def write_private(path: Path, text: str) -> None:
    """Write `text` (UTF-8) to `path`, which is made 0600 before any byte is written."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_MODE)
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as handle:
        os.fchmod(handle.fileno(), PRIVATE_MODE)
        handle.write(text)
