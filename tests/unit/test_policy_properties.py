"""Hypothesis properties of the policy engine (SPEC §2): bounds, monotonicity, independence."""

from __future__ import annotations

import dataclasses
import random
from datetime import UTC, datetime, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from canvas_sync.domain import (
    Assignment,
    Attempt,
    Course,
    CourseSnapshot,
    PolicyConfig,
    Selection,
    Student,
    StudentResult,
    Submission,
)
from canvas_sync.policy import evaluate_course, find_discrepancies

START = datetime(2026, 2, 5, 5, 59, 59, tzinfo=UTC)
NOW = START + timedelta(days=20)  # some readings past due, some not
P = 10.0
KINDS = ("none", "placeholder", "on_time", "ungraded", "late", "resubmitted", "excused", "paper")
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def courses(draw: st.DrawFn, *, in_range: bool = True) -> tuple[CourseSnapshot, PolicyConfig]:
    """A small course: 1-4 students × 2-7 readings, every kind of submission, R from 1 to 8."""
    n_readings = draw(st.integers(2, 7))
    readings = tuple(
        Assignment(100 + i, f"R{i}", 7, P, START + timedelta(days=draw(st.integers(0, 40))))
        for i in range(n_readings)
    )
    students = tuple(
        Student(10 + k, f"S{k}", draw(st.sampled_from(["A", "B", "C"])))
        for k in range(draw(st.integers(1, 4)))
    )
    scores = st.integers(0, 10) if in_range else st.integers(-2, 12)
    subs: list[Submission] = []
    for s in students:
        for a in readings:
            kind = draw(st.sampled_from(KINDS))
            score = float(draw(scores))
            if kind != "none":
                subs.append(make_sub(len(subs) + 1, s.id, a, kind, score))
    config = PolicyConfig(
        required=draw(st.integers(1, 8)),
        selection=draw(st.sampled_from(list(Selection))),
    )
    return CourseSnapshot(Course(1, "C"), students, readings, tuple(subs)), config


def make_sub(sub_id: int, student_id: int, a: Assignment, kind: str, score: float) -> Submission:
    due = a.due_at
    assert due is not None
    before, after = due - timedelta(hours=3), due + timedelta(hours=3)
    row = Submission(sub_id, student_id, a.id, None, due)
    if kind == "on_time":
        return dataclasses.replace(
            row, submitted_at=before - timedelta(minutes=sub_id), score=score
        )
    if kind == "ungraded":
        return dataclasses.replace(row, submitted_at=before)
    if kind == "late":
        return dataclasses.replace(row, submitted_at=after, score=score)
    if kind == "resubmitted":
        history = (Attempt(1, before), Attempt(2, after))
        return dataclasses.replace(row, submitted_at=after, score=score, history=history)
    if kind == "excused":
        return dataclasses.replace(row, excused=True)
    if kind == "paper":
        return dataclasses.replace(row, score=score)
    return row  # placeholder: unsubmitted


def by_student(results: tuple[StudentResult, ...]) -> dict[int, StudentResult]:
    return {r.student.id: r for r in results}


@FAST
@given(courses(in_range=False))
def test_counted_never_exceeds_required(case: tuple[CourseSnapshot, PolicyConfig]) -> None:
    snap, config = case
    for result in evaluate_course(snap, now=NOW, config=config):
        counted = sum(r.counted for r in result.readings)
        assert counted <= config.required
        assert counted * P <= result.possible


@FAST
@given(courses())
def test_points_between_zero_and_possible(case: tuple[CourseSnapshot, PolicyConfig]) -> None:
    snap, config = case
    for result in evaluate_course(snap, now=NOW, config=config):
        assert 0 <= result.points <= result.possible
        assert 0 <= result.percent <= 100
        assert result.weighted == result.percent * config.weight / 100


@FAST
@given(courses(), st.data())
def test_turning_on_time_late_never_raises_best_total(
    case: tuple[CourseSnapshot, PolicyConfig], data: st.DataObject
) -> None:
    snap, config = case
    config = dataclasses.replace(config, selection=Selection.BEST)
    on_time = [s for s in snap.submissions if s.submitted_at is not None and not s.excused]
    on_time = [
        s
        for s in on_time
        if s.cached_due_date and s.submitted_at and s.submitted_at <= s.cached_due_date
    ]
    if not on_time:
        return
    victim = data.draw(st.sampled_from(on_time))
    assert victim.cached_due_date is not None
    made_late = dataclasses.replace(
        victim, submitted_at=victim.cached_due_date + timedelta(seconds=1), history=()
    )
    subs = tuple(made_late if s is victim else s for s in snap.submissions)
    before = by_student(evaluate_course(snap, now=NOW, config=config))
    after = by_student(
        evaluate_course(dataclasses.replace(snap, submissions=subs), now=NOW, config=config)
    )
    assert after[victim.student_id].points <= before[victim.student_id].points
    assert after[victim.student_id].on_time_count == before[victim.student_id].on_time_count - 1


