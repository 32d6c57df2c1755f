"""What TAs do with the stored course: list and resolve discrepancies, exempt, report (SPEC §3,
§4 exemptions, §6). Nothing here talks to Canvas."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from canvas_sync import policy, report
from canvas_sync.db import Session, records
from canvas_sync.domain import DiscrepancyRecord, Kind, Severity, Status
from canvas_sync.errors import UsageError
from canvas_sync.report import Report
from canvas_sync.service.core import POLICY_KINDS, Evaluation, evaluate_stored, open_database
from canvas_sync.settings import Settings

__all__ = [
    "DiscrepancyList",
    "Exemption",
    "add_exemption",
    "build_report",
    "list_discrepancies",
    "resolve_discrepancy",
    "review_discrepancies",
]

_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
#: Statuses an exemption from the late rule changes nothing for (yet).
_NOT_LATE = {Status.ON_TIME: "on time", Status.EXCUSED: "excused", Status.PENDING: "not due yet"}


@dataclass(frozen=True)
class DiscrepancyList:
    """Discrepancies as a TA reads them: errors first, with student names and reading labels."""

    items: tuple[DiscrepancyRecord, ...]
    students: Mapping[int, str]
    readings: Mapping[int, str]

    def student(self, record: DiscrepancyRecord) -> str:
        sid = record.student_id
        return "" if sid is None else f"{self.students.get(sid, 'student')} ({sid})"

    def reading(self, record: DiscrepancyRecord) -> str:
        aid = record.assignment_id
        return "" if aid is None else self.readings.get(aid, f"assignment {aid}")


@dataclass(frozen=True)
class Exemption:
    """What `exempt` stored, and what it changed: `was` is the reading's status before."""

    student_id: int
    assignment_id: int
    reading: str
    was: Status
    at_risk_before: bool
    at_risk_after: bool

    @property
    def warning(self) -> str | None:
        """Why the exemption changes nothing yet, if it does not (the reading is not late)."""
        if self.was not in _NOT_LATE:
            return None
        return (
            f"{self.reading} is {_NOT_LATE[self.was]} for this student, so the exemption "
            "changes nothing now; it applies if the work becomes late or missing."
        )


def _now() -> datetime:
    return datetime.now(UTC)


def _one_student(
    session: Session, course_id: int, student: str, among: Collection[int] | None = None
) -> int:
    """The Canvas id of the one student `student` names (Canvas id, SIS id or login)."""
    ids = records.find_student_ids(session, course_id, student)
    if among is not None:
        ids = [i for i in ids if i in among]
    if len(ids) != 1:
        raise UsageError(
            f"No single student matches {student!r}; give a Canvas id, SIS id or login."
        )
    return ids[0]


def list_discrepancies(
    settings: Settings,
    *,
    state: str | None = None,
    kind: str | None = None,
    student_id: int | None = None,
) -> list[DiscrepancyRecord]:
    _check_filters(state=state, kind=kind)
    database = open_database(settings)
    try:
        with database.transaction() as session:
            return records.list_discrepancies(
                session, settings.course_id, state=state, kind=kind, student_id=student_id
            )
    finally:
        database.dispose()


def _check_filters(
    *, state: str | None = None, kind: str | None = None, severity: str | None = None
) -> None:
    if kind is not None and kind not in {k.value for k in Kind}:
        kinds = ", ".join(k.value for k in Kind)
        raise UsageError(f"Unknown discrepancy kind {kind!r}; use one of: {kinds}.")
    if state is not None and state not in records.STATES:
        raise UsageError(f"Unknown state {state!r}; use open, acknowledged, resolved or all.")
    if severity is not None and severity not in {s.value for s in Severity}:
        raise UsageError(f"Unknown severity {severity!r}; use error, warning or info.")


def review_discrepancies(
    settings: Settings,
    *,
    state: str | None = "open",
    severity: str | None = None,
    kind: str | None = None,
    student: str | None = None,
) -> DiscrepancyList:
    """`discrepancies`: open ones by default (state None: all), errors first, then by id."""
    _check_filters(state=state, kind=kind, severity=severity)
    database = open_database(settings)
    try:
        with database.transaction() as session:
            evaluation = evaluate_stored(session, settings, _now())
            sid = None if student is None else _one_student(session, settings.course_id, student)
            found = records.list_discrepancies(
                session, settings.course_id, state=state, kind=kind, student_id=sid
            )
    finally:
        database.dispose()
    if severity is not None:
        found = [d for d in found if d.severity.value == severity]
    found.sort(key=lambda d: (_RANK[d.severity], d.id))
    students = {s.id: s.name for s in evaluation.snapshot.students}
    return DiscrepancyList(tuple(found), students, _reading_names(evaluation))


