"""SPEC §3 discrepancy kinds: one positive and one negative case each, plus ordering rules."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from canvas_sync.domain import (
    Assignment,
    AssignmentGroup,
    Attempt,
    Course,
    CourseSnapshot,
    Finding,
    Kind,
    LatePolicy,
    PolicyConfig,
    RubricCriterion,
    Severity,
    Student,
    Submission,
)
from canvas_sync.errors import ConfigError
from canvas_sync.policy import evaluate_course, find_discrepancies, format_score

DUE = datetime(2026, 3, 11, 4, 59, 59, tzinfo=UTC)  # Mar 10 23:59:59 CDT
NOW = DUE + timedelta(days=2)
RUBRIC = tuple(RubricCriterion(f"c{i}", f"P{i}", 2.0) for i in range(1, 6))
READING = Assignment(11, "JITServe", 7, 10.0, DUE, rubric=RUBRIC)
ADA = Student(5, "Ada Lovelace", "Lovelace, Ada")
GROUP = AssignmentGroup(7, "Reading Summaries", drop_lowest=5)
FIVE = tuple(Assignment(20 + i, f"Extra {i}", 7, 10.0, DUE) for i in range(18))  # 18 + 1 = 19


def sub(**kw: Any) -> Submission:
    base: dict[str, Any] = {
        "id": 1,
        "student_id": ADA.id,
        "assignment_id": READING.id,
        "submitted_at": DUE - timedelta(hours=1),
        "cached_due_date": DUE,
        "score": 10.0,
    }
    base.update(kw)
    return Submission(**base)


def rubric(*points: float | None, **extra: float | None) -> dict[str, float | None]:
    items: dict[str, float | None] = {f"c{i + 1}": p for i, p in enumerate(points)}
    items.update(extra)
    return items


@dataclasses.dataclass
class Case:
    """A one-student, one-reading course (unless changed) and the call's extra arguments."""

    subs: tuple[Submission, ...] = ()
    readings: tuple[Assignment, ...] = (READING,)
    students: tuple[Student, ...] = (ADA,)
    groups: tuple[AssignmentGroup, ...] = (GROUP,)
    late_policy: LatePolicy | None = None
    config: PolicyConfig = dataclasses.field(default_factory=PolicyConfig)
    now: datetime = NOW
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    # Canvas sends an unsubmitted row for every assigned student and reading
    # (lib/submission_lifecycle_manager.rb): add them unless a case is about their absence.
    placeholders: bool = True

    def run(self) -> list[Finding]:
        subs = self.subs
        if self.placeholders:
            given = {(s.student_id, s.assignment_id) for s in subs}
            subs += tuple(
                Submission(50_000 + 100 * i + j, st.id, a.id, None, a.due_at)
                for i, st in enumerate(self.students)
                for j, a in enumerate(self.readings)
                if (st.id, a.id) not in given
            )
        snap = CourseSnapshot(
            Course(598, "CS 598"), self.students, self.readings, subs, self.groups,
            self.late_policy,
        )  # fmt: skip
        results = evaluate_course(snap, now=self.now, config=self.config)
        return find_discrepancies(
            snap, results, now=self.now, config=self.config, reading_group_id=7, **self.kwargs
        )


def on_time_everywhere(n: int, score: float = 10.0) -> tuple[Submission, ...]:
    return tuple(sub(id=100 + i, assignment_id=a.id, score=score) for i, a in enumerate(FIVE[:n]))


LATE = DUE + timedelta(minutes=13)  # Mar 11 00:12:59 CDT
EARLY = DUE - timedelta(hours=3)

