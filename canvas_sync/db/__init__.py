"""The database: models, engine and transactions, and the repository functions."""

import importlib
from types import ModuleType

from sqlalchemy.orm import Session

from canvas_sync.db import locks, records, repo
from canvas_sync.db.session import Database

__all__ = ["Database", "Session", "accounts", "locks", "records", "repo", "requests"]

# The web app's users and the daemon's queue are imported on first use (PEP 562): a sync
# needs neither, and importing the package is part of every sync's start-up.
_LAZY = ("accounts", "requests")


def __getattr__(name: str) -> ModuleType:
    if name in _LAZY:
        return importlib.import_module(f"canvas_sync.db.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
