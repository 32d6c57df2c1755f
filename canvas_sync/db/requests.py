"""Manual triggers for a running daemon (`sync_requests`) and the daemons' own rows (`daemons`).

A request goes pending → running (claimed by one daemon) → done | failed. Claiming is one
conditional UPDATE, so two daemons polling the same PostgreSQL database never both take it
(SPEC §9: several daemons split the work). Functions take a `Session`; the caller owns the
transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from canvas_sync.db.models import DaemonRow, SyncRequestRow, SyncRunRow

__all__ = [
    "DaemonInfo",
    "SyncRequest",
    "claim",
    "enqueue",
    "fail_claimed_by",
    "fail_orphaned",
    "finish",
    "get",
    "is_alive",
    "live_daemons",
    "pending",
    "recent",
    "remove_daemon",
    "run_between",
    "running_runs",
    "upsert_daemon",
]


@dataclass(frozen=True)
class SyncRequest:
    id: int
    course_id: int
    requested_at: datetime
    requested_by: str
    full: bool
    state: str
    claimed_by: str | None
    run_id: int | None
    finished_at: datetime | None
    error: str | None


@dataclass(frozen=True)
class DaemonInfo:
    holder: str
    started_at: datetime
    heartbeat_at: datetime
    course_ids: tuple[int, ...]
    next_runs: tuple[dict[str, Any], ...]


def _request(row: SyncRequestRow) -> SyncRequest:
    return SyncRequest(
        row.id,
        row.course_id,
        row.requested_at,
        row.requested_by,
        row.full,
        row.state,
        row.claimed_by,
        row.run_id,
        row.finished_at,
        row.error,
    )


def enqueue(session: Session, course_id: int, *, by: str, full: bool, now: datetime) -> int:
    row = SyncRequestRow(
        course_id=course_id, requested_at=now, requested_by=by, full=full, state="pending"
    )
    session.add(row)
    session.flush()
    return row.id


def get(session: Session, request_id: int) -> SyncRequest | None:
    row = session.get(SyncRequestRow, request_id, populate_existing=True)
    return None if row is None else _request(row)


def pending(session: Session, course_ids: Sequence[int]) -> list[SyncRequest]:
    rows = session.scalars(
        select(SyncRequestRow)
        .where(SyncRequestRow.course_id.in_(list(course_ids)), SyncRequestRow.state == "pending")
        .order_by(SyncRequestRow.id)
    )
    return [_request(r) for r in rows]


def recent(session: Session, course_id: int, limit: int = 5) -> list[SyncRequest]:
    """The course's latest trigger requests, newest first (for status and the dashboard)."""
    rows = session.scalars(
        select(SyncRequestRow)
        .where(SyncRequestRow.course_id == course_id)
        .order_by(SyncRequestRow.id.desc())
        .limit(limit)
    )
    return [_request(r) for r in rows]


def claim(session: Session, request_id: int, claimer: str) -> bool:
    """pending → running for `claimer`; False when another daemon (or a timeout) got there first."""
    result = session.execute(
        update(SyncRequestRow)
        .where(SyncRequestRow.id == request_id, SyncRequestRow.state == "pending")
        .values(state="running", claimed_by=claimer)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def finish(
    session: Session,
    request_id: int,
    *,
    state: str,
    now: datetime,
    run_id: int | None = None,
    error: str | None = None,
    only_if: str | None = None,
) -> bool:
    """Close a request (done | failed). `only_if` guards the transition (e.g. only if pending)."""
    query = update(SyncRequestRow).where(SyncRequestRow.id == request_id)
    if only_if is not None:
        query = query.where(SyncRequestRow.state == only_if)
    result = session.execute(query.values(state=state, finished_at=now, run_id=run_id, error=error))
    return bool(result.rowcount)  # type: ignore[attr-defined]


def fail_claimed_by(session: Session, claimer: str, *, error: str, now: datetime) -> int:
    """A stopping daemon fails the requests it claimed but did not finish."""
    result = session.execute(
        update(SyncRequestRow)
        .where(SyncRequestRow.claimed_by == claimer, SyncRequestRow.state == "running")
        .values(state="failed", finished_at=now, error=error)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def fail_orphaned(session: Session, *, alive_since: datetime, error: str, now: datetime) -> int:
    """Fail the running requests whose daemon has died (no heartbeat since `alive_since`).

    A SIGKILLed or powered-off daemon cannot fail its own claims, and the person waiting on
    `canvas-sync trigger` would otherwise wait forever.
    """
    alive = select(DaemonRow.holder).where(DaemonRow.heartbeat_at >= alive_since)
    result = session.execute(
        update(SyncRequestRow)
        .where(SyncRequestRow.state == "running", SyncRequestRow.claimed_by.not_in(alive))
        .values(state="failed", finished_at=now, error=error)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def run_between(
    session: Session, course_id: int, host: str, pid: int, since: datetime
) -> int | None:
    """The latest run this process started for the course since `since` (a failed sync's id)."""
    return session.scalars(
        select(SyncRunRow.id)
        .where(
            SyncRunRow.course_id == course_id,
            SyncRunRow.host == host,
            SyncRunRow.pid == pid,
            SyncRunRow.started_at >= since,
        )
        .order_by(SyncRunRow.id.desc())
        .limit(1)
    ).first()


def running_runs(session: Session, host: str, pid: int) -> list[int]:
    """Runs this process left 'running' (to be marked interrupted when it must exit)."""
    return list(
        session.scalars(
            select(SyncRunRow.id).where(
                SyncRunRow.status == "running", SyncRunRow.host == host, SyncRunRow.pid == pid
            )
        )
    )


# --- daemons --------------------------------------------------------------------------------


def upsert_daemon(
    session: Session,
    holder: str,
    *,
    started_at: datetime,
    now: datetime,
    course_ids: Sequence[int],
    next_runs: Sequence[dict[str, Any]],
) -> None:
    row = session.get(DaemonRow, holder)
    if row is None:
        row = DaemonRow(holder=holder, started_at=started_at)
        session.add(row)
    row.heartbeat_at, row.course_ids, row.next_runs = now, list(course_ids), list(next_runs)


def is_alive(session: Session, holder: str, *, since: datetime) -> bool:
    """Whether the daemon `holder` has sent a heartbeat since `since`."""
    found = session.scalar(
        select(DaemonRow.holder).where(DaemonRow.holder == holder, DaemonRow.heartbeat_at >= since)
    )
    return found is not None


def remove_daemon(session: Session, holder: str) -> None:
    session.execute(delete(DaemonRow).where(DaemonRow.holder == holder))


def live_daemons(session: Session, *, since: datetime) -> list[DaemonInfo]:
    """Daemons whose heartbeat is newer than `since` (older rows are dead processes)."""
    rows = session.scalars(
        select(DaemonRow).where(DaemonRow.heartbeat_at >= since).order_by(DaemonRow.holder)
    )
    return [
        DaemonInfo(
            r.holder,
            r.started_at,
            r.heartbeat_at,
            tuple(int(c) for c in r.course_ids),
            tuple(dict(n) for n in r.next_runs),
        )
        for r in rows
    ]
