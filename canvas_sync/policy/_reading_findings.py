"""Reading-level discrepancies (SPEC §3): one student's readings against the policy and rubric.

late_graded, missing_ungraded, late_resubmission, ungraded, graded_without_submission,
score_out_of_range, rubric_mismatch, submission_not_seen and custom_grade_status. A course has
190,000 (student, reading) pairs at 10,000 students and most have no finding, so
`ReadingChecks.run` decides that with as little work as possible and formats messages only for
the findings that exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from functools import lru_cache
from operator import attrgetter

from canvas_sync.domain import (
    Assignment,
    CourseSnapshot,
    Kind,
    PolicyConfig,
    ReadingResult,
    Status,
    StudentResult,
    Submission,
)

from ._build import FindingFields, finding
from ._rubric import RubricCheck, ratings
from ._text import Clock, format_score, is_multiple

__all__ = ["ReadingChecks"]

# Members bound once: on Python 3.11 `Status.X` and `Kind.X` are descriptor lookups (~150 ns),
# paid for every (student, reading) of a course.
_EXCUSED, _ON_TIME, _LATE_RESUBMISSION = Status.EXCUSED, Status.ON_TIME, Status.LATE_RESUBMISSION
_LATE, _MISSING = Status.LATE, Status.MISSING
_UNKNOWN, _UNASSIGNED = Status.UNKNOWN, Status.UNASSIGNED
_LATE_GRADED, _MISSING_UNGRADED = Kind.LATE_GRADED, Kind.MISSING_UNGRADED
_ASSIGNMENT_ID = attrgetter("assignment_id")
_NO_SUBMISSIONS: Mapping[int, Submission] = {}
# Scores repeat (0-10 for CS 598): format each once. Equal numbers format alike (8 and 8.0 → "8",
# 0.0 and -0.0 → "0"), so sharing a cache entry between them is exact.
_shown = lru_cache(maxsize=1024)(format_score)


def _make(
    kind: Kind,
    reading: ReadingResult,
    canvas_value: str | None,
    expected_value: str | None,
    message: str,
) -> FindingFields:
    """The fields of a finding about one (student, reading)."""
    return finding(
        kind, reading.student_id, reading.assignment_id, canvas_value, expected_value, message
    )


class _Rules:
    """What one reading's score and rubric are checked against, prepared once per assignment."""

    __slots__ = ("clean_scores", "rubric", "step", "top")

    def __init__(self, assignment: Assignment, config: PolicyConfig) -> None:
        top = assignment.points_possible
        # No points_possible (not a points assignment): fall back to P from the config.
        self.top = config.points_per_summary if top is None else top
        self.step = config.rubric_step
        self.rubric = RubricCheck(assignment, config.rubric_step)
        # Scores `_score_finding` accepts (0, 1, …, 10 for CS 598), for a set lookup per reading.
        self.clean_scores = frozenset(
            s for s in ratings(self.top, self.step) if _score_finding(None, self, s) is None
        )


