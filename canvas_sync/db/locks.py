"""One sync per course at a time, across processes and machines (SPEC §9, STYLE 13).

PostgreSQL: `pg_try_advisory_lock(key)` on a dedicated connection held for the whole run; the
server drops it when that connection dies, so a SIGKILLed holder frees the course at once. The
`sync_locks` row beside it only says who holds it and since when.

SQLite has no advisory locks: the `sync_locks` row IS the lock, with a lease renewed by a
heartbeat thread. A holder that dies (SIGKILL, power loss) stops renewing and its lease expires,
after which the next acquirer takes the row over.

A lock is a fact, not a hope: before a sync commits it calls `LockHandle.confirm` inside its
writing transaction. That renews our row with a conditional UPDATE (zero rows: someone took the
course over) which also holds the row until the commit, so a process that takes the course over
after the check blocks on the row until we are done; on PostgreSQL it also checks in `pg_locks`
that the backend holding our advisory lock still holds it (a terminated backend drops it).

Ownership is the pair (holder, acquired_at): one process may run several courses (and, through
the daemon's thread pool, try the same course twice), so "host:pid" alone cannot tell its own
attempts apart, while a second acquisition can never get the same instant as a live one.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, tzinfo
from types import TracebackType
from typing import Self

from sqlalchemy import Connection, Delete, Update, delete, insert, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError
from sqlalchemy.orm import Session

from canvas_sync.db._lock_holders import (
    APP_PREFIX,
    LockInfo,
    advisory_held,
    advisory_key,
    default_holder,
    holder_of,
    refusal,
    utc_now,
)
from canvas_sync.db.models import SyncLockRow
from canvas_sync.db.session import Database, database_errors
from canvas_sync.errors import LockLost

__all__ = [
    "DEFAULT_LEASE_SECONDS",
    "LockHandle",
    "LockInfo",
    "acquire",
    "advisory_key",
    "clear_holder",
    "default_holder",
    "holder_of",
]

logger = logging.getLogger("canvas_sync.db.locks")

#: How long a SQLite lock row stays valid without a heartbeat (renewed every third of it).
DEFAULT_LEASE_SECONDS = 60.0
_POLL_SECONDS = 0.2


class LockHandle:
    """A held course lock; a context manager that releases it (and stops its heartbeat)."""

    def __init__(
        self,
        database: Database,
        info: LockInfo,
        *,
        lease_seconds: float,
        connection: Connection | None,
        backend_pid: int | None = None,
        during: str = "sync",
    ) -> None:
        self.database = database
        self.during = during  # "sync" or "push": what a LockLost says was left undone
        self.info = info
        self.lease_seconds = lease_seconds
        self._connection = connection  # PostgreSQL: the session that owns the advisory lock
        self._backend_pid = backend_pid  # ... and its server process, seen from pg_locks
        self._stop = threading.Event()
        self.lost = threading.Event()
        self._thread = threading.Thread(
            target=self._heartbeat, name=f"lock-heartbeat-{info.course_id}", daemon=True
        )
        self._thread.start()

    def _heartbeat(self) -> None:
        """Renew the lease every third of it; if the row was taken over, flag the loss."""
        while not self._stop.wait(self.lease_seconds / 3):
            try:
                if not _renew(self.database, self.info, self.lease_seconds):
                    self.lost.set()
                    logger.warning(
                        "event=lock_lost course=%s holder=%s",
                        self.info.course_id,
                        self.info.holder,
                    )
                    return
            except (OperationalError, DBAPIError) as exc:  # busy database: try next beat
                logger.warning(
                    "event=lock_renew_failed course=%s error=%s", self.info.course_id, exc
                )

    def confirm(self, session: Session) -> None:
        """Inside the writing transaction: raise `LockLost` unless we still hold the course.

        Renewing our row takes its row lock (SQLite: the write lock) until the commit, so nobody
        can take the course over between this check and the commit.
        """
        lease = utc_now() + timedelta(seconds=self.lease_seconds)
        renewed = session.connection().execute(_renew_ours(self.info, lease)).rowcount
        held = bool(renewed) and not self.lost.is_set()
        if held and self._backend_pid is not None:
            held = advisory_held(session.connection(), self.info.course_id, self._backend_pid)
        if not held:
            self.lost.set()
            raise LockLost(_lost_sentence(self.info.course_id, self.during))

    def check(self) -> None:
        """`confirm` in a transaction of its own: before a write that is not to the database."""
        with self.database.transaction() as session:
            self.confirm(session)

    def release(self) -> None:
        """Stop the heartbeat, delete our row, drop the advisory lock. Idempotent.

        Never raises for a database that went away: the advisory lock died with its session and
        a SQLite lease expires, and the error that ended the run is the one worth showing.
        """
        if self._stop.is_set():
            return
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            with self.database.engine.begin() as connection:
                connection.execute(_delete_ours(self.info))
        except DBAPIError as exc:
            logger.warning("event=lock_release_failed course=%s error=%s", self.info.course_id, exc)
        if self._connection is not None:
            try:
                self._connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"),
                    {"key": advisory_key(self.info.course_id)},
                )
                self._connection.commit()
            except DBAPIError:  # the session is gone, and its advisory lock with it
                pass
            finally:
                self._connection.close()
                self._connection = None

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _lost_sentence(course_id: int, during: str) -> str:
    why = "its database session ended or another process took the course over"
    if during == "push":
        return (
            f"Lost the lock of course {course_id} during push ({why}); stopped before the next "
            "write to Canvas: run push again, it settles what was already sent."
        )
    return (
        f"Lost the sync lock of course {course_id} before committing ({why}); nothing was "
        "written: run the sync again."
    )


def _delete_ours(info: LockInfo) -> Delete:
    return delete(SyncLockRow).where(
        SyncLockRow.course_id == info.course_id,
        SyncLockRow.holder == info.holder,
        SyncLockRow.acquired_at == info.acquired_at,
    )


def _renew_ours(info: LockInfo, lease_until: datetime) -> Update:
    return (
        update(SyncLockRow)
        .where(
            SyncLockRow.course_id == info.course_id,
            SyncLockRow.holder == info.holder,
            SyncLockRow.acquired_at == info.acquired_at,
        )
        .values(lease_until=lease_until)
    )


def _renew(database: Database, info: LockInfo, lease_seconds: float) -> bool:
    with database.engine.begin() as connection:
        lease = utc_now() + timedelta(seconds=lease_seconds)
        return bool(connection.execute(_renew_ours(info, lease)).rowcount)


def _claim_row(connection: Connection, info: LockInfo, *, force: bool) -> bool:
    """Take the course's row: a fresh insert, or over an expired (or, with `force`, any) row.

    The conditional UPDATE and the INSERT are each atomic, so two racing processes cannot both
    win: one updates zero rows or hits the primary key.
    """
    stale = SyncLockRow.course_id == info.course_id
    if not force:
        expired = SyncLockRow.lease_until < info.acquired_at
        dead = _dead_local_holder(connection, info.course_id)
        if dead is not None:  # exactly that row: two racing takers cannot both win
            expired = expired | (
                (SyncLockRow.holder == dead[0]) & (SyncLockRow.acquired_at == dead[1])
            )
        stale = stale & expired
    values = {
        "holder": info.holder,
        "acquired_at": info.acquired_at,
        "lease_until": info.lease_until,
    }
    if connection.execute(update(SyncLockRow).where(stale).values(**values)).rowcount:
        return True
    # Raises IntegrityError when another process inserted first; the caller's transaction
    # then rolls back (it changed nothing) and counts the attempt as lost.
    connection.execute(insert(SyncLockRow).values(course_id=info.course_id, **values))
    return True


def _dead_local_holder(connection: Connection, course_id: int) -> tuple[str, datetime] | None:
    """The row's (holder, acquired_at) when its holder is a process of this host that is gone.

    A SIGKILLed sync on this machine need not block the course until its lease runs out. A
    reused pid looks alive, which only means waiting for the lease, as before.
    """
    row = connection.execute(
        select(SyncLockRow.holder, SyncLockRow.acquired_at).where(
            SyncLockRow.course_id == course_id
        )
    ).first()
    if row is None:
        return None
    host, _, pid = row.holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return row.holder, row.acquired_at
    except PermissionError:  # alive, owned by another user
        return None
    return None


def _try_sqlite(database: Database, info: LockInfo, budget: float) -> bool:
    with database.engine.connect() as connection:
        # A long sync transaction elsewhere holds SQLite's write lock; do not sit in the 30 s
        # busy timeout longer than the caller is willing to wait.
        busy_ms = int(max(0.05, min(budget, 30.0)) * 1000)
        try:
            with connection.begin():
                connection.exec_driver_sql(f"PRAGMA busy_timeout={busy_ms}")
                return _claim_row(connection, info, force=False)
        except (OperationalError, IntegrityError):  # locked database, or lost the insert race
            return False
        finally:
            with connection.begin():
                connection.exec_driver_sql("PRAGMA busy_timeout=30000")


def _try_postgres(database: Database, info: LockInfo) -> tuple[Connection, int] | None:
    """The connection holding the course's advisory lock and its backend pid, or None."""
    connection = database.engine.connect()
    try:
        # The session is named after its holder, so a refusal can name `host:pid` even in the
        # instant between taking the advisory lock and writing the row.
        got, pid = connection.execute(
            text(
                "SELECT pg_try_advisory_lock(:key), pg_backend_pid(), "
                "set_config('application_name', :name, false)"
            ),
            {"key": advisory_key(info.course_id), "name": APP_PREFIX + info.holder},
        ).one()[:2]
        connection.commit()  # the advisory lock is session-level: it outlives this transaction
        if not got:
            connection.close()
            return None
        with database.engine.begin() as writer:
            _claim_row(writer, info, force=True)  # we own the course: any old row is stale
        return connection, int(pid)
    except BaseException:
        connection.close()
        raise


