"""SPEC §2 selection and totals: best vs first, ties, R_eff, provisional totals, at_risk."""

from __future__ import annotations

import gc
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from canvas_sync.domain import (
    Assignment,
    Course,
    CourseSnapshot,
    Exemption,
    Override,
    PolicyConfig,
    Selection,
    Status,
    Student,
    StudentResult,
    Submission,
)
from canvas_sync.policy import evaluate_course, evaluate_student

START = datetime(2026, 2, 5, 5, 59, 59, tzinfo=UTC)
NOW = datetime(2026, 5, 16, 12, 0, tzinfo=UTC)
ADA = Student(5, "Ada Lovelace", "Lovelace, Ada")
READINGS = tuple(
    Assignment(100 + i, f"Reading {i}", 7, 10.0, START + timedelta(days=3 * i)) for i in range(19)
)
BEST = PolicyConfig()
FIRST = PolicyConfig(selection=Selection.FIRST)


def due(i: int) -> datetime:
    due_at = READINGS[i].due_at
    assert due_at is not None
    return due_at


def on_time(i: int, score: float | None, *, minutes: int = 60, **kw: Any) -> Submission:
    """Reading i submitted `minutes` before its due date."""
    return Submission(
        1000 + i, ADA.id, READINGS[i].id, due(i) - timedelta(minutes=minutes), due(i), score, **kw
    )


def late(i: int, score: float | None = 8.0) -> Submission:
    return Submission(1000 + i, ADA.id, READINGS[i].id, due(i) + timedelta(hours=1), due(i), score)


def excused(i: int) -> Submission:
    return Submission(1000 + i, ADA.id, READINGS[i].id, None, due(i), excused=True)


def rows_of(subs: list[Submission]) -> dict[int, Submission]:
    """The student's rows as Canvas sends them: an unsubmitted placeholder for every reading
    not in `subs` (canvas-lms lib/submission_lifecycle_manager.rb)."""
    rows = {r.id: Submission(1000 + i, ADA.id, r.id, None, due(i)) for i, r in enumerate(READINGS)}
    return rows | {s.assignment_id: s for s in subs}


def evaluate(subs: list[Submission], config: PolicyConfig = BEST, **kw: Any) -> StudentResult:
    return evaluate_student(ADA, READINGS, rows_of(subs), now=NOW, config=config, **kw)


def counted_ids(result: StudentResult) -> set[int]:
    return {r.assignment_id - 100 for r in result.readings if r.counted}


def test_all_on_time_best_takes_the_highest_scores() -> None:
    subs = [on_time(i, float(i % 11)) for i in range(19)]
    result = evaluate(subs)
    scores = sorted((float(i % 11) for i in range(19)), reverse=True)[:14]
    assert result.points == sum(scores)
    assert result.possible == 140
    assert result.percent == 100 * sum(scores) / 140
    assert result.weighted == result.percent * 20 / 100
    assert len(counted_ids(result)) == 14
    assert result.on_time_count == 19 and result.ungraded_count == 0
    assert not result.at_risk and not result.provisional
    assert result.submitted_count == 19


def test_best_ties_go_to_the_earlier_due_date() -> None:
    result = evaluate([on_time(i, 10.0) for i in range(19)])
    assert counted_ids(result) == set(range(14))


def test_best_ties_use_the_students_own_due_date() -> None:
    # Reading 18 is due first for Ada (an override), so it wins the tie over reading 13.
    subs = [on_time(i, 10.0) for i in range(18)]
    early = START - timedelta(days=1)
    subs.append(Submission(1018, ADA.id, READINGS[18].id, early, early, 10.0))
    result = evaluate(subs)
    assert counted_ids(result) == set(range(13)) | {18}
    assert result.readings[0].assignment_id == READINGS[18].id  # sorted by own due date


def test_best_counts_zeros_when_fewer_good_scores() -> None:
    subs = [on_time(i, 9.0) for i in range(10)] + [late(i) for i in range(10, 19)]
    result = evaluate(subs)
    assert result.points == 90.0
    assert counted_ids(result) == set(range(14))  # 10 nines + the 4 earliest zeros
    statuses = {r.assignment_id - 100: r.status for r in result.readings}
    assert statuses[12] is Status.LATE
    assert result.at_risk  # 10 on time, nothing pending, 14 required


