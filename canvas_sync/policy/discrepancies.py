"""Facts → discrepancy findings for TAs (SPEC §3).

Pure: snapshot, policy results and `now` in, a sorted list of `Finding`s out. Each finding is
identified by (kind, student, assignment); storing, de-duplicating and resolving them is the
database layer's job. `manual_override` is made by the push layer, not here.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from canvas_sync.domain import (
    Assignment,
    CourseSnapshot,
    Finding,
    Kind,
    PolicyConfig,
    ReadingResult,
    Status,
    StudentResult,
    Submission,
)
from canvas_sync.errors import ConfigError

from ._course_findings import course_findings
from ._rubric import RubricCheck
from ._text import Clock, format_score, is_multiple
from .totals import required_effective, submissions_by_student

__all__ = ["find_discrepancies", "format_score"]

_KIND_ORDER = {kind: i for i, kind in enumerate(Kind)}
# Members bound once: on Python 3.11 `Status.X` is a descriptor lookup (~150 ns), paid for every
# (student, reading) of a course.
_EXCUSED, _ON_TIME, _LATE_RESUBMISSION = Status.EXCUSED, Status.ON_TIME, Status.LATE_RESUBMISSION
_LATE, _MISSING, _PENDING = Status.LATE, Status.MISSING, Status.PENDING
_NO_SUBMISSIONS: Mapping[int, Submission] = {}


def find_discrepancies(
    snapshot: CourseSnapshot,
    results: Sequence[StudentResult],
    *,
    now: datetime,
    config: PolicyConfig,
    syllabus_due: Mapping[int, datetime] = {},  # never mutated
    unmatched_titles: Sequence[str] = (),
    reading_group_id: int | None = None,
    total_scores: Mapping[int, float | None] | None = None,
    time_zone: str = "America/Chicago",
) -> list[Finding]:
    """Every SPEC §3 discrepancy except `manual_override`, sorted deterministically.

    Only included students produce student-level findings. `syllabus_due` maps assignment id to
    the configured due instant; `unmatched_titles` are configured readings with no Canvas
    assignment; `total_scores` maps student id to Canvas's score of the total assignment
    (percent), or is None when no total assignment exists.
    """
    clock = _clock(time_zone)
    rules = {a.id: _Rules(a, config) for a in snapshot.readings}
    subs = submissions_by_student(snapshot.submissions, rules.keys())
    findings: list[Finding] = []
    for result in results:
        if not result.student.included:
            continue
        per_student = subs.get(result.student.id, _NO_SUBMISSIONS)
        for reading in result.readings:
            rule = rules.get(reading.assignment_id)
            if rule is not None:
                sub = per_student.get(reading.assignment_id)
                _reading_findings(findings, reading, rule, sub, now, config, clock)
        findings.extend(_student_findings(result, config, total_scores))
    findings.extend(
        course_findings(snapshot, config, clock, syllabus_due, unmatched_titles, reading_group_id)
    )
    findings.sort(key=_sort_key)
    return findings


def _clock(time_zone: str) -> Clock:
    try:
        return Clock(ZoneInfo(time_zone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"The course time zone {time_zone!r} is not a known IANA zone; "
            "set it to a name like 'America/Chicago'."
        ) from exc


def _sort_key(f: Finding) -> tuple[int, int, int, str, str]:
    """Course-level findings first, then by student, assignment and kind (SPEC §3 order)."""
    return (
        -1 if f.student_id is None else f.student_id,
        -1 if f.assignment_id is None else f.assignment_id,
        _KIND_ORDER[f.kind],
        f.expected_value or "",
        f.canvas_value or "",
    )


# --- per reading ------------------------------------------------------------------------------


class _Rules:
    """What one reading's score and rubric are checked against, prepared once per assignment."""

    __slots__ = ("rubric", "step", "top")

    def __init__(self, assignment: Assignment, config: PolicyConfig) -> None:
        top = assignment.points_possible
        # No points_possible (not a points assignment): fall back to P from the config.
        self.top = config.points_per_summary if top is None else top
        self.step = config.rubric_step
        self.rubric = RubricCheck(assignment, config.rubric_step)


