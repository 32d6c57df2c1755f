"""SPEC §2 status table, row by row (incl. grace, teacher statuses, exemptions, DST)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from canvas_sync.domain import (
    Assignment,
    Attempt,
    Override,
    PolicyConfig,
    Status,
    Student,
    Submission,
)
from canvas_sync.policy import effective_due_date, reading_status

CHICAGO = ZoneInfo("America/Chicago")


def utc(text: str) -> datetime:
    """'2026-03-11T04:30:00' → aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def local_due(day: str) -> datetime:
    """23:59:59 America/Chicago on `day`, as a UTC instant (the syllabus rule)."""
    return datetime.fromisoformat(f"{day}T23:59:59").replace(tzinfo=CHICAGO).astimezone(UTC)


DUE = utc("2026-03-10T04:59:59")  # Mar 9 23:59:59 CDT
BEFORE = DUE - timedelta(hours=1)
AFTER = DUE + timedelta(seconds=1)
NOW_EARLY = DUE - timedelta(days=1)
NOW_LATE = DUE + timedelta(days=1)
READING = Assignment(11, "LoRA", 7, 10.0, DUE)


def sub(**kw: Any) -> Submission:
    base: dict[str, Any] = {
        "id": 1,
        "student_id": 5,
        "assignment_id": READING.id,
        "submitted_at": None,
        "cached_due_date": DUE,
    }
    base.update(kw)
    return Submission(**base)


