"""push/premise.py: a planned change is kept only while Canvas holds what the plan saw."""

from __future__ import annotations

import dataclasses
from datetime import timedelta
from typing import Any

from factories import submission

from canvas_sync.domain import Submission
from canvas_sync.push import PushAction, PushPlan, Target
from canvas_sync.push.premise import recheck


def zero(uid: int, aid: int, before: str | None = None) -> PushAction:
    return PushAction(Target.GRADE, uid, aid, before, "0", None, "missing")


def total(uid: int) -> PushAction:
    return PushAction(Target.TOTAL, uid, 9000, "50", "60", "why", "total")


def column(uid: int) -> PushAction:
    return PushAction(Target.COLUMN, uid, None, "a", "b", None, "counted")


def unsubmitted(uid: int, aid: int, **changes: Any) -> Submission:
    return submission(aid * 10 + uid, uid, aid, submitted_at=None, seconds_late=0, **changes)


def test_unchanged_cells_keep_every_change_and_time_passing_is_no_change() -> None:
    before: dict[tuple[int, int], Submission] = {
        (1, 2001): unsubmitted(1, 2001),
        (1, 9000): submission(9, 1, 9000, score=50.0),
    }
    fresh = [
        dataclasses.replace(before[(1, 2001)], seconds_late=86400),  # Canvas counts up to now
        before[(1, 9000)],
    ]
    plan = PushPlan((zero(1, 2001), total(1), column(1)))
    checked = recheck(plan, before, fresh)
    assert checked.plan.actions == plan.actions and checked.dropped == ()


def test_graded_excused_submitted_or_absent_cells_are_dropped_with_the_students_totals() -> None:
    base = {(u, 2001): unsubmitted(u, 2001) for u in (1, 2, 3, 4, 5)}
    base[(5, 9000)] = submission(95, 5, 9000, score=50.0)
    late = base[(3, 2001)]
    fresh = [
        dataclasses.replace(base[(1, 2001)], entered_score=7.0, score=7.0, grader_id=2),
        dataclasses.replace(base[(2, 2001)], excused=True),
        dataclasses.replace(late, submitted_at=late.cached_due_date + timedelta(hours=1)),
        base[(5, 2001)],
        base[(5, 9000)],
    ]  # student 4's row is not returned: unknown, never zeroed
    plan = PushPlan(
        (*(zero(u, 2001) for u in (1, 2, 3, 4, 5)), total(1), column(1), total(5), column(5))
    )
    checked = recheck(plan, base, fresh)
    reasons = {(a.target, a.student_id): why for a, why in checked.dropped}
    assert reasons[(Target.GRADE, 1)] == "Canvas now holds 7"
    assert reasons[(Target.GRADE, 2)] == "it was excused"
    assert reasons[(Target.GRADE, 3)] == "its submitted at changed"
    assert reasons[(Target.GRADE, 4)] == "Canvas returned no submission for it"
    assert (Target.TOTAL, 1) in reasons and (Target.COLUMN, 1) in reasons
    assert [(a.target, a.student_id) for a in checked.plan.actions] == [
        (Target.GRADE, 5),
        (Target.TOTAL, 5),
        (Target.COLUMN, 5),
    ]
