"""Hand-built policy results and discrepancies for the report tests.

Five CS 598 readings with their real due times (23:59:59 America/Chicago the night before the
lecture: CST before 2026-03-08, CDT after), four included students with hostile names, and
two students who must never be reported (the Canvas test student, an inactive enrollment).
Readings are given out of order on purpose so the tests see the report sort them.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime

from canvas_sync.domain import (
    Course,
    DiscrepancyRecord,
    Kind,
    PolicyConfig,
    ReadingResult,
    Status,
    Student,
    StudentResult,
)

COURSE = Course(id=598, name="CS 598: Systems for Generative AI (S'26)")
CONFIG = PolicyConfig()
POOL = 19
GENERATED_AT = datetime(2026, 3, 20, 15, 0, 0, 123456, tzinfo=UTC)

# assignment id -> (title, due_at UTC)
DIFFUSION, MEGATRON, MOE, JITSERVE, MULTI_AGENT = 101, 102, 103, 112, 119
TITLES = {
    DIFFUSION: "The Illustrated Stable Diffusion",
    MEGATRON: "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM",
    MOE: "Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts Layer",
    JITSERVE: "JITServe: SLO-aware LLM Serving with Imprecise Request Information",
    MULTI_AGENT: "Why Do Multi-Agent LLM Systems Fail?",
}
DUE = {
    DIFFUSION: datetime(2026, 2, 4, 5, 59, 59, tzinfo=UTC),  # Feb 3 23:59:59 CST
    MEGATRON: datetime(2026, 2, 6, 5, 59, 59, tzinfo=UTC),  # two readings share Feb 6
    MOE: datetime(2026, 2, 6, 5, 59, 59, tzinfo=UTC),
    JITSERVE: datetime(2026, 3, 11, 4, 59, 59, tzinfo=UTC),  # Mar 10 23:59:59 CDT
    MULTI_AGENT: datetime(2026, 4, 24, 4, 59, 59, tzinfo=UTC),  # not yet due
}
DUE_ORDER = [DIFFUSION, MEGATRON, MOE, JITSERVE, MULTI_AGENT]
ANNA_JITSERVE_DUE = datetime(2026, 3, 13, 4, 59, 59, tzinfo=UTC)  # an individual extension

SCRIPT_NAME = '<script>alert("x")</script>'
FORMULA_NAME = '=HYPERLINK("evil.example","click")'
MARKUP_NAME = "[bold red]Rich[/bold red] Markup"

WEI = Student(1001, "Wei Zhang", "Zhang, Wei", sis_user_id="wzhang12")
ANNA = Student(1002, "Anna de Vries", "de Vries, Anna", sis_user_id="avries2")
SCRIPT = Student(1003, SCRIPT_NAME, SCRIPT_NAME)
FORMULA = Student(1004, FORMULA_NAME, "Formula, Eve", sis_user_id="@SUM(A1:A9)")
MARKUP = Student(1005, MARKUP_NAME, "Markup, Rich", sis_user_id="-rm")
TEST_STUDENT = Student(1900, "Test Student", "Student, Test", is_test_student=True)
DROPPED = Student(1901, "Dropped Dan", "Dan, Dropped", enrollment_state="inactive")

# sortable_name order, case-insensitive like Canvas: "<" sorts before letters, and "de Vries"
# sits among the D's (a plain str sort would put it after every capitalised name).
EXPECTED_ORDER = [SCRIPT.id, ANNA.id, FORMULA.id, MARKUP.id, WEI.id]


@dataclass(frozen=True)
class Row:
    """One reading of a student, compactly: what the policy engine would have decided."""

    assignment_id: int
    status: Status
    canvas: float | None = None
    policy: float | None = None
    counted: bool = False
    submitted: datetime | None = None
    due: datetime | None = None
    exempted: bool = False


def reading(student: Student, row: Row) -> ReadingResult:
    due = row.due if row.due is not None else DUE[row.assignment_id]
    return ReadingResult(
        student_id=student.id,
        assignment_id=row.assignment_id,
        name=TITLES[row.assignment_id],
        due_at=due,
        submitted_at=row.submitted,
        status=row.status,
        canvas_score=row.canvas,
        policy_score=row.policy,
        counted=row.counted,
        exempted=row.exempted,
    )


def result(
    student: Student, rows: list[Row], *, points: float, at_risk: bool = False
) -> StudentResult:
    """A StudentResult with totals as SPEC §2 defines them (possible 140, weight 20)."""
    readings = tuple(reading(student, r) for r in reversed(rows))  # deliberately unsorted
    on_time = sum(1 for r in rows if r.status in (Status.ON_TIME, Status.LATE_RESUBMISSION))
    ungraded = sum(1 for r in rows if r.status is Status.ON_TIME and r.policy is None)
    percent = 100 * points / 140
    return StudentResult(
        student=student,
        readings=readings,
        points=points,
        possible=140.0,
        percent=percent,
        weighted=percent * 20 / 100,
        on_time_count=on_time,
        ungraded_count=ungraded,
        at_risk=at_risk,
        submitted_count=sum(1 for r in rows if r.submitted is not None),
    )


def _at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def all_on_time(student: Student, score: float) -> list[Row]:
    return [
        Row(a, Status.ON_TIME, score, score, True, DUE[a].replace(hour=1)) for a in DUE_ORDER[:4]
    ] + [Row(MULTI_AGENT, Status.PENDING)]


def results() -> list[StudentResult]:
    """Five included students and two excluded ones, in no particular order."""
    wei = [
        Row(DIFFUSION, Status.ON_TIME, 9.0, 9.0, True, _at(2, 4, 3, 12)),
        Row(MEGATRON, Status.LATE, 8.0, 0.0, True, _at(2, 6, 7, 30)),
        Row(MOE, Status.MISSING, None, 0.0, True),
        Row(JITSERVE, Status.LATE, None, 0.0, True, _at(3, 11, 5, 0)),
        Row(MULTI_AGENT, Status.PENDING),
    ]
    anna = [
        # submitted 2 h late, but the instructor exempted it from the late rule (SPEC §4)
        Row(DIFFUSION, Status.ON_TIME, 10.0, 10.0, True, _at(2, 4, 8), exempted=True),
        Row(MEGATRON, Status.EXCUSED, None, None),
        Row(MOE, Status.LATE_RESUBMISSION, 8.5, 8.5, True, _at(2, 6, 9)),
        Row(JITSERVE, Status.ON_TIME, None, None, False, _at(3, 12, 22), ANNA_JITSERVE_DUE),
        Row(MULTI_AGENT, Status.PENDING),
    ]
    return [
        result(WEI, wei, points=9.0, at_risk=True),
        result(SCRIPT, all_on_time(SCRIPT, 7.0), points=28.0),
        result(ANNA, anna, points=18.5),
        result(TEST_STUDENT, all_on_time(TEST_STUDENT, 10.0), points=40.0),
        result(FORMULA, all_on_time(FORMULA, 6.0), points=24.0),
        result(MARKUP, all_on_time(MARKUP, 20.0 / 3), points=80.0 / 3),
        result(DROPPED, all_on_time(DROPPED, 5.0), points=20.0),
    ]


def anna_undated() -> StudentResult:
    """Anna with a reading that has no due date at all (it must sort last)."""
    rows = [
        Row(MULTI_AGENT, Status.PENDING),
        Row(DIFFUSION, Status.ON_TIME, 10.0, 10.0, True, _at(2, 3, 20)),
    ]
    base = result(ANNA, rows, points=10.0)
    readings = tuple(
        replace(r, due_at=None) if r.assignment_id == MULTI_AGENT else r for r in base.readings
    )
    return replace(base, readings=readings)


def discrepancies() -> list[DiscrepancyRecord]:
    """Discrepancies in no particular order; 11 and 12 belong to excluded students."""
    return [
        DiscrepancyRecord(
            9,
            Kind.UNGRADED,
            ANNA.id,
            JITSERVE,
            None,
            "a score",
            "JITServe summary still ungraded 8 days after its due date",
        ),
        DiscrepancyRecord(
            7,
            Kind.LATE_GRADED,
            WEI.id,
            MEGATRON,
            "8",
            "0",
            "Submitted 2026-02-06 01:30 CST, due 2026-02-05 23:59:59 CST; late work scores 0",
        ),
        DiscrepancyRecord(
            3,
            Kind.MISSING_UNGRADED,
            WEI.id,
            MOE,
            None,
            "0",
            "No submission and no score; push will write 0",
        ),
        DiscrepancyRecord(
            5, Kind.AT_RISK, WEI.id, None, "3", "14", "Can reach at most 3 on-time summaries of 14"
        ),
        DiscrepancyRecord(
            2,
            Kind.DUE_DATE_MISMATCH,
            None,
            DIFFUSION,
            "2026-02-05T05:59:59Z",
            "2026-02-04T05:59:59Z",
            "Canvas due date is a day after the syllabus date",
        ),
        DiscrepancyRecord(
            4,
            Kind.GROUP_RULE_MISMATCH,
            None,
            None,
            "drop_lowest=0",
            "drop_lowest=5",
            "The Reading Summaries group drops nothing",
            state="acknowledged",
        ),
        DiscrepancyRecord(
            6,
            Kind.RUBRIC_MISMATCH,
            SCRIPT.id,
            DIFFUSION,
            "7",
            "<b>6</b>",
            'Rubric sums to 6 but score is 7 <img src="x" onerror="alert(1)">',
            state="resolved",
        ),
        DiscrepancyRecord(
            11, Kind.LATE_GRADED, TEST_STUDENT.id, MEGATRON, "10", "0", "test student"
        ),
        DiscrepancyRecord(12, Kind.MANUAL_OVERRIDE, DROPPED.id, DIFFUSION, "5", "0", "dropped"),
    ]
