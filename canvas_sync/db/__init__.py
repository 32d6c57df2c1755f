"""The database: models, engine and transactions, and the repository functions."""

from sqlalchemy.orm import Session

from canvas_sync.db import accounts, locks, records, repo, requests
from canvas_sync.db.session import Database

__all__ = ["Database", "Session", "accounts", "locks", "records", "repo", "requests"]
