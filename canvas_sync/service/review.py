"""What TAs do with the stored course: list and resolve discrepancies, exempt, report (SPEC §3,
§4 exemptions, §6). Nothing here talks to Canvas."""

from __future__ import annotations

from collections.abc import Collection
from datetime import UTC, datetime

from canvas_sync import report
from canvas_sync.db import Session, records
from canvas_sync.domain import DiscrepancyRecord, Kind
from canvas_sync.errors import UsageError
from canvas_sync.report import Report
from canvas_sync.service.core import evaluate_stored, open_database
from canvas_sync.settings import Settings

__all__ = ["add_exemption", "build_report", "list_discrepancies", "resolve_discrepancy"]


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
    if kind is not None and kind not in {k.value for k in Kind}:
        kinds = ", ".join(k.value for k in Kind)
        raise UsageError(f"Unknown discrepancy kind {kind!r}; use one of: {kinds}.")
    if state is not None and state not in records.STATES:
        raise UsageError(f"Unknown state {state!r}; use open, acknowledged or resolved.")
    database = open_database(settings)
    try:
        with database.transaction() as session:
            return records.list_discrepancies(
                session, settings.course_id, state=state, kind=kind, student_id=student_id
            )
    finally:
        database.dispose()


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
) -> tuple[int, int, str]:
    """Exempt (student, reading) from the late rule (SPEC §4); returns ids and the reading name."""
    if not reason.strip():
        raise UsageError("An exemption needs a reason: pass --reason TEXT.")
    database = open_database(settings)
    try:
        with database.transaction() as session:
            evaluation = evaluate_stored(session, settings, _now())
            included = {s.id for s in evaluation.snapshot.students if s.included}
            student_id = _one_student(session, settings.course_id, student, included)
            readings = evaluation.snapshot.readings
            hits = [a for a in readings if reading.isdigit() and a.id == int(reading)] or [
                a for a in readings if reading.lower() in a.name.lower()
            ]
            if len(hits) != 1:
                what = "matches no reading" if not hits else f"matches {len(hits)} readings"
                raise UsageError(
                    f"{reading!r} {what}; give a reading id or a unique part of its title."
                )
            records.add_exemption(
                session,
                settings.course_id,
                student_id,
                hits[0].id,
                reason,
                by=by,
                now=_now(),
            )
            return student_id, hits[0].id, hits[0].name
    finally:
        database.dispose()


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
