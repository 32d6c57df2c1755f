"""The watermarked pull: everything the policy needs about one course, fetched into memory.

Nothing is written here: `service.py` stores the result in one transaction, so a failed pull leaves
the database as it was after the last good sync.

Full pull: course, assignment groups (with assignments and overrides), enrollments, late policy,
and every included student's submissions for the readings (and the total assignment), chunked by
at most 100 students (Canvas answers 400 above that) so no single query is huge (SPEC §8).

Incremental pull (watermarks known): groups, enrollments and late policy again (cheap, and the only
way to see due-date, override and enrollment changes), then only submissions changed since the
watermarks (`submitted_since`, `graded_since`, strict `>` in Canvas, so with an overlap window).
Readings whose due dates or overrides changed, new readings and new students get a full pull of
their own, since Canvas recomputes `cached_due_date` without touching either timestamp.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from canvas_sync.canvas import (
    parse_assignment,
    parse_course,
    parse_enrollment,
    parse_group,
    parse_late_policy,
    parse_students,
    parse_submission,
)
from canvas_sync.domain import (
    Assignment,
    AssignmentGroup,
    Course,
    LatePolicy,
    Student,
    Submission,
)
from canvas_sync.sync.discover import ReadingMatch, SyllabusReading, find_readings

__all__ = [
    "OVERLAP",
    "CanvasSource",
    "Pulled",
    "ReadingRules",
    "SyncState",
    "fingerprint",
    "merge_enrollments",
    "pull_course",
]

# Canvas's since-filters are strict `>` and a row can commit after a later one is visible:
# ask again for a few minutes before each watermark and de-duplicate by id.
OVERLAP = timedelta(minutes=5)


class CanvasSource(Protocol):
    """The part of `CanvasClient` a pull uses (a Protocol keeps sync/ free of httpx)."""

    def get_course(self, course_id: int) -> dict[str, Any]: ...
    def assignment_groups(self, course_id: int) -> list[dict[str, Any]]: ...
    def enrollments(self, course_id: int) -> list[dict[str, Any]]: ...
    def late_policy(self, course_id: int) -> dict[str, Any] | None: ...
    def student_submissions(
        self,
        course_id: int,
        assignment_ids: Sequence[int],
        student_ids: Sequence[int] | None = None,
        *,
        submitted_since: datetime | None = None,
        graded_since: datetime | None = None,
    ) -> list[dict[str, Any]]: ...


@dataclass(frozen=True)
class SyncState:
    """What the database already knows (read before pulling)."""

    has_course: bool = False
    submitted_watermark: datetime | None = None
    graded_watermark: datetime | None = None
    reading_fingerprints: Mapping[int, str] = field(default_factory=dict)
    known_student_ids: frozenset[int] = frozenset()


@dataclass(frozen=True)
class ReadingRules:
    """How readings are found (from Settings)."""

    syllabus: tuple[SyllabusReading, ...]
    group_name: str = "Reading Summaries"
    match_titles: bool = True
    explicit_ids: tuple[int, ...] = ()
    total_assignment: str = "Reading Summaries Total"
    #: Names that are never readings: the service's own total assignment and column.
    exclude: tuple[str, ...] = ()


@dataclass
class Pulled:
    mode: str
    course: tuple[Course, dict[str, Any]] | None
    groups: list[tuple[AssignmentGroup, dict[str, Any]]]
    assignments: list[tuple[Assignment, dict[str, Any]]]
    students: list[tuple[Student, dict[str, Any]]]
    late_policy: tuple[LatePolicy, dict[str, Any]] | None
    submissions: list[tuple[Submission, dict[str, Any]]]
    readings: ReadingMatch
    total_assignment_id: int | None
    fingerprints: dict[int, str]
    submitted_watermark: datetime | None
    graded_watermark: datetime | None


def fingerprint(raw_assignment: Mapping[str, Any]) -> str:
    """Due date, publish state and overrides: what changes `cached_due_date` silently."""
    keys = ("due_at", "published", "only_visible_to_overrides")
    overrides = sorted(
        (
            {k: o.get(k) for k in ("id", "due_at", "student_ids", "course_section_id", "group_id")}
            for o in raw_assignment.get("overrides") or []
        ),
        key=lambda o: str(o.get("id")),
    )
    material = {k: raw_assignment.get(k) for k in keys} | {"overrides": overrides}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


def merge_enrollments(
    raw_enrollments: Iterable[Mapping[str, Any]],
) -> list[tuple[Student, dict[str, Any]]]:
    """One Student per user (a user in two sections has two enrollments), with the raw ones."""
    raws = [dict(raw) for raw in raw_enrollments]
    by_user: dict[int, list[dict[str, Any]]] = {}
    for raw in raws:
        by_user.setdefault(parse_enrollment(raw).id, []).append(raw)
    return [(s, {"enrollments": by_user[s.id]}) for s in parse_students(raws)]


def pull_course(
    client: CanvasSource,
    course_id: int,
    state: SyncState,
    rules: ReadingRules,
    *,
    full: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Pulled:
    note = progress or (lambda _step: None)
    incremental = state.has_course and not full and state.submitted_watermark is not None
    course = None
    if not incremental:
        note("course")
        raw_course = client.get_course(course_id)
        course = (parse_course(raw_course), raw_course)
    note("assignments")
    raw_groups = client.assignment_groups(course_id)
    groups, assignments = _split_groups(raw_groups)
    readings = find_readings(
        [a for a, _ in assignments],
        [g for g, _ in groups],
        rules.syllabus,
        group_name=rules.group_name,
        match_titles=rules.match_titles,
        explicit_ids=rules.explicit_ids,
        exclude_names=(rules.total_assignment, *rules.exclude),
    )
    total_id = next((a.id for a, _ in assignments if a.name == rules.total_assignment), None)
    pulled_ids = _pulled_ids(assignments, readings.reading_ids, total_id)
    wanted = set(pulled_ids)
    fingerprints = {a.id: fingerprint(raw) for a, raw in assignments if a.id in wanted}
    note("students")
    students = merge_enrollments(client.enrollments(course_id))
    included = sorted(s.id for s, _ in students if s.included)
    note("late policy")
    raw_policy = client.late_policy(course_id)
    late_policy = (parse_late_policy(raw_policy), raw_policy) if raw_policy else None
    note("submissions")
    if incremental:
        raw_subs = _incremental_submissions(
            client, course_id, state, pulled_ids, fingerprints, included
        )
    else:
        raw_subs = client.student_submissions(course_id, pulled_ids, included) if included else []
    # `student_ids[]=all` also returns the test student and non-active enrollments (gotcha 10).
    enrolled = set(included)
    submissions = [pair for pair in _dedupe(raw_subs) if pair[0].student_id in enrolled]
    return Pulled(
        mode="incremental" if incremental else "full",
        course=course,
        groups=groups,
        assignments=assignments,
        students=students,
        late_policy=late_policy,
        submissions=submissions,
        readings=readings,
        total_assignment_id=total_id,
        fingerprints=fingerprints,
        submitted_watermark=_newest(
            state.submitted_watermark, (s.submitted_at for s, _ in submissions)
        ),
        graded_watermark=_newest(state.graded_watermark, (s.graded_at for s, _ in submissions)),
    )


def _pulled_ids(
    assignments: Sequence[tuple[Assignment, dict[str, Any]]],
    reading_ids: Sequence[int],
    total_id: int | None,
) -> list[int]:
    """The readings and the total assignment, published ones only: Canvas refuses unpublished
    ids in students/submissions with a 403 for the whole request."""
    published = {a.id for a, _ in assignments if a.published}
    ids = [*reading_ids, *([total_id] if total_id is not None else [])]
    return [i for i in ids if i in published]


def _incremental_submissions(
    client: CanvasSource,
    course_id: int,
    state: SyncState,
    pulled_ids: Sequence[int],
    fingerprints: Mapping[int, str],
    included: Sequence[int],
) -> list[dict[str, Any]]:
    changed = [i for i in pulled_ids if state.reading_fingerprints.get(i) != fingerprints.get(i)]
    steady = [i for i in pulled_ids if i not in changed]
    new_students = [i for i in included if i not in state.known_student_ids]
    raw: list[dict[str, Any]] = []
    if changed and included:
        raw += client.student_submissions(course_id, changed, included)
    if steady and new_students:
        raw += client.student_submissions(course_id, steady, new_students)
    if steady:
        if state.submitted_watermark is not None:
            since = state.submitted_watermark - OVERLAP
            raw += client.student_submissions(course_id, steady, None, submitted_since=since)
        graded_mark = state.graded_watermark or state.submitted_watermark
        if graded_mark is not None:
            since = graded_mark - OVERLAP
            raw += client.student_submissions(course_id, steady, None, graded_since=since)
    return raw


def _split_groups(
    raw_groups: Sequence[dict[str, Any]],
) -> tuple[list[tuple[AssignmentGroup, dict[str, Any]]], list[tuple[Assignment, dict[str, Any]]]]:
    groups = []
    assignments = []
    for raw in raw_groups:
        group_raw = {k: v for k, v in raw.items() if k != "assignments"}
        groups.append((parse_group(raw), group_raw))
        for raw_assignment in raw.get("assignments") or []:
            assignments.append((parse_assignment(raw_assignment), raw_assignment))
    return groups, assignments


def _dedupe(raw_subs: Iterable[dict[str, Any]]) -> list[tuple[Submission, dict[str, Any]]]:
    """The overlap window and the two since-queries return some rows twice: keep one per id."""
    by_key: dict[tuple[int, int], tuple[Submission, dict[str, Any]]] = {}
    for raw in raw_subs:
        sub = parse_submission(raw)
        by_key[(sub.assignment_id, sub.student_id)] = (sub, raw)
    return list(by_key.values())


def _newest(current: datetime | None, values: Iterable[datetime | None]) -> datetime | None:
    found = [v for v in values if v is not None]
    if current is not None:
        found.append(current)
    return max(found) if found else None
