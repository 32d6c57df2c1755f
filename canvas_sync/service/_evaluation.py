"""Evaluating the stored course: the policy's results and discrepancies, from the database.

`evaluate_stored` evaluates the whole course at once (reports, push, the web app);
`evaluate_in_batches` evaluates it a batch of students at a time for the sync, which then holds
one batch's submission rows and results only, whatever the course size.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime

from canvas_sync import policy
from canvas_sync.db import Session, records, repo
from canvas_sync.domain import (
    Assignment,
    AssignmentGroup,
    Course,
    CourseSnapshot,
    Exemption,
    Finding,
    LatePolicy,
    Student,
    StudentResult,
    Submission,
)
from canvas_sync.errors import UsageError
from canvas_sync.settings import Settings
from canvas_sync.sync import ReadingMatch, ReadingRules, SyllabusReading, find_readings

__all__ = [
    "STUDENT_BATCH",
    "Batch",
    "Evaluation",
    "course_findings",
    "evaluate_in_batches",
    "evaluate_stored",
    "reading_rules",
]


@dataclass(frozen=True)
class Evaluation:
    snapshot: CourseSnapshot
    readings: ReadingMatch
    results: tuple[StudentResult, ...]
    findings: list[Finding]


def reading_rules(settings: Settings) -> ReadingRules:
    """How readings are found, from the settings."""
    return ReadingRules(
        syllabus=tuple(SyllabusReading(r.title, r.due_at) for r in settings.readings),
        group_name=settings.readings_group,
        match_titles=settings.match_titles,
        explicit_ids=settings.reading_ids,
        total_assignment=settings.total_assignment,
        exclude=(settings.total_column,),
    )


#: Students a sync evaluates at once (`evaluate_in_batches`): bounds the submission rows and
#: policy results held, whatever the course size.
STUDENT_BATCH = 200


@dataclass(frozen=True)
class _Stored:
    """What an evaluation reads besides the submission rows (nothing per submission)."""

    course: Course
    match: ReadingMatch
    readings: tuple[Assignment, ...]
    total: Assignment | None
    students: tuple[Student, ...]
    groups: tuple[AssignmentGroup, ...]
    late_policy: LatePolicy | None
    exemptions: list[Exemption]

    @property
    def wanted(self) -> list[int]:
        """The assignments whose rows are evaluated: the readings and the total assignment."""
        return [*self.match.reading_ids, *([self.total.id] if self.total else [])]


def _load_stored(session: Session, settings: Settings) -> _Stored:
    stored = load_course_facts(session, settings)
    if stored is None:
        raise UsageError("Nothing synced yet for this course: run 'canvas-sync sync' first.")
    course_id = settings.course_id
    return replace(
        stored,
        students=tuple(repo.load_students(session, course_id)),
        exemptions=records.list_exemptions(session, course_id),
    )


def load_course_facts(session: Session, settings: Settings) -> _Stored | None:
    """The stored course, its assignments, groups, readings and late policy, without students
    or exemptions (None when nothing is stored yet): enough for the course-level findings."""
    course_id = settings.course_id
    course = repo.load_course(session, course_id)
    if course is None:
        return None
    assignments = repo.load_assignments(session, course_id)
    groups = repo.load_groups(session, course_id)
    match = find_readings(
        assignments,
        groups,
        reading_rules(settings).syllabus,
        group_name=settings.readings_group,
        match_titles=settings.match_titles,
        explicit_ids=settings.reading_ids,
        exclude_names=(settings.total_assignment, settings.total_column),
    )
    by_id = {a.id: a for a in assignments}
    return _Stored(
        course=course,
        match=match,
        readings=tuple(by_id[i] for i in match.reading_ids),
        total=next((a for a in assignments if a.name == settings.total_assignment), None),
        students=(),
        groups=tuple(groups),
        late_policy=repo.load_late_policy(session, course_id),
        exemptions=[],
    )


def course_findings(session: Session, settings: Settings, now: datetime) -> list[Finding] | None:
    """The course-level findings of the stored course (no student is evaluated), or None when
    nothing is stored yet."""
    stored = load_course_facts(session, settings)
    return None if stored is None else _evaluate(stored, (), [], settings, now).findings


def _evaluate(
    stored: _Stored,
    students: tuple[Student, ...],
    submissions: list[Submission],
    settings: Settings,
    now: datetime,
) -> Evaluation:
    """The policy and discrepancies of `students`, from their rows (readings and total)."""
    match, total = stored.match, stored.total
    reading_ids = set(match.reading_ids)
    snapshot = CourseSnapshot(
        course=stored.course,
        students=students,
        readings=stored.readings,
        submissions=tuple(s for s in submissions if s.assignment_id in reading_ids),
        groups=stored.groups,
        late_policy=stored.late_policy,
    )
    results = policy.evaluate_course(
        snapshot, now=now, config=settings.policy, exemptions=stored.exemptions
    )
    total_scores = (
        {s.student_id: s.score for s in submissions if s.assignment_id == total.id}
        if total
        else None
    )
    findings = policy.find_discrepancies(
        snapshot,
        results,
        now=now,
        config=settings.policy,
        syllabus_due=match.syllabus_due,
        unmatched_titles=match.unmatched_titles,
        reading_group_id=match.group_id,
        total_scores=total_scores,
        time_zone=settings.time_zone,
        configured_pool=len(settings.readings) or None,
        extra_readings=match.extra_names,
    )
    return Evaluation(snapshot, match, results, findings)


def evaluate_stored(session: Session, settings: Settings, now: datetime) -> Evaluation:
    """The whole course evaluated at once (reports, push, web)."""
    stored = _load_stored(session, settings)
    submissions = repo.load_submissions(session, settings.course_id, stored.wanted)
    return _evaluate(stored, stored.students, submissions, settings, now)


@dataclass(frozen=True)
class Batch:
    """One batch of `evaluate_in_batches`: its evaluation and its students' total rows."""

    evaluation: Evaluation
    total_id: int | None
    totals: tuple[Submission, ...]


def evaluate_in_batches(
    session: Session, settings: Settings, now: datetime, size: int | None = None
) -> Iterator[Batch]:
    """`evaluate_stored`, `size` (default `STUDENT_BATCH`) students at a time (by id), so a
    sync holds the rows of one batch only; at least one batch, even for a course without
    students.

    A student's results and findings depend on that student's rows and the course alone
    (`policy.evaluate_course`, `policy.find_discrepancies`), so together the batches hold
    exactly the whole evaluation's results (sorted by name within a batch only) and findings:
    the course-level findings (no student) come with the first batch alone, and since
    findings sort by student id, the batches' findings in order are the whole list.
    """
    size = size or STUDENT_BATCH
    stored = _load_stored(session, settings)
    students = sorted(stored.students, key=lambda s: s.id)
    chunks = [tuple(students[i : i + size]) for i in range(0, len(students), size)] or [()]
    for number, chunk in enumerate(chunks):
        span = (chunk[0].id, chunk[-1].id) if chunk else None
        rows = (
            repo.load_submissions(session, settings.course_id, stored.wanted, span) if span else []
        )
        evaluation = _evaluate(stored, chunk, rows, settings, now)
        if number:
            kept = [f for f in evaluation.findings if f.student_id is not None]
            evaluation = Evaluation(evaluation.snapshot, stored.match, evaluation.results, kept)
        total_id = stored.total.id if stored.total else None
        yield Batch(evaluation, total_id, tuple(s for s in rows if s.assignment_id == total_id))
