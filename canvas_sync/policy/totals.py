"""Selection, totals and at_risk for each student (SPEC §2 "Selection").

Pure: the same snapshot, `now` and config always give the same results, whatever the order of
students, readings and submissions in the input.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime
from functools import partial
from math import isnan
from operator import is_not, itemgetter

from canvas_sync.domain import (
    Assignment,
    CourseSnapshot,
    Exemption,
    PolicyConfig,
    ReadingResult,
    Selection,
    Status,
    Student,
    StudentResult,
    Submission,
)

from ._build import build, build_all, gc_paused
from ._index import index_of
from ._plan import NEVER, Plan, Row, rows

__all__ = [
    "evaluate_course",
    "evaluate_student",
    "required_effective",
]

# Members bound once and compared with `is`: on Python 3.11 `Status.X` is a descriptor lookup
# and hashing an Enum runs Python code, both paid for every (student, reading) of a course.
_ON_TIME_STATUS, _RESUBMITTED = Status.ON_TIME, Status.LATE_RESUBMISSION
_NO_EXEMPTIONS: frozenset[int] = frozenset()
_NO_SUBMISSIONS: dict[int, Submission] = {}
_POLICY_SCORE = itemgetter("policy_score")
_IS_SCORE = partial(is_not, None)


def required_effective(pool: int, excused: int, required: int) -> int:
    """R_eff = min(R, pool − excused) (SPEC §2): required count shrinks with excusals."""
    return max(0, min(required, pool - excused))


def evaluate_student(
    student: Student,
    readings: Sequence[Assignment],
    submissions: Mapping[int, Submission],
    *,
    now: datetime,
    config: PolicyConfig,
    exempted: Collection[int] = (),
) -> StudentResult:
    """Status of every reading, the counted selection and the totals of one student (SPEC §2).

    `submissions` is keyed by assignment id; `exempted` holds assignment ids with a local
    exemption. The student's due date is the submission's `cached_due_date` when Canvas sent a
    row, else `effective_due_date`. Readings come back sorted by due date (None last), then id.
    """
    exempt = exempted if isinstance(exempted, (set, frozenset)) else frozenset(exempted)
    plan = Plan(readings, now, config)
    subs = [submissions.get(r.id) for r in plan.readings]
    return _evaluate(plan, student, subs, exempt)


def _evaluate(
    plan: Plan, student: Student, submissions: Sequence[Submission | None], exempt: Collection[int]
) -> StudentResult:
    """`evaluate_student` on a prepared plan; `submissions` is aligned with `plan.readings`."""
    table, counts = rows(plan, student, submissions, exempt)
    config = plan.config
    r_eff = required_effective(len(table), counts.excused, config.required)
    if config.selection is Selection.FIRST:
        points = _select_first(table, r_eff)
    else:
        points = _select_best(table, r_eff)
    possible = r_eff * config.points_per_summary
    percent = 100.0 * points / possible if possible else 0.0
    return build(
        StudentResult,
        {
            "student": student,
            "readings": build_all(ReadingResult, table),
            "points": points,
            "possible": possible,
            "percent": percent,
            "weighted": percent * config.weight / 100.0,
            "on_time_count": counts.on_time,
            "ungraded_count": counts.ungraded,
            # A reading not seen may still be on time: it never makes a student at risk.
            "at_risk": counts.on_time + counts.pending + counts.unknown < r_eff,
            "submitted_count": counts.submitted,
            "unknown_count": counts.unknown,
        },
    )


def _select_best(table: Sequence[Row], r_eff: int) -> float:
    """`best`: the R_eff highest policy scores; ties → earlier own due date, then assignment id.

    Marks the counted rows of `table`, which is already in (due date, id) order, so ties go to
    the earliest rows, and returns their points. Candidates are the rows with a policy score:
    excused and pending work has none (`classify`), and ungraded on-time work is not a
    candidate yet (the total is provisional).
    """
    if r_eff <= 0:
        return 0.0
    scores = list(filter(_IS_SCORE, map(_POLICY_SCORE, table)))
    if len(scores) <= r_eff:
        return _count(table, (i for i, row in enumerate(table) if row["policy_score"] is not None))
    if any(map(isnan, scores)):  # no order among NaNs: rank exactly as (−score, position)
        ranked = sorted(
            (-row["policy_score"], i)
            for i, row in enumerate(table)
            if row["policy_score"] is not None
        )
        return _count(table, (i for _, i in ranked[:r_eff]))
    # The R_eff-th highest score is the cut: every row above it counts, then the earliest rows
    # equal to it. One float sort (in C) instead of a sort of (score, position) pairs.
    scores.sort(reverse=True)
    cut = scores[r_eff - 1]
    ties = r_eff - scores.index(cut)
    for row in table:
        score = row["policy_score"]
        if score is None or score < cut:
            continue
        if score > cut:
            row["counted"] = True
        elif ties:
            row["counted"] = True
            ties -= 1
    # fsum: exact and independent of order, so the top R_eff values give the same points.
    return math.fsum(scores[:r_eff])


def _select_first(table: Sequence[Row], r_eff: int) -> float:
    """`first`: the first R_eff on-time submissions by submission time fill the slots.

    On-time means ON_TIME or LATE_RESUBMISSION, graded or not: an ungraded one holds its slot and
    adds nothing until graded. Work graded without a submission is placed at its due date. Slots
    left over are filled with the zero items (late, missing) by earliest due date. Marks the
    counted rows of `table` (already in due-date order, which breaks ties); returns their points.
    """
    on_time = [(_submission_time(row), i) for i, row in enumerate(table) if _on_time(row)]
    on_time.sort()
    chosen = [i for _, i in on_time[:r_eff]]
    if len(chosen) < r_eff:
        zeros = [
            i
            for i, row in enumerate(table)
            if not _on_time(row) and row["policy_score"] is not None
        ]
        chosen.extend(zeros[: r_eff - len(chosen)])
    return _count(table, chosen)


def _count(table: Sequence[Row], positions: Iterable[int]) -> float:
    """Marks the rows at `positions` counted; their points (an ungraded one adds nothing)."""
    scores = []
    for i in positions:
        row = table[i]
        row["counted"] = True
        if row["policy_score"] is not None:
            scores.append(row["policy_score"])
    # fsum: exact and independent of the order the scores are added in.
    return math.fsum(scores)


def _submission_time(row: Row) -> tuple[bool, datetime]:
    when = row["submitted_at"] if row["submitted_at"] is not None else row["due_at"]
    return (when is None, NEVER if when is None else when)


def _on_time(row: Row) -> bool:
    """ON_TIME or LATE_RESUBMISSION: an on-time submission exists (SPEC §2 at_risk, `first`)."""
    return row["status"] is _ON_TIME_STATUS or row["status"] is _RESUBMITTED


def evaluate_course(
    snapshot: CourseSnapshot,
    *,
    now: datetime,
    config: PolicyConfig,
    exemptions: Iterable[Exemption] = (),
) -> tuple[StudentResult, ...]:
    """Results of every included student (SPEC §2 "Students"), sorted by (sortable_name, id).

    Excluded enrollments and the test student are skipped. Submissions for other assignments are
    ignored; if Canvas sent two rows for one pair, the one with the highest id is used.
    """
    if now.tzinfo is None:
        raise ValueError("now must be an aware UTC datetime")
    with gc_paused():
        students = sorted(
            (s for s in snapshot.students if s.included), key=lambda s: (s.sortable_name, s.id)
        )
        plan = Plan(snapshot.readings, now, config)
        index = index_of(snapshot)
        exempt: dict[int, set[int]] = {}
        for e in exemptions:
            exempt.setdefault(e.student_id, set()).add(e.assignment_id)
        ids = [r.id for r in plan.readings]
        return tuple(
            [
                _evaluate(
                    plan,
                    s,
                    # This student's row per reading, looked up in C.
                    list(map(index.get(s.id, _NO_SUBMISSIONS).get, ids)),
                    exempt.get(s.id, _NO_EXEMPTIONS),
                )
                for s in students
            ]
        )