class ReadingChecks:
    """The reading-level checks of one course, prepared once; `run` checks one student."""

    __slots__ = (
        "clock",
        "config",
        "grace",
        "missing_messages",
        "now",
        "rules",
        "submissions",
        "ungraded_after",
    )

    def __init__(
        self,
        snapshot: CourseSnapshot,
        submissions: Mapping[int, Mapping[int, Submission]],
        now: datetime,
        config: PolicyConfig,
        clock: Clock,
    ) -> None:
        """`submissions` holds the snapshot's rows by student id, then assignment id."""
        self.rules = {a.id: _Rules(a, config) for a in snapshot.readings}
        self.submissions = submissions
        self.now = now
        self.config = config
        self.clock = clock
        self.grace = timedelta(seconds=config.grace_seconds)
        self.ungraded_after = timedelta(days=config.ungraded_after_days)
        self.missing_messages: dict[datetime | None, str] = {}

    def run(self, out: list[FindingFields], result: StudentResult) -> None:
        """Appends the reading findings of one included student to `out`."""
        append = out.append
        readings = result.readings
        # Each reading's rules and the student's submission row, looked up in C.
        ids = list(map(_ASSIGNMENT_ID, readings))
        per_student = self.submissions.get(result.student.id, _NO_SUBMISSIONS)
        rules = map(self.rules.get, ids)
        for reading, rule, sub in zip(readings, rules, map(per_student.get, ids), strict=True):
            status = reading.status
            if status is _EXCUSED or status is _UNASSIGNED or rule is None:
                continue
            score = reading.canvas_score
            if sub is not None and sub.custom_grade_status_id is not None:
                found = _custom_status(reading, sub, self.config)
                if found is not None:
                    append(found)
            # Graded on-time work has no status finding: the common case skips the call.
            if status is not _ON_TIME or score is None or reading.submitted_at is None:
                found = self._status_finding(reading, status, score, sub)
                if found is not None:
                    append(found)
            if (
                score is not None
                and score not in rule.clean_scores
                and (found := _score_finding(reading, rule, score)) is not None
            ):
                append(found)
            # A reading the policy zeroes (late or missing) is not checked against its rubric:
            # after push writes that 0, the items still add up to the grade it replaced.
            if (
                sub is not None
                and sub.rubric_assessment
                and status is not _LATE
                and status is not _MISSING
            ):
                assessment, rubric = sub.rubric_assessment, rule.rubric
                # What the grader entered (before any Late Policy deduction) is what the
                # rubric adds up to.
                graded = sub.entered_score if sub.entered_score is not None else sub.score
                # The common case, checked in C: known criteria, valid ratings, summing to the
                # score. Anything else takes RubricCheck's full check.
                if (
                    graded is None
                    or not rubric.ids.issuperset(assessment)
                    or not rubric.ratings.issuperset(assessment.values())
                    or not abs(sum(assessment.values()) - graded) <= 1e-9  # type: ignore[arg-type]
                ):
                    _rubric_mismatch(out, reading, rubric, sub)

    def _status_finding(
        self, reading: ReadingResult, status: Status, score: float | None, sub: Submission | None
    ) -> FindingFields | None:
        """The status-driven finding of a reading, if any."""
        clock = self.clock
        if status is _ON_TIME:
            return self._on_time_finding(reading, score)
        if status is _LATE:
            return None if score is None or score == 0 else _late_graded(reading, score, sub, clock)
        if status is _MISSING:
            if score is not None:
                return None
            # The message depends on the due date alone: made once per due date.
            message = self.missing_messages.get(reading.due_at)
            if message is None:
                message = (
                    f"Missing: not submitted, due {clock.show(reading.due_at)}; "
                    "no Canvas score, policy 0."
                )
                self.missing_messages[reading.due_at] = message
            return _make(_MISSING_UNGRADED, reading, None, "0", message)
        if status is _LATE_RESUBMISSION and sub is not None:
            return _late_resubmission(reading, sub, self.grace, clock)
        if status is _UNKNOWN:
            return _make(
                Kind.SUBMISSION_NOT_SEEN,
                reading,
                None,
                None,
                f"Not seen: Canvas sent no submission for this reading (due "
                f"{clock.show(reading.due_at)}), though it keeps one for every assigned student; "
                "the grade is unknown, so it is not scored and push leaves it alone.",
            )
        return None

    def _on_time_finding(self, reading: ReadingResult, score: float | None) -> FindingFields | None:
        """ungraded (still no score N days after the due date) and graded_without_submission."""
        clock = self.clock
        submitted = reading.submitted_at
        if submitted is None:
            if score is not None:
                shown = _shown(score)
                return _make(
                    Kind.GRADED_WITHOUT_SUBMISSION,
                    reading,
                    shown,
                    None,
                    f"Graded without submission: Canvas score {shown} but nothing submitted "
                    f"online (due {clock.show(reading.due_at)}); counted as on time.",
                )
            return None
        if score is not None:
            return None
        # With no due date, the clock starts at the submission instead.
        start = reading.due_at if reading.due_at is not None else submitted
        if self.now > start + self.ungraded_after:
            return _make(
                Kind.UNGRADED,
                reading,
                None,
                None,
                f"Ungraded: submitted {clock.show_once(submitted)}, "
                f"due {clock.show(reading.due_at)}; "
                f"still no score {self.config.ungraded_after_days} days after the due date.",
            )
        return None


