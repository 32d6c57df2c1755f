"""The simulated CS 598 course end to end: each named edge-case student gets the statuses,
totals and discrepancies worked out by hand from the course description
(canvas_sync/simulator/course.py), after a real sync over HTTP into SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from canvas_sync import service
from canvas_sync.domain import Kind, Status, StudentResult
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import Simulator

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "sim-token"
R = {n: 2000 + n for n in range(1, 20)}  # R1..R19 are assignments 2001..2019

ON, LATE, MISS, EXC, PEND, RESUB = (
    Status.ON_TIME,
    Status.LATE,
    Status.MISSING,
    Status.EXCUSED,
    Status.PENDING,
    Status.LATE_RESUBMISSION,
)


def statuses(on: range | list[int], **special: Status) -> dict[int, Status]:
    """Readings in `on` on time, the rest missing, then the listed exceptions (r3=LATE...)."""
    found = {n: (ON if n in on else MISS) for n in range(1, 20)}
    found.update({int(key[1:]): value for key, value in special.items()})
    return found


EXPECTED: dict[int, dict[int, Status]] = {
    1001: statuses(range(1, 15)),
    1002: statuses(range(1, 15)),  # R1 on time but never graded
    1003: statuses(range(1, 15), r3=LATE, r4=LATE),
    1004: statuses(range(1, 15), r5=RESUB),
    1005: statuses(range(1, 15)),  # R6 late by the clock, marked "none" by the teacher
    1006: statuses(range(7, 20), **{f"r{n}": EXC for n in range(1, 7)}),
    1007: statuses(range(1, 15)),  # R7 graded on paper, no submission
    1008: statuses(range(1, 15)),
    1009: statuses(range(1, 15)),
    1010: statuses(range(1, 11)),
    1011: statuses(range(1, 20)),
    1012: statuses(range(1, 14), r19=PEND),
    # R15 scored 0 by a TA without a submission: still missing; R17 has a custom grade status
    1013: statuses(range(1, 14), r17=PEND),
    1014: statuses(range(1, 15)),
    1016: statuses(range(1, 15)),
    1019: statuses(range(1, 15)),
}

STUDENT_KINDS: dict[int, set[tuple[Kind, int | None]]] = {
    1002: {(Kind.UNGRADED, R[1])},
    1003: {(Kind.LATE_GRADED, R[3])},
    1004: {(Kind.LATE_RESUBMISSION, R[5])},
    1007: {(Kind.GRADED_WITHOUT_SUBMISSION, R[7])},
    1008: {(Kind.SCORE_OUT_OF_RANGE, R[8]), (Kind.SCORE_OUT_OF_RANGE, R[9])},
    1009: {(Kind.RUBRIC_MISMATCH, R[10]), (Kind.RUBRIC_MISMATCH, R[11])},
    1010: {(Kind.AT_RISK, None)},
    1011: {(Kind.OVER_SUBMITTED, None)},
    1013: {(Kind.CUSTOM_GRADE_STATUS, R[17])},
    1016: {(Kind.TOTAL_MISMATCH, None)},
}


@pytest.fixture(scope="module")
def course(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Settings, service.Evaluation]]:
    path: Path = tmp_path_factory.mktemp("course") / "course.db"
    with Simulator(students=40, seed=598, now=NOW, token=TOKEN, total_assignment=True) as sim:
        env = {
            "CANVAS_URL": sim.base_url,
            "CANVAS_TOKEN": TOKEN,
            "CANVAS_COURSE_ID": "598",
            "CANVAS_SYNC_DATABASE_URL": f"sqlite:///{path}",
        }
        settings = load_settings(shipped_config(), env=env)
        service.sync(settings, now=lambda: NOW)
        yield settings, service.evaluate(settings, now=NOW)


def result_of(evaluation: service.Evaluation, student_id: int) -> StudentResult:
    return next(r for r in evaluation.results if r.student.id == student_id)


@pytest.mark.parametrize("student_id", sorted(EXPECTED))
def test_named_student_statuses(
    course: tuple[Settings, service.Evaluation], student_id: int
) -> None:
    _, evaluation = course
    result = result_of(evaluation, student_id)
    got = {reading.assignment_id - 2000: reading.status for reading in result.readings}
    assert got == EXPECTED[student_id]


@pytest.mark.parametrize("student_id", sorted(EXPECTED))
def test_named_student_totals(course: tuple[Settings, service.Evaluation], student_id: int) -> None:
    """Best 14 (13 for the student with six excusals) of: Canvas score when on time, else 0."""
    _, evaluation = course
    result = result_of(evaluation, student_id)
    excused = sum(1 for s in EXPECTED[student_id].values() if s is EXC)
    required = min(14, 19 - excused)
    scores = []
    for reading in result.readings:
        status = EXPECTED[student_id][reading.assignment_id - 2000]
        if status in (ON, RESUB) and reading.canvas_score is not None:
            scores.append(reading.canvas_score)
        elif status in (LATE, MISS):
            scores.append(0.0)
    points = sum(sorted(scores, reverse=True)[:required])
    assert result.points == pytest.approx(points)
    assert result.possible == required * 10
    assert result.percent == pytest.approx(100 * points / (required * 10))
    assert result.weighted == pytest.approx(result.percent * 0.2)
    assert sum(1 for r in result.readings if r.counted) <= required


def test_special_totals_by_hand(course: tuple[Settings, service.Evaluation]) -> None:
    _, evaluation = course
    assert result_of(evaluation, 1006).possible == 130  # six excused: 13 required
    assert result_of(evaluation, 1002).provisional  # R1 still ungraded
    assert result_of(evaluation, 1010).at_risk  # 10 on time, nothing pending
    assert not result_of(evaluation, 1012).at_risk  # 13 on time + R19 still pending
    late = next(r for r in result_of(evaluation, 1003).readings if r.assignment_id == R[3])
    assert (late.canvas_score, late.policy_score) == (7.0, 0.0)  # 8 minus the 10%/day deduction
    resub = next(r for r in result_of(evaluation, 1004).readings if r.assignment_id == R[5])
    # Graded 9, but the late attempt made Canvas's Late Policy deduct one day (10%): the policy
    # keeps the Canvas score as it is (SPEC §2) and flags the double penalty course-wide.
    assert (resub.status, resub.canvas_score, resub.policy_score) == (RESUB, 8.0, 8.0)


def test_excluded_enrollments_are_ignored(course: tuple[Settings, service.Evaluation]) -> None:
    settings, evaluation = course
    ids = {r.student.id for r in evaluation.results}
    assert {1017, 1018, 9001}.isdisjoint(ids)  # inactive, invited, test student
    assert 1019 in ids  # completed enrollments count
    assert len(ids) == 38
    for d in service.list_discrepancies(settings):
        assert d.student_id not in {1017, 1018, 9001}


def test_discrepancies_by_hand(course: tuple[Settings, service.Evaluation]) -> None:
    settings, _ = course
    found = service.list_discrepancies(settings, state="open")
    by_student: dict[int | None, set[tuple[Kind, int | None]]] = {}
    for d in found:
        by_student.setdefault(d.student_id, set()).add((d.kind, d.assignment_id))
    for student_id, kinds in STUDENT_KINDS.items():
        assert kinds <= by_student.get(student_id, set()), student_id
    course_level = by_student[None]
    assert course_level == {
        (Kind.DUE_DATE_MISMATCH, R[12]),  # the DST-bug due date
        (Kind.GROUP_RULE_MISMATCH, None),  # drop_lowest 4, should be 5
        (Kind.LATE_POLICY_CONFLICT, None),  # Canvas deducts 10%/day too
    }
    # Missing readings without a score, but not Mia's R15 that a TA already scored 0.
    missing = by_student[1013]
    assert (Kind.MISSING_UNGRADED, R[14]) in missing
    assert (Kind.MISSING_UNGRADED, R[15]) not in missing
    assert all(kind is not Kind.GRADED_WITHOUT_SUBMISSION for kind, _ in missing)
    # Canvas's Late Policy took points from late work graded by the rubric: not a rubric error.
    for student_id in (1003, 1004):
        assert all(kind is not Kind.RUBRIC_MISMATCH for kind, _ in by_student[student_id])
    # Alice's total in Canvas is right: no total_mismatch for her.
    assert (Kind.TOTAL_MISMATCH, None) not in by_student.get(1001, set())
    severities = {d.kind: d.severity.value for d in found}
    assert severities[Kind.LATE_GRADED] == "error"
    assert severities[Kind.AT_RISK] == "warning"
    assert severities[Kind.MISSING_UNGRADED] == "info"


def test_report_json_follows_spec_6(course: tuple[Settings, service.Evaluation]) -> None:
    from canvas_sync import report

    settings, _ = course
    data = report.report_to_dict(service.build_report(settings, now=NOW))
    assert data["policy"] == {
        "required": 14,
        "pool": 19,
        "points_per_summary": 10,
        "selection": "best",
        "weight": 20,
    }
    assert data["course"] == {"id": 598, "name": "CS 598: Systems for Generative AI (S'26)"}
    assert data["generated_at"] == "2026-05-20T17:00:00Z"
    names = [s["name"] for s in data["students"]]
    assert len(names) == 38
    student = data["students"][0]
    assert list(student) == [
        "id",
        "name",
        "sis_user_id",
        "readings",
        "points",
        "possible",
        "percent",
        "weighted",
        "on_time_count",
        "ungraded_count",
        "at_risk",
    ]
    assert list(student["readings"][0]) == [
        "assignment_id",
        "name",
        "due_at",
        "submitted_at",
        "status",
        "canvas_score",
        "policy_score",
        "counted",
    ]
    assert list(data["discrepancies"][0]) == [
        "id",
        "kind",
        "severity",
        "student_id",
        "assignment_id",
        "canvas_value",
        "expected_value",
        "message",
        "state",
    ]
    dues = [r["due_at"] for r in student["readings"]]
    assert dues == sorted(dues) and all(d.endswith("Z") for d in dues)
