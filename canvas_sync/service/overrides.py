"""Human edits found by every sync (issue 9): a cell this service wrote (per the push journal)
that Canvas now holds differently is an open `manual_override` right after the sync that sees
it, not only at the next push (with `push.auto` off, the default, a TA would never learn of it).

The same rule as push's plan (`push.plan.build_plan`, "humans win"), run on what the sync just
stored. The custom column is not pulled by a sync, so its overrides stay as push last left them.

A sync evaluates its course a batch of students at a time (service/core.py): `SyncOverrides`
hears every batch and keeps only what the check needs, the policy results (the plan names each
reading by its place in the whole course) and the submission rows of cells this service wrote
(only a written cell can be overridden: `push.plan._decide`); nothing when it never wrote.
"""

from __future__ import annotations

from datetime import datetime

from canvas_sync.db import Session, journal, records
from canvas_sync.domain import Finding, Kind, StudentResult, Submission
from canvas_sync.push import PlanInputs, Target, Written, build_plan
from canvas_sync.push.plan import planning_row
from canvas_sync.service._evaluation import Batch
from canvas_sync.settings import Settings

__all__ = ["SyncOverrides"]


class SyncOverrides:
    """The grade and total cells a human changed since this service wrote them: `add` each
    evaluated batch, then `store` the findings.

    `last`: the journal's last word per cell. Push collects more of each batch for its plan
    (service/_push_plan.py `PlanSource`, a SyncOverrides) and hands it to its own sync, so one
    collection serves both: a superset of the rows kept here finds the same overrides."""

    def __init__(self, last: dict[tuple[str, int, int | None], journal.LastWord]) -> None:
        self.last = last
        self.results: list[StudentResult] = []
        self.cells: dict[tuple[int, int], Submission] = {}
        self._written = {(s, a) for (_t, s, a) in last if a is not None}

    @classmethod
    def load(cls, session: Session, course_id: int) -> SyncOverrides:
        return cls(journal.last_words(session, course_id))

    def add(self, batch: Batch) -> None:
        """One batch: its policy results and the written reading and total rows."""
        if not self.last:
            return  # this service never wrote to the course: nothing can have been overridden
        self.results += batch.evaluation.results
        for sub in (*batch.evaluation.snapshot.submissions, *batch.totals):
            key = (sub.student_id, sub.assignment_id)
            if key in self._written:
                self.cells[key] = planning_row(sub)

    def store(
        self, session: Session, settings: Settings, now: datetime, total_id: int | None
    ) -> None:
        """Check the batches added and store the findings (`total_id`: the total assignment)."""
        if not self.last:
            return
        course_id = settings.course_id
        exempt = records.list_exemptions(session, course_id)
        results = sorted(self.results, key=lambda r: (r.student.sortable_name, r.student.id))
        plan = build_plan(
            PlanInputs(
                results=results,
                submissions=self.cells,
                time_zone=settings.time_zone,
                written={
                    (Target(t), s, a): Written(e.to_value, e.state)
                    for (t, s, a), e in self.last.items()
                },
                exemptions={(e.student_id, e.assignment_id) for e in exempt},
                total_assignment_id=total_id,
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