def test_first_takes_the_earliest_submissions_not_the_best() -> None:
    # Readings 0-4 score 2, the rest 10: `first` counts 0-13, `best` prefers the tens.
    subs = [on_time(i, 2.0 if i < 5 else 10.0) for i in range(19)]
    first, best = evaluate(subs, FIRST), evaluate(subs, BEST)
    assert counted_ids(first) == set(range(14))
    assert first.points == 5 * 2 + 9 * 10
    assert best.points == 14 * 10
    assert best.points >= first.points


def test_first_orders_by_submission_time_not_due_date() -> None:
    # Reading 18 submitted weeks early: it is among the first 14 submitted.
    subs = [on_time(i, 10.0) for i in range(18)]
    subs.append(on_time(18, 5.0, minutes=60 * 24 * 60))
    result = evaluate(subs, FIRST)
    assert 18 in counted_ids(result)
    assert 13 not in counted_ids(result)
    assert result.points == 13 * 10 + 5


def test_first_ungraded_holds_a_slot_and_makes_the_total_provisional() -> None:
    subs = [on_time(i, 10.0) for i in range(19)]
    subs[2] = on_time(2, None)
    result = evaluate(subs, FIRST)
    ungraded = next(r for r in result.readings if r.assignment_id == READINGS[2].id)
    assert ungraded.counted and ungraded.policy_score is None
    assert counted_ids(result) == set(range(14))
    assert result.points == 130.0
    assert result.provisional and result.ungraded_count == 1


def test_first_fills_missing_slots_with_zeros_by_due_date() -> None:
    subs = [on_time(i, 10.0) for i in range(5, 15)] + [late(i) for i in range(15, 19)]
    result = evaluate(subs, FIRST)  # 0-4 missing, 15-18 late
    assert counted_ids(result) == set(range(5, 15)) | {0, 1, 2, 3}
    assert result.points == 100.0
    assert result.at_risk


def test_best_ungraded_is_not_a_candidate_yet() -> None:
    subs = [on_time(i, 10.0) for i in range(19)]
    subs[0] = on_time(0, None)
    result = evaluate(subs)
    assert 0 not in counted_ids(result)
    assert result.points == 140.0 and result.provisional


def test_excusals_shrink_required_count() -> None:
    # 6 excused → R_eff = min(14, 19 − 6) = 13, possible 130.
    subs = [excused(i) for i in range(6)] + [on_time(i, 10.0) for i in range(6, 19)]
    result = evaluate(subs)
    assert result.possible == 130.0
    assert result.points == 130.0 and result.percent == 100.0
    assert len(counted_ids(result)) == 13
    assert all(not r.counted for r in result.readings if r.status is Status.EXCUSED)
    assert result.submitted_count == 13
    assert not result.at_risk


def test_everything_excused_gives_zero_percent_not_an_error() -> None:
    result = evaluate([excused(i) for i in range(19)])
    assert (result.possible, result.points, result.percent, result.weighted) == (0, 0, 0, 0)
    assert not result.at_risk


def test_pending_keeps_student_off_at_risk() -> None:
    now = due(9) + timedelta(hours=2)  # readings 10-18 not yet due
    subs = [on_time(i, 10.0) for i in range(5)]  # 5 on time, 0-4; 5-9 missing
    result = evaluate_student(ADA, READINGS, rows_of(subs), now=now, config=BEST)
    pending = sum(1 for r in result.readings if r.status is Status.PENDING)
    assert pending == 9
    assert result.on_time_count == 5
    assert sum(1 for r in result.readings if r.status is Status.MISSING) == 5
    assert not result.at_risk  # 5 on time + 9 pending = 14 still reachable


def test_at_risk_boundary() -> None:
    now = due(9) + timedelta(hours=2)
    subs = [on_time(i, 10.0) for i in range(4)]  # 4 on time + 9 pending = 13 < 14
    result = evaluate_student(ADA, READINGS, rows_of(subs), now=now, config=BEST)
    assert result.at_risk
    subs.append(on_time(4, None))  # ungraded still counts as on time: 14, not at risk
    result = evaluate_student(ADA, READINGS, rows_of(subs), now=now, config=BEST)
    assert not result.at_risk and result.on_time_count == 5