# Each row: id, submission (None = no row), due, now, grace, exempted → status, policy, exempted.
STATUS_ROWS = [
    # 1. excused wins over everything, even a late submission with a score
    ("excused", sub(excused=True, submitted_at=AFTER, score=9.0), DUE, NOW_LATE, 0, False,
     Status.EXCUSED, None, False),
    ("excused-exempted", sub(excused=True), DUE, NOW_LATE, 0, True, Status.EXCUSED, None, False),
    # 2. teacher statuses win both ways
    ("teacher-none-on-late-work", sub(submitted_at=AFTER, score=8.0, late_policy_status="none"),
     DUE, NOW_LATE, 0, False, Status.ON_TIME, 8.0, False),
    ("teacher-extended", sub(submitted_at=AFTER, score=7.0, late_policy_status="extended"),
     DUE, NOW_LATE, 0, False, Status.ON_TIME, 7.0, False),
    ("teacher-late-on-time-work", sub(submitted_at=BEFORE, score=8.0, late_policy_status="late"),
     DUE, NOW_LATE, 0, False, Status.LATE, 0.0, False),
    ("teacher-late-exempted", sub(submitted_at=BEFORE, score=8.0, late_policy_status="late"),
     DUE, NOW_LATE, 0, True, Status.ON_TIME, 8.0, True),
    ("teacher-late-beats-history",
     sub(submitted_at=AFTER, score=8.0, late_policy_status="late", history=(Attempt(1, BEFORE),)),
     DUE, NOW_LATE, 0, False, Status.LATE, 0.0, False),
    ("teacher-extended-unsubmitted", sub(late_policy_status="extended"), DUE, NOW_LATE, 0, False,
     Status.PENDING, None, False),
    ("teacher-missing-before-due", sub(late_policy_status="missing"), DUE, NOW_EARLY, 0, False,
     Status.MISSING, 0.0, False),
    ("teacher-late-on-paper", sub(score=6.0, late_policy_status="late"), DUE, NOW_LATE, 0, False,
     Status.LATE, 0.0, False),
    ("teacher-none-unsubmitted", sub(late_policy_status="none"), DUE, NOW_LATE, 0, False,
     Status.PENDING, None, False),
    ("teacher-missing-exempted", sub(late_policy_status="missing"), DUE, NOW_LATE, 0, True,
     Status.PENDING, None, True),
    ("teacher-missing-on-submitted-work",
     sub(submitted_at=BEFORE, score=8.0, late_policy_status="missing"), DUE, NOW_LATE, 0, False,
     Status.ON_TIME, 8.0, False),
    # 3. late resubmission: latest after due, an earlier attempt on time
    ("late-resubmission",
     sub(submitted_at=AFTER, score=9.0, history=(Attempt(1, BEFORE), Attempt(2, AFTER))),
     DUE, NOW_LATE, 0, False, Status.LATE_RESUBMISSION, 9.0, False),
    ("late-resubmission-earlier-at-deadline",
     sub(submitted_at=AFTER, history=(Attempt(1, DUE), Attempt(2, AFTER))),
     DUE, NOW_LATE, 0, False, Status.LATE_RESUBMISSION, None, False),
    ("resubmission-all-late",
     sub(submitted_at=AFTER + timedelta(hours=2), score=9.0,
         history=(Attempt(1, AFTER), Attempt(2, AFTER + timedelta(hours=2)))),
     DUE, NOW_LATE, 0, False, Status.LATE, 0.0, False),
    ("resubmission-exempted",
     sub(submitted_at=AFTER, score=9.0, history=(Attempt(1, BEFORE), Attempt(2, AFTER))),
     DUE, NOW_LATE, 0, True, Status.ON_TIME, 9.0, True),
    # 4. late
    ("late-one-second", sub(submitted_at=AFTER, score=8.0), DUE, NOW_LATE, 0, False,
     Status.LATE, 0.0, False),
    ("late-ungraded", sub(submitted_at=AFTER), DUE, NOW_LATE, 0, False, Status.LATE, 0.0, False),
    ("late-exempted", sub(submitted_at=AFTER, score=8.0), DUE, NOW_LATE, 0, True,
     Status.ON_TIME, 8.0, True),
    ("late-past-grace", sub(submitted_at=DUE + timedelta(seconds=61), score=8.0), DUE, NOW_LATE,
     60, False, Status.LATE, 0.0, False),
    # 5. on time
    ("on-time", sub(submitted_at=BEFORE, score=10.0), DUE, NOW_LATE, 0, False,
     Status.ON_TIME, 10.0, False),
    ("on-time-at-due", sub(submitted_at=DUE, score=10.0), DUE, NOW_LATE, 0, False,
     Status.ON_TIME, 10.0, False),
    ("on-time-within-grace", sub(submitted_at=DUE + timedelta(seconds=60), score=6.0), DUE,
     NOW_LATE, 60, False, Status.ON_TIME, 6.0, False),
    ("on-time-ungraded", sub(submitted_at=BEFORE), DUE, NOW_LATE, 0, False,
     Status.ON_TIME, None, False),
    ("no-due-date", sub(submitted_at=AFTER, score=4.0, cached_due_date=None), None, NOW_LATE, 0,
     False, Status.ON_TIME, 4.0, False),
    ("on-time-exempted", sub(submitted_at=BEFORE, score=5.0), DUE, NOW_LATE, 0, True,
     Status.ON_TIME, 5.0, True),
    ("out-of-range-kept", sub(submitted_at=BEFORE, score=12.0), DUE, NOW_LATE, 0, False,
     Status.ON_TIME, 12.0, False),
    ("negative-kept", sub(submitted_at=BEFORE, score=-1.0), DUE, NOW_LATE, 0, False,
     Status.ON_TIME, -1.0, False),
    # 6. graded without a submission
    ("graded-on-paper", sub(score=7.0), DUE, NOW_LATE, 0, False, Status.ON_TIME, 7.0, False),
    ("graded-on-paper-before-due", sub(score=7.0), DUE, NOW_EARLY, 0, False,
     Status.ON_TIME, 7.0, False),
    # Canvas's missing policy scored it (70% deduction: 3 of 10, no grader, still `missing`):
    # missing work, not a paper grade counted in the best 14
    ("missing-policy-score", sub(score=3.0, missing=True, workflow_state="graded"), DUE,
     NOW_LATE, 0, False, Status.MISSING, 0.0, False),
    ("missing-policy-score-exempted", sub(score=3.0, missing=True), DUE, NOW_LATE, 0, True,
     Status.PENDING, None, True),
    ("paper-grade-by-a-grader", sub(score=3.0, grader_id=2), DUE, NOW_LATE, 0, False,
     Status.ON_TIME, 3.0, False),
    # a Canvas custom grade status: neither late nor missing (submission.rb `late?`, `missing?`)
    ("custom-status-late", sub(submitted_at=AFTER, score=8.0, custom_grade_status_id=3), DUE,
     NOW_LATE, 0, False, Status.ON_TIME, 8.0, False),
    ("custom-status-unsubmitted", sub(custom_grade_status_id=3), DUE, NOW_LATE, 0, False,
     Status.PENDING, None, False),
    ("custom-status-missing-policy-score",
     sub(score=3.0, missing=True, custom_grade_status_id=3), DUE, NOW_LATE, 0, False,
     Status.ON_TIME, 3.0, False),
    # a 0 with no submission is the zero written for missing work: still missing / pending
    ("zero-without-submission", sub(score=0.0), DUE, NOW_LATE, 0, False, Status.MISSING, 0.0,
     False),
    ("zero-without-submission-not-due", sub(score=0.0), DUE, NOW_EARLY, 0, False,
     Status.PENDING, None, False),
    # 7. missing
    ("missing", sub(), DUE, NOW_LATE, 0, False, Status.MISSING, 0.0, False),
    # No row at all: Canvas keeps one for every assigned student, so the grade is unknown.
    ("unknown-no-row-past-due", None, DUE, NOW_LATE, 0, False, Status.UNKNOWN, None, False),
    ("missing-one-second-after", sub(), DUE, AFTER, 0, False, Status.MISSING, 0.0, False),
    ("missing-exempted", sub(), DUE, NOW_LATE, 0, True, Status.PENDING, None, True),
    # 8. pending
    ("pending-at-due", sub(), DUE, DUE, 0, False, Status.PENDING, None, False),
    ("pending-in-grace", sub(), DUE, DUE + timedelta(seconds=30), 60, False,
     Status.PENDING, None, False),
    ("pending-before-due", sub(), DUE, NOW_EARLY, 0, False, Status.PENDING, None, False),
    ("pending-no-due", sub(cached_due_date=None), None, NOW_LATE, 0, False,
     Status.PENDING, None, False),
    ("unknown-no-row-not-due", None, DUE, NOW_EARLY, 0, False, Status.UNKNOWN, None, False),
]  # fmt: skip


