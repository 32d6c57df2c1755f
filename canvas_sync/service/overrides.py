"""Human edits found by every sync (issue 9): a cell this service wrote (per the push journal)
that Canvas now holds differently is an open `manual_override` right after the sync that sees
it, not only at the next push (with `push.auto` off, the default, a TA would never learn of it).

The same rule as push's plan (`push.plan.build_plan`, "humans win"), run on what the sync just
stored. The custom column is not pulled by a sync, so its overrides stay as push last left them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from canvas_sync.db import Session, journal, records, repo
from canvas_sync.domain import Finding, Kind, StudentResult, Submission
from canvas_sync.push import PlanInputs, Target, Written, build_plan
from canvas_sync.settings import Settings

__all__ = ["store_sync_overrides"]


def store_sync_overrides(
    session: Session,
    settings: Settings,
    results: Sequence[StudentResult],
    readings: Sequence[Submission],
    now: datetime,
) -> None:
    """Store the grade and total cells a human changed since this service wrote them.

    `results` are the sync's policy results, `readings` the reading submissions it evaluated.
    """
    course_id = settings.course_id
    last = journal.last_words(session, course_id)
    if not last:
        return  # this service never wrote to the course: nothing can have been overridden
    assignments = repo.load_assignments(session, course_id)
    total = next((a for a in assignments if a.name == settings.total_assignment), None)
    subs = list(readings)
    if total is not None:
        subs += repo.load_submissions(session, course_id, [total.id])
    exempt = records.list_exemptions(session, course_id)
    words = last.items()
    plan = build_plan(
        PlanInputs(
            results=results,
            submissions={(s.student_id, s.assignment_id): s for s in subs},
            time_zone=settings.time_zone,
            written={(Target(t), s, a): Written(e.to_value, e.state) for (t, s, a), e in words},
            exemptions={(e.student_id, e.assignment_id) for e in exempt},
            total_assignment_id=None if total is None else total.id,
            column_values=None,
            required=settings.policy.required,
        )
    )
    found = [o.finding() for o in plan.overrides] + _column_overrides(session, course_id)
    records.store_findings(session, course_id, found, now, kinds=[Kind.MANUAL_OVERRIDE])


def _column_overrides(session: Session, course_id: int) -> list[Finding]:
    """Open column overrides found by the last push, carried over unchanged (not re-checked)."""
    return [
        Finding(d.kind, d.student_id, d.assignment_id, d.canvas_value, d.expected_value, d.message)
        for d in records.list_discrepancies(session, course_id, kind=Kind.MANUAL_OVERRIDE.value)
        if d.assignment_id is None and d.state != "resolved"
    ]