def test_out_of_range_scores_are_used_as_canvas_holds_them() -> None:
    subs = [on_time(i, 10.0) for i in range(19)]
    subs[0] = on_time(0, 12.0)
    subs[1] = on_time(1, -1.0)
    result = evaluate(subs)
    assert result.points == 12.0 + 13 * 10.0
    assert result.percent > 100.0  # never clamped


def test_exemption_turns_late_into_on_time_and_missing_into_pending() -> None:
    subs = [on_time(i, 10.0) for i in range(17)] + [late(17, 9.0)]
    result = evaluate(subs, exempted={READINGS[17].id, READINGS[18].id})
    by_id = {r.assignment_id - 100: r for r in result.readings}
    assert (by_id[17].status, by_id[17].policy_score, by_id[17].exempted) == (
        Status.ON_TIME,
        9.0,
        True,
    )
    assert (by_id[18].status, by_id[18].policy_score, by_id[18].exempted) == (
        Status.PENDING,
        None,
        True,
    )
    plain = evaluate(subs)
    assert {r.assignment_id - 100: r.status for r in plain.readings}[18] is Status.MISSING


def test_no_submission_row_is_unknown_never_missing() -> None:
    """Canvas keeps a row for every assigned student: without one the grade is unknown, and
    an unknown reading is never zeroed, never counted and never puts a student at risk."""
    later = NOW + timedelta(days=1)
    overridden = Assignment(
        100, "Reading 0", 7, 10.0, START, overrides=(Override(1, 100, later, student_ids=(5,)),)
    )
    result = evaluate_student(ADA, (overridden,), {}, now=NOW, config=BEST)
    assert result.readings[0].status is Status.UNKNOWN
    assert result.readings[0].due_at == later
    result = evaluate_student(ADA, READINGS, {}, now=NOW, config=BEST)
    assert {r.status for r in result.readings} == {Status.UNKNOWN}
    assert {r.policy_score for r in result.readings} == {None}
    assert result.points == 0.0 and result.possible == 140.0
    assert result.unknown_count == 19 and result.provisional and not result.at_risk


def test_reading_not_assigned_to_the_student_leaves_their_pool() -> None:
    """only_visible_to_overrides without an override for the student, or an unassign_item
    override naming them (canvas-lms lib/effective_due_dates.rb): no row, out of the pool."""
    hidden = Assignment(100, "Reading 0", 7, 10.0, START, only_visible_to_overrides=True)
    unassigned = Assignment(
        101, "Reading 1", 7, 10.0, START,
        overrides=(Override(2, 101, None, student_ids=(5,), unassign_item=True),),
    )  # fmt: skip
    readings = (hidden, unassigned, *READINGS[2:])
    subs = {s.assignment_id: s for s in (on_time(i, 10.0) for i in range(2, 19))}
    subs[101] = late(1)  # a stale row: Canvas soft-deleted it when the student was unassigned
    result = evaluate_student(ADA, readings, subs, now=NOW, config=BEST)
    status = {r.assignment_id: r.status for r in result.readings}
    assert status[100] is status[101] is Status.UNASSIGNED
    assert result.possible == 140.0 and result.points == 140.0 and result.unknown_count == 0
    shown = Assignment(
        100, "Reading 0", 7, 10.0, START, only_visible_to_overrides=True,
        overrides=(Override(3, 100, later_due := START + timedelta(days=2), student_ids=(5,)),),
    )  # fmt: skip
    result = evaluate_student(ADA, (shown,), {}, now=NOW, config=BEST)
    assert (result.readings[0].status, result.readings[0].due_at) == (Status.UNKNOWN, later_due)


def test_readings_sorted_by_own_due_date_none_last() -> None:
    undated = Assignment(1, "Undated", 7, 10.0, None)
    readings = (READINGS[3], undated, READINGS[1])
    result = evaluate_student(ADA, readings, {}, now=NOW, config=BEST)
    assert [r.assignment_id for r in result.readings] == [READINGS[1].id, READINGS[3].id, 1]


def test_evaluate_course_filters_and_sorts_students() -> None:
    students = (
        Student(3, "Zed", "Zulu, Zed"),
        Student(2, "Bob", "Alpha, Bob"),
        Student(1, "Bo", "Alpha, Bob"),
        Student(4, "Test", "Student, Test", is_test_student=True),
        Student(6, "Gone", "Gone, Inactive", enrollment_state="inactive"),
        Student(7, "Inv", "Invited, Ivy", enrollment_state="invited"),
        Student(8, "Done", "Done, Dora", enrollment_state="completed"),
    )
    snap = CourseSnapshot(Course(598, "CS 598"), students, READINGS[:2], ())
    results = evaluate_course(snap, now=NOW, config=BEST)
    assert [r.student.id for r in results] == [1, 2, 8, 3]