def _reading_findings(
    out: list[Finding],
    reading: ReadingResult,
    rule: _Rules,
    sub: Submission | None,
    now: datetime,
    config: PolicyConfig,
    clock: Clock,
) -> None:
    """Appends late_graded, missing_ungraded, late_resubmission, ungraded,
    graded_without_submission, score_out_of_range and rubric_mismatch for one (student, reading).
    """
    status = reading.status
    if status is _EXCUSED:
        return
    score = reading.canvas_score
    found: Finding | None = None
    if status is _LATE and score is not None and score != 0:
        found = _late_graded(reading, score, sub, clock)
    elif status is _MISSING and score is None:
        found = _make(
            Kind.MISSING_UNGRADED,
            reading,
            None,
            "0",
            f"Missing: not submitted, due {clock.show(reading.due_at)}; no Canvas score, policy 0.",
        )
    elif status is _LATE_RESUBMISSION and sub is not None:
        found = _late_resubmission(reading, sub, config, clock)
    elif status is _ON_TIME:
        found = _on_time_finding(reading, score, now, config, clock)
    if found is not None:
        out.append(found)
    if score is not None and (found := _score_finding(reading, rule, score)) is not None:
        out.append(found)
    if sub is not None and sub.rubric_assessment:
        problems = rule.rubric.problems(sub.rubric_assessment, sub.score)
        if problems:
            out.append(_rubric_mismatch(reading, sub, problems))


def _make(
    kind: Kind,
    reading: ReadingResult,
    canvas_value: str | None,
    expected_value: str | None,
    message: str,
) -> Finding:
    return Finding(
        kind, reading.student_id, reading.assignment_id, canvas_value, expected_value, message
    )


def _late_graded(
    reading: ReadingResult, score: float, sub: Submission | None, clock: Clock
) -> Finding:
    marked = sub is not None and sub.late_policy_status == "late"
    label = "Late (marked late in Canvas)" if marked else "Late"
    shown = format_score(score)
    return _make(
        Kind.LATE_GRADED,
        reading,
        shown,
        "0",
        f"{label}: submitted {clock.show(reading.submitted_at, 'not online')}, "
        f"due {clock.show(reading.due_at)}; Canvas score {shown}, policy 0.",
    )


def _late_resubmission(
    reading: ReadingResult, sub: Submission, config: PolicyConfig, clock: Clock
) -> Finding:
    deadline = reading.due_at
    on_time = [
        a.submitted_at
        for a in sub.history
        if a.submitted_at is not None
        and deadline is not None
        and a.submitted_at <= deadline + timedelta(seconds=config.grace_seconds)
    ]
    earlier = max(on_time) if on_time else None
    shown = format_score(reading.canvas_score)
    return _make(
        Kind.LATE_RESUBMISSION,
        reading,
        shown,
        shown,
        f"Late resubmission: latest attempt {clock.show(reading.submitted_at)}, "
        f"due {clock.show(deadline)}, earlier attempt {clock.show(earlier)} was on time; "
        f"Canvas score {shown or 'none'} kept, check which attempt was graded.",
    )


def _on_time_finding(
    reading: ReadingResult, score: float | None, now: datetime, config: PolicyConfig, clock: Clock
) -> Finding | None:
    """ungraded (still no score N days after the due date) and graded_without_submission."""
    submitted = reading.submitted_at
    if submitted is None:
        if score is not None:
            shown = format_score(score)
            return _make(
                Kind.GRADED_WITHOUT_SUBMISSION,
                reading,
                shown,
                None,
                f"Graded without submission: Canvas score {shown} but nothing submitted online "
                f"(due {clock.show(reading.due_at)}); counted as on time.",
            )
        return None
    if score is not None:
        return None
    # With no due date, the clock starts at the submission instead.
    start = reading.due_at if reading.due_at is not None else submitted
    if now > start + timedelta(days=config.ungraded_after_days):
        return _make(
            Kind.UNGRADED,
            reading,
            None,
            None,
            f"Ungraded: submitted {clock.show(submitted)}, due {clock.show(reading.due_at)}; "
            f"still no score {config.ungraded_after_days} days after the due date.",
        )
    return None