# id, kind, case, expected (canvas_value, expected_value) or None for "no such finding"
CASES: list[tuple[str, Kind, Callable[[], Case], tuple[str | None, str | None] | None]] = [
    (
        "late-graded",
        Kind.LATE_GRADED,
        lambda: Case((sub(submitted_at=LATE, score=8.0),)),
        ("8", "0"),
    ),
    (
        "late-graded-zero",
        Kind.LATE_GRADED,
        lambda: Case((sub(submitted_at=LATE, score=0.0),)),
        None,
    ),
    ("late-ungraded", Kind.LATE_GRADED, lambda: Case((sub(submitted_at=LATE, score=None),)), None),
    ("missing-ungraded", Kind.MISSING_UNGRADED, lambda: Case(()), (None, "0")),
    (
        "missing-not-seen",
        Kind.MISSING_UNGRADED,
        lambda: Case((), placeholders=False),
        None,
    ),
    (
        "submission-not-seen",
        Kind.SUBMISSION_NOT_SEEN,
        lambda: Case((), placeholders=False),
        (None, None),
    ),
    (
        "submission-seen",
        Kind.SUBMISSION_NOT_SEEN,
        lambda: Case(()),
        None,
    ),
    (
        "submission-not-assigned",
        Kind.SUBMISSION_NOT_SEEN,
        lambda: Case(
            (),
            readings=(dataclasses.replace(READING, only_visible_to_overrides=True),),
            placeholders=False,
        ),
        None,
    ),
    (
        "missing-zeroed",
        Kind.MISSING_UNGRADED,
        lambda: Case((sub(submitted_at=None, score=0.0),)),
        None,
    ),
    (
        "missing-not-due",
        Kind.MISSING_UNGRADED,
        lambda: Case((), now=DUE - timedelta(hours=1)),
        None,
    ),
    (
        "late-resubmission",
        Kind.LATE_RESUBMISSION,
        lambda: Case(
            (sub(submitted_at=LATE, score=9.5, history=(Attempt(1, EARLY), Attempt(2, LATE))),)
        ),
        ("9.5", "9.5"),
    ),
    ("no-resubmission", Kind.LATE_RESUBMISSION, lambda: Case((sub(),)), None),
    (
        "score-above",
        Kind.SCORE_OUT_OF_RANGE,
        lambda: Case((sub(score=12.0),)),
        ("12", "0..10 in steps of 1"),
    ),
    (
        "score-negative",
        Kind.SCORE_OUT_OF_RANGE,
        lambda: Case((sub(score=-1.0),)),
        ("-1", "0..10 in steps of 1"),
    ),
    (
        "score-half",
        Kind.SCORE_OUT_OF_RANGE,
        lambda: Case((sub(score=7.5),)),
        ("7.5", "0..10 in steps of 1"),
    ),
    (
        "score-half-ok-with-half-step",
        Kind.SCORE_OUT_OF_RANGE,
        lambda: Case((sub(score=7.5),), config=PolicyConfig(rubric_step=0.5)),
        None,
    ),
    ("score-in-range", Kind.SCORE_OUT_OF_RANGE, lambda: Case((sub(score=10.0),)), None),
    ("score-zero", Kind.SCORE_OUT_OF_RANGE, lambda: Case((sub(score=0.0),)), None),
    (
        "rubric-sum",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(score=9.0, rubric_assessment=rubric(2, 2, 2, 2, 2)),)),
        ("10", "9"),
    ),
    (
        "rubric-invalid-item",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(score=8.0, rubric_assessment=rubric(3, 1, 2, 2, 0)),)),
        ("8", "8"),
    ),
    (
        "rubric-half-item",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(score=8.5, rubric_assessment=rubric(2, 2, 2, 2, 0.5)),)),
        ("8.5", "8.5"),
    ),
    (
        "rubric-unknown-criterion",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(score=10.0, rubric_assessment=rubric(2, 2, 2, 2, c9=2)),)),
        ("10", "10"),
    ),
    (
        "rubric-no-score",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(score=None, rubric_assessment=rubric(2, 2, 2, 2, 2)),)),
        ("10", None),
    ),
    (
        "rubric-ok",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(score=7.0, rubric_assessment=rubric(2, 1, 2, 0, 2)),)),
        None,
    ),
    (
        # Graded 8 by the rubric; Canvas's Late Policy took 1 point: not a rubric error.
        "rubric-ok-after-late-deduction",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(score=7.0, entered_score=8.0, rubric_assessment=rubric(2, 2, 2, 1, 1)),)),
        None,
    ),
    (
        "rubric-sum-against-entered-score",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(score=8.0, entered_score=9.0, rubric_assessment=rubric(2, 2, 2, 1, 1)),)),
        ("8", "9"),
    ),
    (
        # Push wrote the policy's 0 over a late 8: the items no longer sum, and that is fine.
        "rubric-late-zeroed-by-policy",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(submitted_at=LATE, score=0.0, rubric_assessment=rubric(2, 2, 2, 1, 1)),)),
        None,
    ),
    (
        "rubric-missing-zeroed-by-policy",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(submitted_at=None, score=0.0, rubric_assessment=rubric(2, 2, 2, 1, 1)),)),
        None,
    ),
    (
        "rubric-comment-only",
        Kind.RUBRIC_MISMATCH,
        lambda: Case((sub(score=7.0, rubric_assessment=rubric(None, None)),)),
        None,
    ),
    (
        "ungraded",
        Kind.UNGRADED,
        lambda: Case((sub(score=None),), now=DUE + timedelta(days=7, seconds=1)),
        (None, None),
    ),
    (
        "ungraded-within-days",
        Kind.UNGRADED,
        lambda: Case((sub(score=None),), now=DUE + timedelta(days=7)),
        None,
    ),
    (
        "ungraded-no-due-uses-submission",
        Kind.UNGRADED,
        lambda: Case(
            (sub(score=None, cached_due_date=None),),
            readings=(dataclasses.replace(READING, due_at=None),),
            now=DUE + timedelta(days=7),
        ),
        (None, None),
    ),
    ("graded", Kind.UNGRADED, lambda: Case((sub(),), now=DUE + timedelta(days=30)), None),
    (
        "graded-without-submission",
        Kind.GRADED_WITHOUT_SUBMISSION,
        lambda: Case((sub(submitted_at=None, score=7.0),)),
        ("7", None),
    ),
    ("graded-with-submission", Kind.GRADED_WITHOUT_SUBMISSION, lambda: Case((sub(),)), None),
    (
        "over-submitted",
        Kind.OVER_SUBMITTED,
        lambda: Case((sub(), *on_time_everywhere(14)), readings=(READING, *FIVE)),
        ("15", "14"),
    ),
    (
        "exactly-required",
        Kind.OVER_SUBMITTED,
        lambda: Case((sub(), *on_time_everywhere(13)), readings=(READING, *FIVE)),
        None,
    ),
    (
        "at-risk",
        Kind.AT_RISK,
        lambda: Case((sub(), *on_time_everywhere(12)), readings=(READING, *FIVE)),
        ("13", "14"),
    ),
    (
        "not-at-risk",
        Kind.AT_RISK,
        lambda: Case((sub(), *on_time_everywhere(13)), readings=(READING, *FIVE)),
        None,
    ),
    (
        "total-mismatch",
        Kind.TOTAL_MISMATCH,
        lambda: Case((sub(score=8.0),), kwargs={"total_scores": {ADA.id: 100.0}}),
        ("100", "80"),
    ),
    (
        "total-rounded-equal",
        Kind.TOTAL_MISMATCH,
        lambda: Case(
            (sub(score=8.0),),
            readings=(READING, FIVE[0], FIVE[1]),
            kwargs={"total_scores": {ADA.id: 26.67}},
        ),
        None,
    ),
    (
        "total-none",
        Kind.TOTAL_MISMATCH,
        lambda: Case((sub(),), kwargs={"total_scores": {ADA.id: None}}),
        None,
    ),
    ("no-total-assignment", Kind.TOTAL_MISMATCH, lambda: Case((sub(),)), None),
    (
        "due-date-mismatch",
        Kind.DUE_DATE_MISMATCH,
        lambda: Case((sub(),), kwargs={"syllabus_due": {READING.id: DUE - timedelta(days=1)}}),
        ("2026-03-11T04:59:59Z", "2026-03-10T04:59:59Z"),
    ),
    (
        "due-date-fancy-midnight-equal",
        Kind.DUE_DATE_MISMATCH,
        lambda: Case(
            (sub(),), kwargs={"syllabus_due": {READING.id: DUE.replace(microsecond=999999)}}
        ),
        None,
    ),
    (
        "group-rule",
        Kind.GROUP_RULE_MISMATCH,
        lambda: Case(
            (), readings=(READING, *FIVE), groups=(dataclasses.replace(GROUP, drop_lowest=4),)
        ),
        ("drop_lowest=4", "drop_lowest=5"),
    ),
    (
        "group-never-drop",
        Kind.GROUP_RULE_MISMATCH,
        lambda: Case(
            (), readings=(READING, *FIVE), groups=(dataclasses.replace(GROUP, never_drop=(11,)),)
        ),
        ("never_drop=[11]", "never_drop=[]"),
    ),
    (
        "group-drop-highest",
        Kind.GROUP_RULE_MISMATCH,
        lambda: Case(
            (),
            readings=(READING, *FIVE),
            groups=(dataclasses.replace(GROUP, drop_lowest=5, drop_highest=1),),
        ),
        ("drop_highest=1", "drop_highest=0"),
    ),
    ("group-ok", Kind.GROUP_RULE_MISMATCH, lambda: Case((), readings=(READING, *FIVE)), None),
    (
        "group-unknown",
        Kind.GROUP_RULE_MISMATCH,
        lambda: Case(
            (), readings=(READING, *FIVE), groups=(dataclasses.replace(GROUP, id=8, drop_lowest=0),)
        ),
        None,
    ),
    (
        "assignment-missing",
        Kind.ASSIGNMENT_MISSING,
        lambda: Case((sub(),), kwargs={"unmatched_titles": ["Measuring Agents in Production"]}),
        (None, "Measuring Agents in Production"),
    ),
    ("all-matched", Kind.ASSIGNMENT_MISSING, lambda: Case((sub(),)), None),
    (
        "late-policy-deducts",
        Kind.LATE_POLICY_CONFLICT,
        lambda: Case((sub(),), late_policy=LatePolicy(True, 10.0)),
        ("late_submission_deduction=10%", "no Canvas late deduction"),
    ),
    (
        # Canvas scores missing work 10 × (1 − 70%) = 3 itself; the syllabus says 0.
        "missing-policy-deducts-less-than-all",
        Kind.MISSING_POLICY_CONFLICT,
        lambda: Case(
            (sub(),),
            late_policy=LatePolicy(
                missing_submission_deduction_enabled=True, missing_submission_deduction=70.0
            ),
        ),
        ("missing_submission_deduction=70%", "missing_submission_deduction=100% or off"),
    ),
    (
        # A 100% missing deduction scores missing work 0, as the syllabus does: no conflict.
        "missing-policy-deducts-all",
        Kind.MISSING_POLICY_CONFLICT,
        lambda: Case(
            (sub(),),
            late_policy=LatePolicy(
                missing_submission_deduction_enabled=True, missing_submission_deduction=100.0
            ),
        ),
        None,
    ),
    (
        "missing-policy-is-not-a-late-policy-conflict",
        Kind.LATE_POLICY_CONFLICT,
        lambda: Case(
            (sub(),),
            late_policy=LatePolicy(
                missing_submission_deduction_enabled=True, missing_submission_deduction=70.0
            ),
        ),
        None,
    ),
    (
        "late-policy-zero",
        Kind.LATE_POLICY_CONFLICT,
        lambda: Case((sub(),), late_policy=LatePolicy(True, 0.0)),
        None,
    ),
    ("no-late-policy", Kind.LATE_POLICY_CONFLICT, lambda: Case((sub(),)), None),
    (
        # A late summary with a Canvas custom status: reported, never zeroed (late_graded).
        "custom-status-on-late-work",
        Kind.CUSTOM_GRADE_STATUS,
        lambda: Case((sub(submitted_at=LATE, score=8.0, custom_grade_status_id=3),)),
        ("3", None),
    ),
    (
        "custom-status-is-not-late-graded",
        Kind.LATE_GRADED,
        lambda: Case((sub(submitted_at=LATE, score=8.0, custom_grade_status_id=3),)),
        None,
    ),
    (
        "custom-status-applied-anyway",
        Kind.CUSTOM_GRADE_STATUS,
        lambda: Case(
            (sub(submitted_at=LATE, score=8.0, custom_grade_status_id=3),),
            config=PolicyConfig(apply_to_custom_statuses=True),
        ),
        None,
    ),
    (
        # The total assignment landed in the reading group: one reading too many.
        "pool-larger-than-configured",
        Kind.POOL_MISMATCH,
        lambda: Case(
            (sub(),),
            readings=(READING, FIVE[0]),
            kwargs={"configured_pool": 1, "extra_readings": ("Reading Summaries Total",)},
        ),
        ("2", "1"),
    ),
    (
        "pool-as-configured",
        Kind.POOL_MISMATCH,
        lambda: Case((sub(),), kwargs={"configured_pool": 1}),
        None,
    ),
]