def test_turning_on_time_late_can_raise_a_first_total() -> None:
    """Documented limit of `first`: a late first submission frees its slot for a better one."""
    reading = [Assignment(100 + i, f"R{i}", 7, P, START) for i in range(2)]
    ada = Student(1, "Ada", "Ada")
    early, later = START - timedelta(hours=2), START - timedelta(hours=1)
    subs = (
        Submission(1, 1, 100, early, START, 2.0),
        Submission(2, 1, 101, later, START, 10.0),
    )
    snap = CourseSnapshot(Course(1, "C"), (ada,), tuple(reading), subs)
    config = PolicyConfig(required=1, selection=Selection.FIRST)
    assert evaluate_course(snap, now=NOW, config=config)[0].points == 2.0
    late = (dataclasses.replace(subs[0], submitted_at=START + timedelta(hours=1)), subs[1])
    snap = dataclasses.replace(snap, submissions=late)
    assert evaluate_course(snap, now=NOW, config=config)[0].points == 10.0


@FAST
@given(courses(in_range=False), st.data())
def test_excusing_one_reading_never_changes_other_students(
    case: tuple[CourseSnapshot, PolicyConfig], data: st.DataObject
) -> None:
    snap, config = case
    student = data.draw(st.sampled_from(snap.students))
    reading = data.draw(st.sampled_from(snap.readings))
    kept = tuple(
        s for s in snap.submissions if (s.student_id, s.assignment_id) != (student.id, reading.id)
    )
    excuse = Submission(999, student.id, reading.id, None, reading.due_at, excused=True)
    changed = dataclasses.replace(snap, submissions=(*kept, excuse))
    before = by_student(evaluate_course(snap, now=NOW, config=config))
    after = by_student(evaluate_course(changed, now=NOW, config=config))
    for sid, result in before.items():
        if sid != student.id:
            assert after[sid] == result
    assert after[student.id].possible <= before[student.id].possible


@FAST
@given(courses())
def test_best_total_at_least_first_total(case: tuple[CourseSnapshot, PolicyConfig]) -> None:
    snap, config = case
    best = evaluate_course(
        snap, now=NOW, config=dataclasses.replace(config, selection=Selection.BEST)
    )
    first = evaluate_course(
        snap, now=NOW, config=dataclasses.replace(config, selection=Selection.FIRST)
    )
    for b, f in zip(best, first, strict=True):
        assert b.points >= f.points
        assert b.possible == f.possible


@FAST
@given(courses(in_range=False), st.randoms(use_true_random=False))
def test_result_does_not_depend_on_input_order(
    case: tuple[CourseSnapshot, PolicyConfig], rnd: random.Random
) -> None:
    snap, config = case
    shuffled = dataclasses.replace(
        snap,
        students=tuple(rnd.sample(snap.students, len(snap.students))),
        readings=tuple(rnd.sample(snap.readings, len(snap.readings))),
        submissions=tuple(rnd.sample(snap.submissions, len(snap.submissions))),
    )
    assert evaluate_course(shuffled, now=NOW, config=config) == evaluate_course(
        snap, now=NOW, config=config
    )


@FAST
@given(courses(in_range=False))
def test_findings_have_unique_keys_and_a_stable_order(
    case: tuple[CourseSnapshot, PolicyConfig],
) -> None:
    snap, config = case
    results = evaluate_course(snap, now=NOW, config=config)
    findings = find_discrepancies(
        snap, results, now=NOW, config=config, unmatched_titles=["x", "y"], total_scores={}
    )
    assert len({f.key for f in findings}) == len(findings)
    reversed_snap = dataclasses.replace(snap, submissions=snap.submissions[::-1])
    again = find_discrepancies(
        reversed_snap,
        evaluate_course(reversed_snap, now=NOW, config=config),
        now=NOW,
        config=config,
        unmatched_titles=["x", "y"],
        total_scores={},
    )
    assert again == findings
