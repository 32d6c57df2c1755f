"""The pure push plan (SPEC §4): table-driven cases of what gets written, and what never does."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from canvas_sync.domain import (
    Comment,
    Kind,
    ReadingResult,
    Status,
    Student,
    StudentResult,
    Submission,
)
from canvas_sync.push import (
    MARKER,
    PlanInputs,
    PushPlan,
    Target,
    Written,
    build_plan,
    column_text,
    local_time,
    same_value,
)
from canvas_sync.push.texts import COLUMN_LIMIT

STUDENT = Student(7, "Ada Lovelace", "Lovelace, Ada")
DUE = datetime(2026, 2, 3, 5, 59, 59, tzinfo=UTC)  # 23:59:59 CST Feb 2
DUE_CDT = datetime(2026, 3, 10, 4, 59, 59, tzinfo=UTC)  # 23:59:59 CDT Mar 9
LATE_AT = datetime(2026, 2, 3, 8, 0, 0, tzinfo=UTC)  # 02:00 CST Feb 3
TOTAL = 900
SERVICE, TA = 1, 2


def reading(aid: int, status: Status, score: float | None, **kw: object) -> ReadingResult:
    policy = 0.0 if status in (Status.LATE, Status.MISSING) else score
    base = ReadingResult(
        student_id=STUDENT.id,
        assignment_id=aid,
        name=f"Reading {aid}",
        due_at=DUE,
        submitted_at=LATE_AT if status is Status.LATE else None,
        status=status,
        canvas_score=score,
        policy_score=None if status is Status.EXCUSED else policy,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def result(*readings: ReadingResult, percent: float = 50.0, points: float = 70.0) -> StudentResult:
    return StudentResult(
        student=STUDENT,
        readings=readings,
        points=points,
        possible=140.0,
        percent=percent,
        weighted=percent / 5,
        on_time_count=1,
        ungraded_count=0,
        at_risk=False,
    )


def sub(aid: int, entered: float | None, *, grader: int | None = TA, **kw: object) -> Submission:
    base = Submission(
        id=aid * 100 + STUDENT.id,
        student_id=STUDENT.id,
        assignment_id=aid,
        submitted_at=None,
        cached_due_date=DUE,
        score=entered,
        entered_score=entered,
        grader_id=grader,
    )
    return replace(base, **kw)  # type: ignore[arg-type]


def plan_for(
    readings: list[ReadingResult],
    subs: list[Submission],
    **kw: object,
) -> PushPlan:
    inputs = PlanInputs(
        results=[result(*readings)],
        submissions={(s.student_id, s.assignment_id): s for s in subs},
        **kw,  # type: ignore[arg-type]
    )
    return build_plan(inputs)


def grade_cells(plan: PushPlan) -> list[tuple[int | None, str | None, str, bool]]:
    return [
        (a.assignment_id, a.from_value, a.to_value, a.comment is not None)
        for a in plan.actions
        if a.target is Target.GRADE
    ]


OWN = Comment(1, SERVICE, f"Reading summary: late.\n{MARKER}", LATE_AT)
OTHER = Comment(2, TA, "Nice work", LATE_AT)

# (case, reading, Canvas submission, journal last word, exemption?, expected grade changes)
CASES = [
    (
        "late graded 8 -> 0 with comment",
        reading(1, Status.LATE, 8.0),
        sub(1, 8.0),
        None,
        False,
        [(1, "8", "0", True)],
    ),
    (
        "late ungraded -> 0 with comment",
        reading(1, Status.LATE, None),
        sub(1, None),
        None,
        False,
        [(1, None, "0", True)],
    ),
    ("late already 0: nothing", reading(1, Status.LATE, 0.0), sub(1, 0.0), None, False, []),
    (
        "late, own comment exists: no second comment",
        reading(1, Status.LATE, 8.0),
        sub(1, 8.0, comments=(OWN,)),
        None,
        False,
        [(1, "8", "0", False)],
    ),
    (
        "late, only a TA comment: comment",
        reading(1, Status.LATE, 8.0),
        sub(1, 8.0, comments=(OTHER,)),
        None,
        False,
        [(1, "8", "0", True)],
    ),
    (
        "late policy deducted: entered score counts",
        reading(1, Status.LATE, 7.0),
        sub(1, 8.0, score=7.0),
        None,
        False,
        [(1, "8", "0", True)],
    ),
    (
        "missing, no score -> 0 without comment",
        reading(1, Status.MISSING, None),
        sub(1, None),
        None,
        False,
        [(1, None, "0", False)],
    ),
    ("missing already 0: nothing", reading(1, Status.MISSING, 0.0), sub(1, 0.0), None, False, []),
    ("on time: nothing", reading(1, Status.ON_TIME, 9.0), sub(1, 9.0), None, False, []),
    ("pending: nothing", reading(1, Status.PENDING, None), sub(1, None), None, False, []),
    (
        "excused: never zeroed",
        reading(1, Status.EXCUSED, None),
        sub(1, None, excused=True),
        None,
        False,
        [],
    ),
    (
        "exempted by policy: never zeroed",
        reading(1, Status.ON_TIME, 8.0, exempted=True),
        sub(1, 8.0),
        None,
        False,
        [],
    ),
    ("exemption row: never zeroed", reading(1, Status.LATE, 8.0), sub(1, 8.0), None, True, []),
    (
        "human changed our 0: humans win",
        reading(1, Status.LATE, 6.0),
        sub(1, 6.0),
        Written("0"),
        False,
        [],
    ),
    (
        "kept by a TA: hands off",
        reading(1, Status.LATE, 6.0),
        sub(1, 6.0),
        Written("6", "kept"),
        False,
        [],
    ),
    (
        "released by a TA: written again",
        reading(1, Status.LATE, 6.0),
        sub(1, 6.0),
        Written(None, "released"),
        False,
        [(1, "6", "0", True)],
    ),
    (
        "we wrote 0 and it is still 0: nothing",
        reading(1, Status.LATE, 0.0),
        sub(1, 0.0),
        Written("0"),
        False,
        [],
    ),
]


@pytest.mark.parametrize(
    ("reading_", "submission", "written", "exempt", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_reading_grade_rules(
    reading_: ReadingResult,
    submission: Submission,
    written: Written | None,
    exempt: bool,
    expected: list[tuple[int, str | None, str, bool]],
) -> None:
    plan = plan_for(
        [reading_],
        [submission],
        written={(Target.GRADE, STUDENT.id, 1): written} if written else {},
        exemptions={(STUDENT.id, 1)} if exempt else set(),
    )
    assert grade_cells(plan) == expected


def test_comment_missing_setting_adds_a_comment_to_missing_zeroes() -> None:
    plan = plan_for([reading(1, Status.MISSING, None)], [sub(1, None)], comment_missing=True)
    (action,) = plan.actions
    assert action.comment is not None and action.comment.endswith(MARKER)
    assert "not submitted" in action.comment


def test_late_comment_names_both_times_in_the_course_zone_and_the_rule() -> None:
    plan = plan_for(
        [reading(1, Status.LATE, 8.0)],
        [sub(1, 8.0)],
        late_rule="Late submissions are not accepted and receive 0 (CS 598 syllabus).",
    )
    comment = plan.actions[0].comment
    assert comment is not None
    assert "submitted Tue Feb 3, 2026 2:00 AM CST" in comment
    assert "due Mon Feb 2, 2026 11:59 PM CST" in comment
    assert "receive 0 (CS 598 syllabus)." in comment
    assert comment.splitlines()[-1] == MARKER


@pytest.mark.parametrize(
    ("moment", "text"),
    [
        (DUE, "Mon Feb 2, 2026 11:59 PM CST"),
        (DUE_CDT, "Mon Mar 9, 2026 11:59 PM CDT"),  # after DST starts on Mar 8
        (datetime(2026, 3, 8, 18, 5, tzinfo=UTC), "Sun Mar 8, 2026 1:05 PM CDT"),
        (None, "no date"),
    ],
)
def test_local_time_follows_dst(moment: datetime | None, text: str) -> None:
    assert local_time(moment, "America/Chicago") == text


def test_human_override_is_a_fact_with_both_values() -> None:
    plan = plan_for(
        [reading(1, Status.LATE, 6.0)],
        [sub(1, 6.0, grader=TA)],
        written={(Target.GRADE, STUDENT.id, 1): Written("0")},
    )
    assert plan.actions == ()
    (fact,) = plan.overrides
    finding = fact.finding()
    assert finding.kind is Kind.MANUAL_OVERRIDE
    assert (finding.student_id, finding.assignment_id) == (STUDENT.id, 1)
    assert (finding.canvas_value, finding.expected_value) == ("6", "0")
    assert "user 2" in finding.message


def test_override_is_found_even_when_the_policy_no_longer_zeroes() -> None:
    # We zeroed a missing reading; a TA then scored it 7 without a submission (now on time).
    plan = plan_for(
        [reading(1, Status.ON_TIME, 7.0)],
        [sub(1, 7.0)],
        written={(Target.GRADE, STUDENT.id, 1): Written("0")},
    )
    assert [o.canvas_value for o in plan.overrides] == ["7"]


def test_a_cell_canvas_already_scores_zero_is_not_planned_again() -> None:
    """A 100% Canvas late deduction: entered 8, score 0. Posting 0 changes nothing in Canvas
    (its bulk update skips an unchanged score), so it must not be planned on every push."""
    late = reading(1, Status.LATE, 0.0)
    held = sub(1, 8.0, score=0.0)
    assert grade_cells(plan_for([late], [held])) == []
    # After our push of 0 (journaled), the same Canvas state is not a human override either.
    again = plan_for([late], [held], written={(Target.GRADE, STUDENT.id, 1): Written("0")})
    assert again.actions == () and again.overrides == ()


def test_a_partial_canvas_deduction_is_still_zeroed() -> None:
    # 10%/day: entered 8, score 7.2 is not the policy's 0.
    assert grade_cells(plan_for([reading(1, Status.LATE, 7.2)], [sub(1, 8.0, score=7.2)])) == [
        (1, "8", "0", True)
    ]


TOTAL_CASES = [
    ("no total yet", None, None, 85.714, [(None, "85.71")]),
    ("same total", 85.71, None, 85.714, []),
    ("stale total", 55.0, None, 85.714, [("55", "85.71")]),
    ("policy moved, our value stands", 80.0, Written("80"), 85.714, [("80", "85.71")]),
    ("human changed our total", 90.0, Written("80"), 85.714, []),
    ("whole percent", None, None, 100.0, [(None, "100")]),
]


@pytest.mark.parametrize(
    ("canvas", "written", "percent", "expected"),
    [c[1:] for c in TOTAL_CASES],
    ids=[c[0] for c in TOTAL_CASES],
)
def test_total_rules(
    canvas: float | None,
    written: Written | None,
    percent: float,
    expected: list[tuple[str | None, str]],
) -> None:
    inputs = PlanInputs(
        results=[result(reading(1, Status.ON_TIME, 9.0, counted=True), percent=percent)],
        submissions={(STUDENT.id, TOTAL): sub(TOTAL, canvas)},
        total_assignment_id=TOTAL,
        written={(Target.TOTAL, STUDENT.id, TOTAL): written} if written else {},
    )
    plan = build_plan(inputs)
    got = [(a.from_value, a.to_value) for a in plan.actions if a.target is Target.TOTAL]
    assert got == expected
    for action in plan.actions:
        assert action.comment is not None and action.comment.endswith(MARKER)


def test_total_comment_explains_each_reading_on_its_own_line() -> None:
    readings = [
        reading(1, Status.ON_TIME, 9.0, counted=True),
        reading(2, Status.LATE, 8.0),
        reading(3, Status.MISSING, None),
        reading(4, Status.EXCUSED, None),
    ]
    inputs = PlanInputs(
        results=[result(*readings)], submissions={}, total_assignment_id=TOTAL, required=14
    )
    (total,) = [a for a in build_plan(inputs).actions if a.target is Target.TOTAL]
    assert total.comment is not None
    lines = total.comment.splitlines()
    assert lines[0].startswith("Reading summaries total: 50% (70 of 140 points")
    assert lines[1] == "R01 Reading 1: counted, 9."
    assert lines[2].startswith("R02 Reading 2: 0 (late: submitted")
    assert lines[3].startswith("R03 Reading 3: 0 (missing: not submitted by")
    assert lines[4] == "R04 Reading 4: excused."


def test_identical_total_comment_is_not_posted_again() -> None:
    first = PlanInputs(
        results=[result(reading(1, Status.ON_TIME, 9.0, counted=True))],
        submissions={},
        total_assignment_id=TOTAL,
    )
    comment = build_plan(first).actions[0].comment
    assert comment is not None
    posted = sub(TOTAL, 10.0, comments=(Comment(5, SERVICE, comment, LATE_AT),))
    again = build_plan(replace(first, submissions={(STUDENT.id, TOTAL): posted}))
    assert [(a.to_value, a.comment) for a in again.actions] == [("50", None)]


def test_column_lists_counted_and_zeroed_readings_within_canvas_limit() -> None:
    readings = [reading(i, Status.ON_TIME, 9.0, counted=True) for i in range(1, 15)]
    readings += [reading(15, Status.LATE, 8.0), reading(16, Status.MISSING, None)]
    text = column_text(result(*readings))
    assert text == "50% (70/140). Counted: R01–R14. Not counted: R15 (0, late), R16 (0, missing)."
    assert len(text) <= COLUMN_LIMIT
    many = [replace(r, assignment_id=r.assignment_id) for r in readings * 20]
    assert len(column_text(result(*many))) == COLUMN_LIMIT


def test_column_of_a_provisional_student_names_a_counted_zero_once() -> None:
    """Issue 12: "Counted: … R10 … Zeroed: R10 late" read as a contradiction. A zero that counts
    is listed among the counted, marked 0 and why; ungraded summaries are named."""
    readings = [reading(i, Status.ON_TIME, 9.0, counted=True) for i in range(1, 10)]
    readings += [reading(10, Status.LATE, 8.0, counted=True), reading(11, Status.MISSING, None)]
    readings += [reading(12, Status.ON_TIME, None), reading(13, Status.ON_TIME, None)]
    provisional = replace(result(*readings), ungraded_count=2)
    text = column_text(provisional)
    assert text == (
        "50% (70/140) provisional. Counted: R01–R09, R10 (0, late). "
        "Not counted: R11 (0, missing). Ungraded: R12 R13."
    )
    assert text.count("R10") == 1


def test_plan_names_each_reading_by_the_course_label_whatever_the_students_order() -> None:
    """One name per reading: an extension that makes a student's reading 2 due after reading
    3 does not renumber it for that student; plan, comment and column agree."""
    other = Student(8, "Bo", "Bo")
    late_due = datetime(2026, 2, 10, 5, 59, 59, tzinfo=UTC)
    first = result(
        reading(1, Status.ON_TIME, 9.0, counted=True),
        reading(2, Status.MISSING, None),
        reading(3, Status.ON_TIME, 8.0, counted=True),
    )
    moved = [replace(r, student_id=other.id) for r in first.readings]
    moved[1] = replace(moved[1], due_at=late_due)
    second = replace(first, student=other, readings=(moved[0], moved[2], moved[1]))
    plan = build_plan(
        PlanInputs(
            results=[first, second], submissions={}, column_values={}, total_assignment_id=TOTAL
        )
    )
    grades = {(a.student_id, a.label) for a in plan.actions if a.target is Target.GRADE}
    assert grades == {(7, "R02 Reading 2"), (8, "R02 Reading 2")}
    columns = [a.to_value for a in plan.column_actions()]
    assert all("Not counted: R02 (0, missing)." in c for c in columns)
    totals = [a.comment or "" for a in plan.actions if a.target is Target.TOTAL]
    assert all("\nR02 Reading 2: 0 (missing" in c for c in totals)


@pytest.mark.parametrize(
    ("current", "written", "expected"),
    [
        (None, None, 1),  # no datum yet
        ("old text", None, 1),  # differs, never ours: policy writes
        ("HUMAN", Written("old"), 0),  # we wrote "old", someone typed HUMAN: humans win
    ],
)
def test_column_rules(current: str | None, written: Written | None, expected: int) -> None:
    inputs = PlanInputs(
        results=[result(reading(1, Status.ON_TIME, 9.0, counted=True))],
        submissions={},
        column_values={} if current is None else {STUDENT.id: current},
        written={(Target.COLUMN, STUDENT.id, None): written} if written else {},
    )
    plan = build_plan(inputs)
    assert len([a for a in plan.actions if a.target is Target.COLUMN]) == expected
    assert len(plan.overrides) == 1 - expected


def test_no_column_configured_plans_no_column_and_second_plan_is_empty() -> None:
    base = PlanInputs(
        results=[result(reading(1, Status.LATE, 8.0))],
        submissions={(STUDENT.id, 1): sub(1, 8.0)},
    )
    plan = build_plan(base)
    assert [a.target for a in plan.actions] == [Target.GRADE]
    # Canvas after the push: 0 with our comment → the next plan is empty.
    (action,) = plan.actions
    assert action.comment is not None
    after = sub(1, 0.0, grader=SERVICE, comments=(Comment(9, SERVICE, action.comment, LATE_AT),))
    again = build_plan(
        replace(
            base,
            submissions={(STUDENT.id, 1): after},
            written={(Target.GRADE, STUDENT.id, 1): Written("0")},
        )
    )
    assert again.actions == () and again.overrides == ()


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("0", "0", True),
        ("85.71", "85.714", True),
        ("85.7", "85.71", False),
        (None, None, True),
        (None, "0", False),
        ("text", "text", True),
        ("text", "Text", False),
    ],
)
def test_same_value(a: str | None, b: str | None, same: bool) -> None:
    assert same_value(a, b) is same


def test_by_assignment_groups_grade_and_total_actions() -> None:
    readings = [reading(1, Status.LATE, 8.0), reading(2, Status.MISSING, None)]
    inputs = PlanInputs(
        results=[result(*readings)],
        submissions={(STUDENT.id, 1): sub(1, 8.0), (STUDENT.id, 2): sub(2, None)},
        total_assignment_id=TOTAL,
        column_values={},
    )
    plan = build_plan(inputs)
    assert sorted(plan.by_assignment()) == [1, 2, TOTAL]
    assert len(plan.column_actions()) == 1
    assert plan.comments == 2  # the late zero and the total explanation


def test_plan_is_pure_and_apply_has_no_sqlalchemy() -> None:
    """STYLE layout: push/plan.py ✗ canvas, db; push/apply.py ✗ sqlalchemy."""
    import ast
    from pathlib import Path

    import canvas_sync.push as package

    root = Path(package.__file__).parent

    def imports(name: str) -> set[str]:
        tree = ast.parse((root / name).read_text(encoding="utf-8"))
        found = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        found |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        return found

    plan_bad = [
        m for m in imports("plan.py") if m.startswith(("canvas_sync.canvas", "canvas_sync.db"))
    ]
    assert plan_bad == [] and "sqlalchemy" not in imports("plan.py")
    assert not [m for m in imports("apply.py") if m.startswith("sqlalchemy")]


def test_a_reading_not_seen_is_never_written_nor_is_its_students_total() -> None:
    """An UNKNOWN reading (no Canvas row seen) is not zeroed, even over a graded cell, and the
    student's total and column wait until the row is seen."""
    unseen = replace(reading(2, Status.UNKNOWN, None), policy_score=None)
    inputs = PlanInputs(
        results=[
            replace(result(reading(1, Status.MISSING, None), unseen, percent=10.0), unknown_count=1)
        ],
        submissions={(STUDENT.id, TOTAL): sub(TOTAL, 55.0)},
        total_assignment_id=TOTAL,
        column_values={},
    )
    plan = build_plan(inputs)
    assert [(a.target, a.assignment_id, a.to_value) for a in plan.actions] == [
        (Target.GRADE, 1, "0")
    ]
    seen = replace(inputs, results=[replace(inputs.results[0], unknown_count=0)])
    assert {a.target for a in build_plan(seen).actions} == {
        Target.GRADE,
        Target.TOTAL,
        Target.COLUMN,
    }