def acquire(
    database: Database,
    course_id: int,
    holder: str | None = None,
    *,
    wait_seconds: float,
    lease_seconds: float = DEFAULT_LEASE_SECONDS,
    now: Callable[[], datetime] = utc_now,
    zone: tzinfo = UTC,
    during: str = "sync",
) -> LockHandle:
    """Take the course's sync lock, waiting up to `wait_seconds` (SPEC §9).

    Raises `LockTimeout` naming the holder and since when (in `zone`, the course time zone a
    person reads) if it stays taken. `during` ("sync" or "push") is what the holder does.
    """
    who = holder or default_holder()
    deadline = time.monotonic() + max(0.0, wait_seconds)
    while True:
        moment = now()
        info = LockInfo(course_id, who, moment, moment + timedelta(seconds=lease_seconds))
        budget = deadline - time.monotonic()
        if database.dialect == "postgresql":
            with database_errors():
                held = _try_postgres(database, info)
            if held is not None:
                return LockHandle(
                    database,
                    info,
                    lease_seconds=lease_seconds,
                    connection=held[0],
                    backend_pid=held[1],
                    during=during,
                )
        elif _try_sqlite(database, info, budget):
            return LockHandle(
                database, info, lease_seconds=lease_seconds, connection=None, during=during
            )
        if time.monotonic() >= deadline:
            raise refusal(database, course_id, wait_seconds, zone)
        time.sleep(min(_POLL_SECONDS, max(0.0, deadline - time.monotonic())))


def clear_holder(database: Database, holder: str) -> int:
    """Delete every lock row `holder` left (a daemon's last act when it must exit mid-run)."""
    with database.engine.begin() as connection:
        return int(
            connection.execute(delete(SyncLockRow).where(SyncLockRow.holder == holder)).rowcount
        )