def test_evaluate_course_applies_exemptions_to_their_student_only() -> None:
    bob = Student(6, "Bob", "B, Bob")
    subs = (
        late(0),
        Submission(2000, bob.id, READINGS[0].id, due(0) + timedelta(hours=1), due(0), 8.0),
    )
    snap = CourseSnapshot(Course(598, "CS 598"), (ADA, bob), READINGS[:1], subs)
    results = evaluate_course(
        snap, now=NOW, config=BEST, exemptions=[Exemption(ADA.id, READINGS[0].id, "flu")]
    )
    statuses = {r.student.id: r.readings[0].status for r in results}
    assert statuses == {ADA.id: Status.ON_TIME, bob.id: Status.LATE}


def test_evaluate_course_rejects_naive_now() -> None:
    snap = CourseSnapshot(Course(598, "CS 598"), (ADA,), READINGS, ())
    with pytest.raises(ValueError, match="aware"):
        evaluate_course(snap, now=NOW.replace(tzinfo=None), config=BEST)


def test_duplicate_rows_for_one_pair_use_the_highest_submission_id() -> None:
    old = Submission(1, ADA.id, READINGS[0].id, None, due(0))
    new = Submission(2, ADA.id, READINGS[0].id, due(0) - timedelta(hours=1), due(0), 9.0)
    for order in ((old, new), (new, old)):
        snap = CourseSnapshot(Course(598, "CS 598"), (ADA,), READINGS[:1], order)
        (result,) = evaluate_course(snap, now=NOW, config=BEST)
        assert (result.readings[0].status, result.readings[0].canvas_score) == (Status.ON_TIME, 9.0)


def test_submissions_for_other_assignments_are_ignored() -> None:
    other = Submission(3, ADA.id, 999, due(0), due(0), 10.0)
    snap = CourseSnapshot(Course(598, "CS 598"), (ADA,), READINGS[:1], (other,))
    (result,) = evaluate_course(snap, now=NOW, config=BEST)
    assert [r.assignment_id for r in result.readings] == [READINGS[0].id]
    assert result.readings[0].status is Status.UNKNOWN  # its own row was not seen


def _small_course() -> CourseSnapshot:
    subs = tuple(
        Submission(i + 1, ADA.id, r.id, due(i), due(i), score=8.0) for i, r in enumerate(READINGS)
    )
    return CourseSnapshot(Course(1, "C"), (ADA,), READINGS, subs)


def test_evaluation_leaves_the_garbage_collector_as_it_found_it() -> None:
    snapshot = _small_course()
    assert gc.isenabled()
    evaluate_course(snapshot, now=NOW, config=BEST)
    assert gc.isenabled()
    assert gc.get_freeze_count() == 0
    gc.disable()
    try:
        evaluate_course(snapshot, now=NOW, config=BEST)
        assert not gc.isenabled()
    finally:
        gc.enable()


def test_evaluation_keeps_a_freeze_the_program_made() -> None:
    snapshot = _small_course()
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        assert frozen > 0
        evaluate_course(snapshot, now=NOW, config=BEST)
        assert gc.get_freeze_count() == frozen
        assert gc.isenabled()
    finally:
        gc.unfreeze()


def test_override_dates_resolve_as_canvas_does() -> None:
    """canvas-lms lib/effective_due_dates.rb: an override without `due_at` gives the
    assignment's date (not "no due date"); a Course override applies below sections; an
    override that does set "no due date" still wins its level."""
    later = START + timedelta(days=4)
    keeps = Override(1, 100, None, student_ids=(5,), due_at_overridden=False)
    course = Override(2, 100, later, course_id=598)
    undated = Override(3, 100, None, student_ids=(5,))
    cases = [((keeps,), START), ((course,), later), ((keeps, course), START), ((undated,), None)]
    for overrides, expected in cases:
        reading = Assignment(100, "Reading 0", 7, 10.0, START, overrides=overrides)
        result = evaluate_student(ADA, (reading,), {}, now=NOW, config=BEST)
        assert result.readings[0].due_at == expected, overrides
