"""Does a planned change still hold? Pure check of fresh Canvas rows against the plan's rows.

Right before writing, push re-reads every cell it is about to zero or overwrite (batched,
push/readback.py) and keeps a change only when Canvas still holds what the plan was made from:
the same value, and a submission that was not submitted, regraded, excused, re-dated or given a
status (late policy or custom) in the meantime. A cell Canvas no longer returns is never written
(an absent row is unknown, not missing). A student with a dropped reading change keeps no total
or column change either: those are derived from the readings, and the next push computes them
from the new state.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from canvas_sync.domain import Submission
from canvas_sync.push.plan import PushAction, PushPlan, Target, canvas_value, same_value

__all__ = ["PREMISE_FIELDS", "Rechecked", "recheck"]

#: What a plan's decision rests on besides the value itself.
PREMISE_FIELDS = (
    "submitted_at",
    "cached_due_date",
    "attempt",
    "workflow_state",
    "excused",
    "late_policy_status",
    "custom_grade_status_id",
    "grader_id",
)


@dataclass(frozen=True)
class Rechecked:
    plan: PushPlan
    dropped: tuple[tuple[PushAction, str], ...] = ()


def _why(action: PushAction, before: Submission | None, fresh: Submission | None) -> str | None:
    if fresh is None:
        return "Canvas returned no submission for it"
    if not same_value(canvas_value(fresh), action.from_value):
        return f"Canvas now holds {canvas_value(fresh) or 'nothing'}"
    if fresh.excused:
        return "it was excused"
    if before is not None:
        for name in PREMISE_FIELDS:
            if getattr(before, name) != getattr(fresh, name):
                return f"its {name.replace('_', ' ')} changed"
        # Canvas counts an unsubmitted row's lateness up to now: it only matters once submitted.
        if fresh.submitted_at is not None and before.seconds_late != fresh.seconds_late:
            return "its seconds late changed"
    return None


def recheck(
    plan: PushPlan,
    before: Mapping[tuple[int, int], Submission],
    fresh: Iterable[Submission],
) -> Rechecked:
    """Keep the actions whose premise holds in `fresh` (rows keyed by student, assignment)."""
    now = {(s.student_id, s.assignment_id): s for s in fresh}
    dropped: list[tuple[PushAction, str]] = []
    stale: set[int] = set()
    for action in plan.actions:
        if action.target is Target.COLUMN or action.assignment_id is None:
            continue
        cell = (action.student_id, action.assignment_id)
        why = _why(action, before.get(cell), now.get(cell))
        if why is not None:
            dropped.append((action, why))
            stale.add(action.student_id)
    gone = {a.key for a, _ in dropped}
    for action in plan.actions:
        if (
            action.key not in gone
            and action.student_id in stale
            and action.target
            in (
                Target.TOTAL,
                Target.COLUMN,
            )
        ):
            dropped.append((action, "one of the student's readings changed in Canvas"))
    gone = {a.key for a, _ in dropped}
    kept = tuple(a for a in plan.actions if a.key not in gone)
    return Rechecked(PushPlan(kept, plan.overrides, plan.notes), tuple(dropped))