def _score_finding(reading: ReadingResult, rule: _Rules, score: float) -> Finding | None:
    """score_out_of_range: outside 0..points_possible or not a multiple of the rubric step."""
    if 0 <= score <= rule.top and float(score).is_integer() and rule.step == 1:
        return None  # the common case, checked cheaply
    problems = []
    if score < 0 or score > rule.top:
        problems.append(f"outside 0..{format_score(rule.top)}")
    if not is_multiple(score, rule.step):
        problems.append(f"not a multiple of {format_score(rule.step)}")
    if problems:
        shown = format_score(score)
        return _make(
            Kind.SCORE_OUT_OF_RANGE,
            reading,
            shown,
            f"0..{format_score(rule.top)} in steps of {format_score(rule.step)}",
            f"Score out of range: Canvas score {shown} is {' and '.join(problems)}.",
        )
    return None


def _rubric_mismatch(reading: ReadingResult, sub: Submission, problems: list[str]) -> Finding:
    """rubric_mismatch: an invalid or unknown item, or items that do not sum to the score."""
    total = sum(p for p in sub.rubric_assessment.values() if p is not None)
    return _make(
        Kind.RUBRIC_MISMATCH,
        reading,
        format_score(total),
        format_score(sub.score),
        f"Rubric mismatch: {'; '.join(problems)}.",
    )


# --- per student --------------------------------------------------------------------------


def _student_findings(
    result: StudentResult, config: PolicyConfig, total_scores: Mapping[int, float | None] | None
) -> Iterator[Finding]:
    """over_submitted, at_risk and total_mismatch for one included student."""
    sid = result.student.id
    if result.submitted_count > config.required:
        yield Finding(
            Kind.OVER_SUBMITTED,
            sid,
            None,
            str(result.submitted_count),
            str(config.required),
            f"Over-submitted: {result.submitted_count} summaries submitted, "
            f"{config.required} required; the {config.selection.value} {config.required} count.",
        )
    if result.at_risk:
        yield _at_risk(result, config)
    if total_scores is not None:
        yield from _total_mismatch(result, total_scores.get(sid))


def _at_risk(result: StudentResult, config: PolicyConfig) -> Finding:
    excused = sum(1 for r in result.readings if r.status is _EXCUSED)
    r_eff = required_effective(len(result.readings), excused, config.required)
    pending = sum(1 for r in result.readings if r.status is _PENDING)
    reachable = result.on_time_count + pending
    return Finding(
        Kind.AT_RISK,
        result.student.id,
        None,
        str(reachable),
        str(r_eff),
        f"At risk: {result.on_time_count} on-time and {pending} pending summaries, "
        f"{r_eff} required; {r_eff} on-time summaries can no longer be reached.",
    )


def _total_mismatch(result: StudentResult, canvas_total: float | None) -> Iterator[Finding]:
    """total_mismatch: Canvas's total differs from the percent rounded to 2 decimals."""
    if canvas_total is None:
        return
    expected = round(result.percent, 2)
    if abs(canvas_total - expected) > 0.005:
        yield Finding(
            Kind.TOTAL_MISMATCH,
            result.student.id,
            None,
            format_score(canvas_total),
            format_score(expected),
            f"Total mismatch: Canvas total {format_score(canvas_total)}%, computed "
            f"{format_score(expected)}% ({format_score(result.points)}/"
            f"{format_score(result.possible)} points).",
        )