STUDENT_KINDS = {Kind.OVER_SUBMITTED, Kind.AT_RISK, Kind.TOTAL_MISMATCH}
COURSE_KINDS = {
    Kind.GROUP_RULE_MISMATCH,
    Kind.ASSIGNMENT_MISSING,
    Kind.LATE_POLICY_CONFLICT,
    Kind.POOL_MISMATCH,
    Kind.MISSING_POLICY_CONFLICT,
}


@pytest.mark.parametrize(("kind", "make", "values"), [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_each_kind(
    kind: Kind, make: Callable[[], Case], values: tuple[str | None, str | None] | None
) -> None:
    found = [f for f in make().run() if f.kind is kind]
    if values is None:
        assert found == []
        return
    assert len(found) == 1
    finding = found[0]
    assert (finding.canvas_value, finding.expected_value) == values
    assert finding.severity is kind.severity
    assert finding.message and "\n" not in finding.message
    if kind in COURSE_KINDS or kind is Kind.DUE_DATE_MISMATCH:
        assert finding.student_id is None
    else:
        assert finding.student_id == ADA.id
    if kind in STUDENT_KINDS or kind in COURSE_KINDS:
        assert finding.assignment_id is None
    else:
        assert finding.assignment_id == READING.id


def test_every_kind_but_manual_override_is_covered() -> None:
    covered = {c[1] for c in CASES if c[3] is not None}
    # manual_override comes from the push journal, unusable_record from the pull.
    assert covered == set(Kind) - {Kind.MANUAL_OVERRIDE, Kind.UNUSABLE_RECORD}


def test_late_message_uses_course_time_zone() -> None:
    case = Case((sub(submitted_at=DUE + timedelta(minutes=12, seconds=1), score=8.0),))
    (finding,) = [f for f in case.run() if f.kind is Kind.LATE_GRADED]
    assert finding.message == (
        "Late: submitted Mar 11 00:12 CDT, due Mar 10 23:59 CDT; Canvas score 8, policy 0."
    )
    assert finding.severity is Severity.ERROR


def test_winter_message_shows_cst() -> None:
    winter = datetime(2026, 2, 5, 5, 59, 59, tzinfo=UTC)  # Feb 4 23:59:59 CST
    reading = dataclasses.replace(READING, due_at=winter)
    case = Case((), readings=(reading,), now=winter + timedelta(days=1))
    (finding,) = [f for f in case.run() if f.kind is Kind.MISSING_UNGRADED]
    assert "due Feb 4 23:59 CST" in finding.message


def test_unknown_time_zone_is_a_config_error() -> None:
    case = Case((sub(),), kwargs={"time_zone": "Mars/Olympus"})
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        case.run()


def test_excluded_students_produce_no_findings() -> None:
    ghosts = (
        Student(6, "Test", "Student, Test", is_test_student=True),
        Student(7, "Gone", "Gone, G", enrollment_state="inactive"),
    )
    subs = tuple(sub(id=s.id, student_id=s.id, submitted_at=LATE, score=9.0) for s in ghosts)
    snap = CourseSnapshot(Course(598, "CS 598"), ghosts, (READING,), subs)
    results = evaluate_course(snap, now=NOW, config=PolicyConfig())
    assert find_discrepancies(snap, results, now=NOW, config=PolicyConfig()) == []
    # Even when a caller passes results for an excluded student, nothing is reported.
    from canvas_sync.policy import evaluate_student

    forced = [
        evaluate_student(
            ghosts[0], (READING,), {READING.id: subs[0]}, now=NOW, config=PolicyConfig()
        )
    ]
    assert find_discrepancies(snap, forced, now=NOW, config=PolicyConfig()) == []


def test_excused_readings_produce_no_reading_findings() -> None:
    case = Case((sub(excused=True, submitted_at=LATE, score=12.0),))
    assert [f for f in case.run() if f.assignment_id is not None] == []


def test_findings_sorted_and_independent_of_input_order() -> None:
    bob = Student(4, "Bob", "Bee, Bob")
    subs = (
        sub(submitted_at=LATE, score=12.0),
        sub(id=2, student_id=bob.id, submitted_at=None, score=None),
    )
    kwargs = {
        "unmatched_titles": ["B title", "A title"],
        "total_scores": {ADA.id: 3.0, bob.id: 9.0},
    }
    one = Case(subs, students=(ADA, bob), late_policy=LatePolicy(True, 5.0), kwargs=kwargs).run()
    two = Case(
        tuple(reversed(subs)), students=(bob, ADA), late_policy=LatePolicy(True, 5.0), kwargs=kwargs
    ).run()
    assert one == two
    keys = [(f.student_id or -1, f.assignment_id or -1) for f in one]
    assert keys == sorted(keys)
    missing = [f for f in one if f.kind is Kind.ASSIGNMENT_MISSING]
    assert [f.expected_value for f in missing] == ["B title; A title"]
    assert "'B title', 'A title'" in missing[0].message
    assert len({f.key for f in one}) == len(one)  # one finding per (kind, student, assignment)
    assert {f.kind for f in one if f.student_id == ADA.id} >= {
        Kind.LATE_GRADED,
        Kind.SCORE_OUT_OF_RANGE,
    }


@pytest.mark.parametrize(
    ("value", "text"),
    [(8.0, "8"), (7.5, "7.5"), (None, None), (0.0, "0"), (-0.0, "0"), (-1.0, "-1"), (8, "8"),
     (57.142857142857146, "57.142857"), (0.1 + 0.2, "0.3"), (100.0, "100"), (1e20, "1e+20")],
)  # fmt: skip
def test_format_score(value: float | None, text: str | None) -> None:
    assert format_score(value) == text


def test_long_values_are_clipped_to_the_stored_width() -> None:
    titles = [f"A very long configured reading title number {i:02d}" for i in range(19)]
    (finding,) = [
        f
        for f in Case((sub(),), kwargs={"unmatched_titles": titles}).run()
        if f.kind is Kind.ASSIGNMENT_MISSING
    ]
    assert finding.expected_value is not None and len(finding.expected_value) == 255
    assert finding.expected_value.endswith("…")
    assert all(t in finding.message for t in titles)
    assert "19 readings" in finding.message


def test_pool_mismatch_names_the_extra_and_the_missing_assignments() -> None:
    case = Case(
        (sub(),),
        readings=(READING, FIVE[0]),
        kwargs={
            "configured_pool": 3,
            "extra_readings": ("Reading Summaries Total",),
            "unmatched_titles": ("LoRA", "AWQ"),
        },
    )
    (found,) = [f for f in case.run() if f.kind is Kind.POOL_MISMATCH]
    assert found.severity is Severity.ERROR
    assert "'Reading Summaries Total'" in found.message
    assert "'LoRA', 'AWQ'" in found.message