def _reading_names(evaluation: Evaluation) -> dict[int, str]:
    """Assignment id → "R07 LoRA: …", the names the report and push use."""
    return policy.reading_names(evaluation.results)


def resolve_discrepancy(
    settings: Settings, discrepancy_id: int, *, note: str, acknowledge: bool, by: str
) -> DiscrepancyRecord:
    database = open_database(settings)
    try:
        with database.transaction() as session:
            found = records.get_discrepancy(session, settings.course_id, discrepancy_id)
            if found is None:
                raise UsageError(
                    f"No discrepancy {discrepancy_id} in course {settings.course_id}; "
                    "list them with 'canvas-sync discrepancies'."
                )
            state = "acknowledged" if acknowledge else "resolved"
            records.set_discrepancy_state(
                session, discrepancy_id, state, by=by, note=note, now=_now()
            )
            result = records.get_discrepancy(session, settings.course_id, discrepancy_id)
            assert result is not None
            return result
    finally:
        database.dispose()


def add_exemption(
    settings: Settings, student: str, reading: str, *, reason: str, by: str
) -> Exemption:
    """Exempt (student, reading) from the late rule (SPEC §4), then re-evaluate at once, so
    `at_risk` and the other findings are fresh right after it, not at the next sync."""
    if not reason.strip():
        raise UsageError("An exemption needs a reason: pass --reason TEXT.")
    database = open_database(settings)
    try:
        with database.transaction() as session:
            moment = _now()
            before = evaluate_stored(session, settings, moment)
            included = {s.id for s in before.snapshot.students if s.included}
            student_id = _one_student(session, settings.course_id, student, included)
            aid = _one_reading(before, reading)
            records.add_exemption(
                session, settings.course_id, student_id, aid, reason, by=by, now=moment
            )
            session.flush()
            after = evaluate_stored(session, settings, moment)
            records.store_findings(
                session, settings.course_id, after.findings, moment, kinds=POLICY_KINDS
            )
    finally:
        database.dispose()
    old = next(r for r in before.results if r.student.id == student_id)
    new = next(r for r in after.results if r.student.id == student_id)
    was = next(r.status for r in old.readings if r.assignment_id == aid)
    name = _reading_names(before)[aid]
    return Exemption(student_id, aid, name, was, old.at_risk, new.at_risk)


def _label_number(name: str) -> int | None:
    token = name.split(" ", 1)[0]
    return int(token[1:]) if re.fullmatch(r"R\d+", token) else None


def _one_reading(evaluation: Evaluation, reading: str) -> int:
    """The reading `reading` names: its label ("R07"), Canvas id or a unique part of its title."""
    names = _reading_names(evaluation)
    text = reading.strip().lower()
    hits = [a for a, n in names.items() if text.isdigit() and a == int(text)]
    if re.fullmatch(r"r\d+", text):  # a label, padded or not: "R07", "r7"
        hits = hits or [a for a, n in names.items() if _label_number(n) == int(text[1:])]
    hits = hits or [a.id for a in evaluation.snapshot.readings if text in a.name.lower()]
    if len(hits) != 1:
        what = "matches no reading" if not hits else f"matches {len(hits)} readings"
        raise UsageError(
            f"{reading!r} {what}; give a reading label (R07), id or a unique part of its title."
        )
    return hits[0]


def build_report(
    settings: Settings, *, student: str | None = None, now: datetime | None = None
) -> Report:
    """The SPEC §6 report of the stored course (open and acknowledged discrepancies)."""
    moment = now or _now()
    database = open_database(settings)
    try:
        with database.transaction() as session:
            evaluation = evaluate_stored(session, settings, moment)
            student_id = (
                None if student is None else _one_student(session, settings.course_id, student)
            )
            items = [
                d
                for d in records.list_discrepancies(session, settings.course_id)
                if d.state != "resolved"
            ]
    finally:
        database.dispose()
    return report.build_report(
        evaluation.snapshot.course,
        settings.policy,
        pool=len(evaluation.readings.reading_ids),
        results=evaluation.results,
        discrepancies=items,
        generated_at=moment,
        student_id=student_id,
    )