@pytest.mark.parametrize(
    ("submission", "due", "now", "grace", "exempted", "status", "policy", "flag"),
    [pytest.param(*row[1:], id=row[0]) for row in STATUS_ROWS],
)
def test_status_table(
    submission: Submission | None,
    due: datetime | None,
    now: datetime,
    grace: int,
    exempted: bool,
    status: Status,
    policy: float | None,
    flag: bool,
) -> None:
    config = PolicyConfig(grace_seconds=grace)
    result = reading_status(
        READING, submission, due_at=due, now=now, config=config, exempted=exempted, student_id=5
    )
    assert (result.status, result.policy_score, result.exempted) == (status, policy, flag)
    assert result.canvas_score == (None if submission is None else submission.score)
    assert result.due_at == due
    assert result.counted is False


# DST: due dates at 23:59:59 America/Chicago straddle 2026-03-08 (CST = UTC−6, CDT = UTC−5).
DST_ROWS = [
    ("cdt-on-time", "2026-03-10", "2026-03-11T04:30:00", Status.ON_TIME),
    ("cdt-last-second", "2026-03-10", "2026-03-11T04:59:59", Status.ON_TIME),
    ("cdt-late", "2026-03-10", "2026-03-11T05:00:00", Status.LATE),
    ("cst-on-time", "2026-02-04", "2026-02-05T05:30:00", Status.ON_TIME),
    ("cst-last-second", "2026-02-04", "2026-02-05T05:59:59", Status.ON_TIME),
    ("cst-late", "2026-02-04", "2026-02-05T06:00:00", Status.LATE),
    ("dst-night-cdt-due", "2026-03-08", "2026-03-09T04:59:59", Status.ON_TIME),
    ("dst-night-late", "2026-03-08", "2026-03-09T05:00:00", Status.LATE),
    ("day-before-dst-cst", "2026-03-07", "2026-03-08T05:59:59", Status.ON_TIME),
]


