"""Who holds a course's sync lock, and the refusal that names them (`locks.py` takes it).

A refusal always names `host:pid` when any trace of the holder exists: its row (even past its
lease, when its own long write kept it from renewing), or on PostgreSQL the name of the session
holding the advisory lock, set when it took the lock, before its row is written.
"""

from __future__ import annotations

import hashlib
import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

from sqlalchemy import Connection, select, text

from canvas_sync.db.models import SyncLockRow
from canvas_sync.db.session import Database
from canvas_sync.errors import LockTimeout

__all__ = [
    "APP_PREFIX",
    "LockInfo",
    "advisory_held",
    "advisory_key",
    "default_holder",
    "holder_of",
    "refusal",
    "utc_now",
]

#: PostgreSQL `application_name` prefix of the session holding a course's advisory lock.
APP_PREFIX = "canvas-sync "


@dataclass(frozen=True)
class LockInfo:
    """Who holds a course's sync lock, since when, and until when its lease runs."""

    course_id: int
    holder: str
    acquired_at: datetime
    lease_until: datetime


def default_holder() -> str:
    """`host:pid`: enough for a person to find the process holding a course."""
    return f"{socket.gethostname()}:{os.getpid()}"


def advisory_key(course_id: int) -> int:
    """A signed 64-bit PostgreSQL advisory-lock key for a course.

    Hashed with a fixed prefix so it cannot collide with other applications' small integer keys
    on a shared server; Canvas course ids can exceed 32 bits, so the id is not used raw.
    """
    digest = hashlib.blake2b(f"canvas-sync:course:{course_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def utc_now() -> datetime:
    return datetime.now(UTC)


def refusal(
    database: Database, course_id: int, wait_seconds: float, zone: tzinfo = UTC
) -> LockTimeout:
    """The refusal, naming `host:pid` and since when (in `zone`, the course's time zone).

    On SQLite a claim can fail with nobody holding the course: another process's write
    transaction kept the database busy for the whole wait. That is said as such, rather than
    blaming a holder that does not exist.
    """
    info = holder_of(database, course_id) or _last_row(database, course_id)
    if info is None:
        return LockTimeout(
            f"Course {course_id} could not be locked: the database stayed busy with another "
            f"process's write for {wait_seconds:g} s; try again or raise "
            "schedule.lock_wait_seconds."
        )
    return LockTimeout(
        f"Course {course_id} is being synced by {info.holder} since "
        f"{info.acquired_at.astimezone(zone):%Y-%m-%d %H:%M:%S %Z} (waited {wait_seconds:g} s); "
        "try again when it finishes or raise schedule.lock_wait_seconds."
    )


def _last_row(database: Database, course_id: int) -> LockInfo | None:
    """The lock row even past its lease: a holder busy committing a long write cannot renew
    it (its own write holds the database), yet it is still the process to name."""
    with database.engine.connect() as connection:
        row = connection.execute(
            select(SyncLockRow).where(SyncLockRow.course_id == course_id)
        ).first()
    return (
        None if row is None else LockInfo(course_id, row.holder, row.acquired_at, row.lease_until)
    )


def holder_of(database: Database, course_id: int) -> LockInfo | None:
    """Who holds the course's lock now, or None (an expired SQLite lease counts as free).

    On PostgreSQL the advisory lock is the truth: a row left by a killed process is ignored.
    """
    with database.engine.connect() as connection:
        row = connection.execute(
            select(SyncLockRow).where(SyncLockRow.course_id == course_id)
        ).first()
        if database.dialect == "postgresql":
            if not advisory_held(connection, course_id):
                return None
            if row is None:  # between the advisory lock and the row write
                return _session_holder(connection, course_id)
        elif row is None or row.lease_until <= utc_now():
            return None
    return LockInfo(course_id, row.holder, row.acquired_at, row.lease_until)


def _session_holder(connection: Connection, course_id: int) -> LockInfo:
    """The holder named by the PostgreSQL session that holds the course's advisory lock."""
    unsigned = advisory_key(course_id) & 0xFFFFFFFFFFFFFFFF
    found = connection.execute(
        text(
            "SELECT a.application_name, a.backend_start FROM pg_locks l "
            "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
            "AND l.granted AND l.classid = CAST(:hi AS oid) AND l.objid = CAST(:lo AS oid) "
            "AND l.objsubid = 1 "
            "AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        ),
        {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF},
    ).first()
    name = str(found[0]) if found is not None else ""
    holder = name.removeprefix(APP_PREFIX) if name.startswith(APP_PREFIX) else ""
    since = found[1] if found is not None and found[1] is not None else utc_now()
    return LockInfo(course_id, holder or "an unnamed PostgreSQL session", since, since)


def advisory_held(connection: Connection, course_id: int, pid: int | None = None) -> bool:
    """Whether anyone (or the backend `pid`) holds the course's advisory lock now."""
    # pg_locks splits a bigint key into classid (high 32 bits) and objid (low 32), objsubid 1.
    unsigned = advisory_key(course_id) & 0xFFFFFFFFFFFFFFFF
    count = connection.execute(
        text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid = CAST(:hi AS oid) AND objid = CAST(:lo AS oid) AND objsubid = 1 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
            "AND (CAST(:pid AS integer) IS NULL OR pid = CAST(:pid AS integer))"
        ),
        {"hi": unsigned >> 32, "lo": unsigned & 0xFFFFFFFF, "pid": pid},
    ).scalar_one()
    return bool(count)
