"""Sync runs, discrepancies (with their review lifecycle) and local exemptions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import func, insert, or_, select, update
from sqlalchemy.orm import Session

from canvas_sync.db.models import DiscrepancyRow, ExemptionRow, StudentRow, SyncRunRow
from canvas_sync.domain import DiscrepancyRecord, Exemption, Finding, Kind, Severity

__all__ = [
    "FindingStore",
    "RunRecord",
    "add_exemption",
    "find_student_ids",
    "finish_run",
    "get_discrepancy",
    "interrupt_orphaned_runs",
    "last_runs",
    "list_discrepancies",
    "list_exemptions",
    "open_by_severity",
    "set_discrepancy_state",
    "start_run",
    "store_findings",
]

STATES = ("open", "acknowledged", "resolved")


@dataclass(frozen=True)
class RunRecord:
    id: int
    course_id: int
    trigger: str
    mode: str
    status: str
    started_at: datetime
    finished_at: datetime | None
    students: int
    assignments: int
    submissions: int
    changed: int
    requests: int
    error: str | None


# --- runs -----------------------------------------------------------------------------------


def start_run(
    session: Session, course_id: int, trigger: str, mode: str, now: datetime, host: str, pid: int
) -> int:
    row = SyncRunRow(
        course_id=course_id,
        trigger=trigger,
        mode=mode,
        status="running",
        started_at=now,
        host=host,
        pid=pid,
    )
    session.add(row)
    session.flush()
    return row.id


def interrupt_orphaned_runs(session: Session, course_id: int, now: datetime) -> int:
    """Record as interrupted the course's runs still marked running.

    Called by a sync that holds the course lock: no other sync of the course can be running, so
    such a row belongs to a process that died mid-run (SIGKILL, power loss) and never said so.
    """
    result = session.execute(
        update(SyncRunRow)
        .where(SyncRunRow.course_id == course_id, SyncRunRow.status == "running")
        .values(
            status="interrupted",
            finished_at=now,
            error="The process running this sync stopped before it finished.",
        )
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def finish_run(
    session: Session,
    run_id: int,
    *,
    status: str,
    now: datetime,
    mode: str | None = None,
    counts: dict[str, int] | None = None,
    requests: int = 0,
    error: str | None = None,
) -> None:
    row = session.get(SyncRunRow, run_id)
    assert row is not None
    row.status, row.finished_at, row.requests, row.error = status, now, requests, error
    if mode is not None:
        row.mode = mode
    for key, value in (counts or {}).items():
        setattr(row, key, value)


def last_runs(session: Session, course_id: int, limit: int = 10) -> list[RunRecord]:
    rows = session.scalars(
        select(SyncRunRow)
        .where(SyncRunRow.course_id == course_id)
        .order_by(SyncRunRow.id.desc())
        .limit(limit)
    )
    return [
        RunRecord(
            r.id,
            r.course_id,
            r.trigger,
            r.mode,
            r.status,
            r.started_at,
            r.finished_at,
            r.students,
            r.assignments,
            r.submissions,
            r.changed,
            r.requests,
            r.error,
        )
        for r in rows
    ]


# --- discrepancies --------------------------------------------------------------------------


def _fact_key(finding: Finding) -> str:
    kind, student, assignment = finding.key
    return f"{kind}:{student or '-'}:{assignment or '-'}"


_STORED = (
    DiscrepancyRow.id,
    DiscrepancyRow.fact_key,
    DiscrepancyRow.state,
    DiscrepancyRow.state_changed_by,
    DiscrepancyRow.canvas_value,
    DiscrepancyRow.expected_value,
    DiscrepancyRow.message,
)


class _Stored(NamedTuple):
    """A stored fact as `FindingStore` keeps it: its texts as a digest (a course has thousands
    of facts; their messages are most of their bytes)."""

    id: int
    state: str
    state_changed_by: str | None
    digest: bytes


def _digest(canvas_value: str | None, expected_value: str | None, message: str) -> bytes:
    text = json.dumps([canvas_value, expected_value, message])
    return hashlib.blake2b(text.encode(), digest_size=16).digest()


def store_findings(
    session: Session,
    course_id: int,
    findings: Sequence[Finding],
    now: datetime,
    *,
    kinds: Sequence[Kind] | None = None,
) -> dict[str, int]:
    """Idempotent detection (SPEC §3): the same fact updates its row; a vanished fact resolves.

    `kinds` limits which kinds this detector owns (others, e.g. `manual_override`, are left alone).
    A fact that reappears after being resolved automatically opens again. Set-wise: a sync of a
    large course sees thousands of findings, nearly all unchanged, so rows are read as plain
    columns and written in a few statements (new rows, changed rows, `last_seen` of the rest).
    """
    store = FindingStore(session, course_id, now, kinds=kinds)
    store.add(findings)
    return store.finish()


class FindingStore:
    """`store_findings` fed a part at a time: `add` each part (a sync adds each batch of
    students' findings, never holding the course's), then `finish` resolves what no part
    found. Rows are written CHUNK at a time."""

    def __init__(
        self,
        session: Session,
        course_id: int,
        now: datetime,
        *,
        kinds: Sequence[Kind] | None = None,
    ) -> None:
        owned = [k.value for k in (kinds if kinds is not None else list(Kind))]
        self.session, self.course_id, self.now = session, course_id, now
        session.flush()
        # A stream of plain rows (not the ORM's buffered result), kept compactly.
        rows = session.connection().execute(
            select(*_STORED).where(
                DiscrepancyRow.course_id == course_id, DiscrepancyRow.kind.in_(owned)
            )
        )
        self.stored = {
            r.fact_key: _Stored(
                r.id,
                r.state,
                r.state_changed_by,
                _digest(r.canvas_value, r.expected_value, r.message),
            )
            for r in rows
        }
        self.counts = {"new": 0, "reopened": 0, "auto_resolved": 0}
        self.seen: set[str] = set()
        self.new: list[dict[str, Any]] = []
        self.changes: list[dict[str, Any]] = []

    def add(self, findings: Iterable[Finding]) -> None:
        for finding in findings:
            key = _fact_key(finding)
            if key in self.seen:
                continue  # the same fact twice in one detection is one discrepancy
            self.seen.add(key)
            row = self.stored.get(key)
            if row is None:
                self.new.append(_new_row(self.course_id, key, finding, self.now))
            else:
                change = _seen_again(row, finding, self.now)
                if "state" in change:
                    self.counts["reopened"] += 1
                self.changes.append({"id": row.id, "last_seen": self.now, **change})
            if len(self.new) + len(self.changes) >= _CHUNK:
                self._write()

    def finish(self) -> dict[str, int]:
        for key, row in self.stored.items():
            if key not in self.seen and row.state != "resolved":
                self.changes.append(
                    {
                        "id": row.id,
                        "state": "resolved",
                        "state_changed_at": self.now,
                        "state_changed_by": "auto",
                        "note": "No longer found in Canvas data.",
                    }
                )
                self.counts["auto_resolved"] += 1
        self._write()
        for obj in list(self.session.identity_map.values()):
            if isinstance(obj, DiscrepancyRow):
                self.session.expire(obj)
        return self.counts

    def _write(self) -> None:
        self.session.flush()
        # Nearly every change is a fact seen again: only `last_seen` moves, for all of them at
        # once (an UPDATE by primary key per row cost a sync of 1,000 students 0.2 s). The rest
        # is an UPDATE by primary key, one executemany per set of changed columns. Rows already
        # loaded in the session are expired by `finish`.
        seen = [c["id"] for c in self.changes if c.keys() == {"id", "last_seen"}]
        if seen:
            self.session.execute(
                update(DiscrepancyRow)
                .where(DiscrepancyRow.id.in_(seen))
                .values(last_seen=self.now)
                .execution_options(synchronize_session=False)
            )
        rest = [c for c in self.changes if c.keys() != {"id", "last_seen"}]
        if rest:
            self.session.execute(update(DiscrepancyRow), rest)
        if self.new:
            # One multi-row INSERT, every column given (None too), not one INSERT per finding:
            # the first sync of a large course stores thousands of findings.
            self.session.execute(
                insert(DiscrepancyRow).execution_options(render_nulls=True), self.new
            )
        self.counts["new"] += len(self.new)
        self.new, self.changes = [], []


#: Discrepancy rows written per round (`FindingStore`).
_CHUNK = 1000


def _seen_again(row: _Stored, finding: Finding, now: datetime) -> dict[str, Any]:
    """The columns a re-detected fact changes besides `last_seen`."""
    change: dict[str, Any] = {}
    if row.state == "resolved" and row.state_changed_by == "auto":
        change.update(state="open", state_changed_at=now, note=None, state_changed_by=None)
    if row.digest != _digest(finding.canvas_value, finding.expected_value, finding.message):
        change.update(
            canvas_value=finding.canvas_value,
            expected_value=finding.expected_value,
            message=finding.message,
        )
    return change


def _new_row(course_id: int, key: str, finding: Finding, now: datetime) -> dict[str, Any]:
    return {
        "course_id": course_id,
        "fact_key": key,
        "kind": finding.kind.value,
        "severity": finding.severity.value,
        "student_id": finding.student_id,
        "assignment_id": finding.assignment_id,
        "canvas_value": finding.canvas_value,
        "expected_value": finding.expected_value,
        "message": finding.message,
        "state": "open",
        "first_seen": now,
        "last_seen": now,
        "state_changed_at": None,
        "state_changed_by": None,
        "note": None,
    }


def _record(row: DiscrepancyRow) -> DiscrepancyRecord:
    return DiscrepancyRecord(
        id=row.id,
        kind=Kind(row.kind),
        student_id=row.student_id,
        assignment_id=row.assignment_id,
        canvas_value=row.canvas_value,
        expected_value=row.expected_value,
        message=row.message,
        state=row.state,
        first_seen=row.first_seen,
        last_seen=row.last_seen,
        resolved_by=row.state_changed_by,
        note=row.note,
    )


def list_discrepancies(
    session: Session,
    course_id: int,
    *,
    state: str | None = None,
    kind: str | None = None,
    student_id: int | None = None,
) -> list[DiscrepancyRecord]:
    query = select(DiscrepancyRow).where(DiscrepancyRow.course_id == course_id)
    if state is not None:
        query = query.where(DiscrepancyRow.state == state)
    if kind is not None:
        query = query.where(DiscrepancyRow.kind == kind)
    if student_id is not None:
        query = query.where(DiscrepancyRow.student_id == student_id)
    return [_record(r) for r in session.scalars(query.order_by(DiscrepancyRow.id))]


def open_by_severity(session: Session, course_id: int) -> dict[str, int]:
    """Open discrepancies per severity (every severity named, 0 when none), counted by SQL
    per kind (a kind's severity is the one `Kind.severity` gives now)."""
    counts = {s.value: 0 for s in Severity}
    rows = session.execute(
        select(DiscrepancyRow.kind, func.count())
        .where(DiscrepancyRow.course_id == course_id, DiscrepancyRow.state == "open")
        .group_by(DiscrepancyRow.kind)
    )
    for kind, count in rows:
        counts[Kind(kind).severity.value] += int(count)
    return counts


def get_discrepancy(
    session: Session, course_id: int, discrepancy_id: int
) -> DiscrepancyRecord | None:
    row = session.get(DiscrepancyRow, discrepancy_id)
    return None if row is None or row.course_id != course_id else _record(row)


def set_discrepancy_state(
    session: Session, discrepancy_id: int, state: str, *, by: str, note: str, now: datetime
) -> None:
    row = session.get(DiscrepancyRow, discrepancy_id)
    assert row is not None and state in STATES
    row.state, row.state_changed_by, row.note, row.state_changed_at = state, by, note, now


# --- exemptions -----------------------------------------------------------------------------


def add_exemption(
    session: Session,
    course_id: int,
    student_id: int,
    assignment_id: int,
    reason: str,
    *,
    by: str,
    now: datetime,
) -> bool:
    """Store (or update the reason of) an exemption; True when it is new."""
    row = session.scalars(
        select(ExemptionRow).where(
            ExemptionRow.course_id == course_id,
            ExemptionRow.student_id == student_id,
            ExemptionRow.assignment_id == assignment_id,
        )
    ).first()
    if row is not None:
        row.reason, row.created_by = reason, by
        return False
    session.add(
        ExemptionRow(
            course_id=course_id,
            student_id=student_id,
            assignment_id=assignment_id,
            reason=reason,
            created_at=now,
            created_by=by,
        )
    )
    return True


def list_exemptions(session: Session, course_id: int) -> list[Exemption]:
    rows = session.scalars(
        select(ExemptionRow).where(ExemptionRow.course_id == course_id).order_by(ExemptionRow.id)
    )
    return [Exemption(r.student_id, r.assignment_id, r.reason) for r in rows]


def find_student_ids(session: Session, course_id: int, needle: str) -> list[int]:
    """Students by Canvas id, SIS id or login id (exact)."""
    query = select(StudentRow.id).where(StudentRow.course_id == course_id)
    conditions = [StudentRow.sis_user_id == needle, StudentRow.login_id == needle]
    if needle.isdigit():
        conditions.append(StudentRow.id == int(needle))
    return sorted(set(session.scalars(query.where(or_(*conditions)))))