@pytest.mark.parametrize(
    ("day", "submitted", "status"), [pytest.param(*r[1:], id=r[0]) for r in DST_ROWS]
)
def test_dst_due_dates(day: str, submitted: str, status: Status) -> None:
    due = local_due(day)
    row = sub(submitted_at=utc(submitted), score=9.0, cached_due_date=due)
    result = reading_status(
        READING, row, due_at=due, now=due + timedelta(days=2), config=PolicyConfig()
    )
    assert result.status is status
    assert result.policy_score == (9.0 if status is Status.ON_TIME else 0.0)


def test_dst_due_instants() -> None:
    assert local_due("2026-03-10") == utc("2026-03-11T04:59:59")  # CDT
    assert local_due("2026-02-04") == utc("2026-02-05T05:59:59")  # CST


def test_reading_status_without_row_needs_student_id() -> None:
    with pytest.raises(ValueError, match="student_id"):
        reading_status(READING, None, due_at=DUE, now=NOW_LATE, config=PolicyConfig())
    result = reading_status(READING, None, due_at=DUE, now=NOW_LATE, config=PolicyConfig(),
                            student_id=42)  # fmt: skip
    assert (result.student_id, result.assignment_id, result.name) == (42, 11, "LoRA")


# --- effective due date (canvas-api.md §6 cached_due_date rule) ---------------------------------

BASE = utc("2026-02-05T05:59:59")
D1 = BASE + timedelta(days=1)
D2 = BASE + timedelta(days=2)
D3 = BASE + timedelta(days=3)
STUDENT = Student(5, "Ada", "Lovelace, Ada", section_ids=(100, 101))


def ov(
    i: int, due: datetime | None, students: tuple[int, ...] = (), section: int | None = None
) -> Override:
    return Override(i, READING.id, due, student_ids=students, course_section_id=section)


DUE_ROWS = [
    ("no-overrides", (), BASE),
    ("ad-hoc-beats-section", (ov(1, D1, students=(5,)), ov(2, D3, section=100)), D1),
    ("section-beats-base", (ov(2, D2, section=101),), D2),
    ("other-section-ignored", (ov(2, D2, section=999),), BASE),
    ("other-student-ignored", (ov(1, D2, students=(6, 7)),), BASE),
    ("latest-ad-hoc-wins", (ov(1, D1, students=(5,)), ov(2, D3, students=(4, 5))), D3),
    ("latest-section-wins", (ov(1, D3, section=100), ov(2, D1, section=101)), D3),
    ("undated-ad-hoc-wins", (ov(1, D3, students=(5,)), ov(2, None, students=(5,))), None),
    ("undated-section-wins", (ov(1, None, section=100), ov(2, D2, section=101)), None),
    ("undated-section-loses-to-ad-hoc", (ov(1, None, section=100), ov(2, D1, students=(5,))), D1),
    ("earlier-ad-hoc-still-beats-section", (ov(1, D1, students=(5,)), ov(2, D3, section=100)), D1),
]


@pytest.mark.parametrize(
    ("overrides", "expected"), [pytest.param(*r[1:], id=r[0]) for r in DUE_ROWS]
)
def test_effective_due_date(overrides: tuple[Override, ...], expected: datetime | None) -> None:
    assignment = Assignment(11, "LoRA", 7, 10.0, BASE, overrides=overrides)
    assert effective_due_date(assignment, STUDENT) == expected


def test_effective_due_date_drops_microseconds_like_cached_due_date() -> None:
    fancy_midnight = BASE.replace(microsecond=999999)
    assignment = Assignment(11, "LoRA", 7, 10.0, fancy_midnight)
    assert effective_due_date(assignment, STUDENT) == BASE
    assert effective_due_date(Assignment(12, "x", 7, 10.0, None), STUDENT) is None


def test_custom_status_switch_applies_the_syllabus_anyway() -> None:
    late = sub(submitted_at=AFTER, score=8.0, custom_grade_status_id=3)
    config = PolicyConfig(apply_to_custom_statuses=True)
    result = reading_status(READING, late, due_at=DUE, now=NOW_LATE, config=config)
    assert (result.status, result.policy_score) == (Status.LATE, 0.0)