def _custom_status(
    reading: ReadingResult, sub: Submission, config: PolicyConfig
) -> FindingFields | None:
    """custom_grade_status: Canvas holds a custom grade status; the policy leaves the reading
    alone (unless `policy.apply_to_custom_statuses`), and a TA should know."""
    if config.apply_to_custom_statuses:
        return None
    status = str(sub.custom_grade_status_id)
    shown = _shown(reading.canvas_score)
    return _make(
        Kind.CUSTOM_GRADE_STATUS,
        reading,
        status,
        None,
        f"Custom grade status: Canvas marks this reading with custom status {status} "
        f"(Canvas score {shown or 'none'}), so it is neither late nor missing and canvas-sync "
        "leaves it alone; set policy.apply_to_custom_statuses = true to apply the syllabus anyway.",
    )


def _late_graded(
    reading: ReadingResult, score: float, sub: Submission | None, clock: Clock
) -> FindingFields:
    """late_graded: late work holds a non-zero Canvas score; the policy gives 0."""
    marked = sub is not None and sub.late_policy_status == "late"
    label = "Late (marked late in Canvas)" if marked else "Late"
    shown = _shown(score)
    return _make(
        _LATE_GRADED,
        reading,
        shown,
        "0",
        f"{label}: submitted {clock.show_once(reading.submitted_at, 'not online')}, "
        f"due {clock.show(reading.due_at)}; Canvas score {shown}, policy 0.",
    )


def _late_resubmission(
    reading: ReadingResult, sub: Submission, grace: timedelta, clock: Clock
) -> FindingFields:
    """late_resubmission: an on-time attempt was followed by a late one; the score is kept."""
    deadline = reading.due_at
    on_time = [
        a.submitted_at
        for a in sub.history
        if a.submitted_at is not None
        and deadline is not None
        and a.submitted_at <= deadline + grace
    ]
    earlier = max(on_time) if on_time else None
    shown = _shown(reading.canvas_score)
    return _make(
        Kind.LATE_RESUBMISSION,
        reading,
        shown,
        shown,
        f"Late resubmission: latest attempt {clock.show_once(reading.submitted_at)}, "
        f"due {clock.show(deadline)}, earlier attempt {clock.show_once(earlier)} was on time; "
        f"Canvas score {shown or 'none'} kept, check which attempt was graded.",
    )


def _score_finding(
    reading: ReadingResult | None, rule: _Rules, score: float
) -> FindingFields | None:
    """score_out_of_range: outside 0..points_possible or not a multiple of the rubric step.

    With `reading` None (preparing `_Rules`), only says whether there is a finding.
    """
    if 0 <= score <= rule.top and float(score).is_integer() and rule.step == 1:
        return None  # the common case, checked cheaply
    problems = []
    if score < 0 or score > rule.top:
        problems.append(f"outside 0..{format_score(rule.top)}")
    if not is_multiple(score, rule.step):
        problems.append(f"not a multiple of {format_score(rule.step)}")
    if not problems:
        return None
    shown = format_score(score)
    return finding(
        Kind.SCORE_OUT_OF_RANGE,
        None if reading is None else reading.student_id,
        None if reading is None else reading.assignment_id,
        shown,
        f"0..{format_score(rule.top)} in steps of {format_score(rule.step)}",
        f"Score out of range: Canvas score {shown} is {' and '.join(problems)}.",
    )


def _rubric_mismatch(
    out: list[FindingFields], reading: ReadingResult, rubric: RubricCheck, sub: Submission
) -> None:
    """rubric_mismatch: an invalid or unknown item, or items that do not sum to the score."""
    # The rubric adds up to what the grader entered; Canvas's Late Policy may then deduct points
    # from `score` (gotcha 4), which is a late_policy_conflict, not a rubric error.
    graded = sub.entered_score if sub.entered_score is not None else sub.score
    problems = rubric.problems(sub.rubric_assessment, graded)
    if not problems:
        return
    total = sum(p for p in sub.rubric_assessment.values() if p is not None)
    out.append(
        _make(
            Kind.RUBRIC_MISMATCH,
            reading,
            format_score(total),
            format_score(graded),
            f"Rubric mismatch: {'; '.join(problems)}.",
        )
    )
