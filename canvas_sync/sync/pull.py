"""The watermarked pull: everything the policy needs about one course.

Nothing is written to the database here: `service/core.py` stores the result in one
transaction, so a failed pull leaves the database as it was after the last good sync. The
submissions (the bulk of a course) are not held in memory: each chunk Canvas sends is checked
and spooled to a private temporary file as it arrives (`sync/spool.py`), and read back in
batches by the storing transaction.

Full pull: course, assignment groups (with assignments and overrides), enrollments, late policy
(these four asked at once), and every included student's submissions for the readings (and the
total assignment), chunked by at most 100 students (Canvas answers 400 above that) so no single
query is huge (SPEC §8).

Incremental pull (watermarks known): groups, students and late policy again (cheap, and the only
way to see due-date, override and enrollment changes), then only submissions changed since the
watermarks (`submitted_since`, `graded_since`, strict `>` in Canvas, so with an overlap window).
The students come first from one request for every section's enrollments (`section_enrollments`):
when those match the stored ones exactly, the stored students stand; otherwise (or when the answer
lacks them) the enrollments are listed in full, as in a full pull.
Readings whose due dates or overrides changed, new readings and new students get a full pull of
their own, since Canvas recomputes `cached_due_date` without touching either timestamp.

Completeness (a sync only believes what it saw): Canvas keeps a row for every student an
assignment is assigned to, so after either pull every included (student, reading) pair without
a row, pulled or stored, is asked for directly; pairs Canvas still does not send are `unseen`
(the policy's UNKNOWN: never zeroed). A list cut short (no next link) fails the pull in the
client (`IncompleteListing`). Unusable records are skipped and reported (`sync/checks.py`).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from canvas_sync.canvas import (
    parse_assignment,
    parse_course,
    parse_enrollment,
    parse_group,
    parse_late_policy,
    parse_students,
)
from canvas_sync.domain import (
    Assignment,
    AssignmentGroup,
    Course,
    Finding,
    LatePolicy,
    Student,
    Submission,
)
from canvas_sync.policy import assigned_to
from canvas_sync.sync.ahead import read_ahead
from canvas_sync.sync.checks import (
    clean_text,
    usable_enrollments,
    usable_groups,
    usable_submissions,
)
from canvas_sync.sync.discover import ReadingMatch, SyllabusReading, find_readings
from canvas_sync.sync.spool import Spool

__all__ = [
    "OVERLAP",
    "REFETCH_CHUNK",
    "CanvasSource",
    "Pulled",
    "ReadingRules",
    "SyncState",
    "advance_watermarks",
    "enrollment_keys",
    "fingerprint",
    "merge_enrollments",
    "pull_course",
]

# Canvas's since-filters are strict `>` and a row can commit after a later one is visible:
# ask again for a few minutes before each watermark and de-duplicate by id.
OVERLAP = timedelta(minutes=5)
#: Students per direct re-fetch of one reading's missing rows: each request then fits on one
#: page even of an older Canvas (50 rows a page), so no lost next link can cut it short.
REFETCH_CHUNK = 50


class CanvasSource(Protocol):
    """The part of `CanvasClient` a pull uses (a Protocol keeps sync/ free of httpx)."""

    def get_course(self, course_id: int) -> dict[str, Any]: ...
    def assignment_groups(self, course_id: int) -> list[dict[str, Any]]: ...
    def enrollments(self, course_id: int) -> list[dict[str, Any]]: ...
    def section_enrollments(self, course_id: int) -> list[dict[str, Any]] | None: ...
    def late_policy(self, course_id: int) -> dict[str, Any] | None: ...
    def all_together(self, calls: Sequence[Callable[[], Any]]) -> list[Any]: ...
    def student_submissions(
        self,
        course_id: int,
        assignment_ids: Sequence[int],
        student_ids: Sequence[int] | None = None,
        *,
        submitted_since: datetime | None = None,
        graded_since: datetime | None = None,
    ) -> list[dict[str, Any]]: ...
    def submission_batches(
        self,
        course_id: int,
        groups: Sequence[tuple[Sequence[int], Sequence[int] | None]],
        *,
        submitted_since: datetime | None = None,
        graded_since: datetime | None = None,
        students_if_many: Sequence[int] | None = None,
    ) -> Iterator[list[dict[str, Any]]]: ...


#: One group of a submissions query: (assignment ids, student ids or None for `all`).
Group = tuple[Sequence[int], Sequence[int] | None]
#: What a sync takes from one enrollment: its id and the Student it makes.
EnrollmentKey = tuple[Any, Student]


@dataclass(frozen=True)
class SyncState:
    """What the database already knows (read before pulling)."""

    has_course: bool = False
    submitted_watermark: datetime | None = None
    graded_watermark: datetime | None = None
    reading_fingerprints: Mapping[int, str] = field(default_factory=dict)
    known_student_ids: frozenset[int] = frozenset()
    #: The stored students, and the keys of their enrollments that every section lists
    #: (`enrollment_keys`; None: not known, so the enrollments are listed in full).
    students: tuple[Student, ...] = ()
    enrollment_keys: frozenset[EnrollmentKey] | None = None
    # (student id, assignment id) of every stored submission row (`in` is all that is asked).
    known_pairs: Container[tuple[int, int]] = frozenset()


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
    # None: Canvas lists the same enrollments as stored, so the stored students stand.
    students: list[tuple[Student, dict[str, Any]]] | None
    late_policy: tuple[LatePolicy, dict[str, Any]] | None
    # The usable rows of included students, one per (student, assignment): read them back with
    # `submissions.batches()`, then `close()` the spool.
    submissions: Spool
    readings: ReadingMatch
    total_assignment_id: int | None
    fingerprints: dict[int, str]
    # The watermarks before this pull: `advance_watermarks` moves them past the rows stored.
    submitted_watermark: datetime | None
    graded_watermark: datetime | None
    # unusable_record findings: records skipped because the service cannot store them.
    findings: list[Finding] = field(default_factory=list)
    # Included (student, reading) pairs Canvas sent no usable row for, even when asked directly.
    unseen: frozenset[tuple[int, int]] = frozenset()

    def let_go(self) -> None:
        """Drop the raw course, groups, assignments and students once they are stored (the
        evaluation reads the database): thousands of enrollments' JSON need not stay held."""
        self.course, self.late_policy = None, None
        self.groups, self.assignments, self.students = [], [], []


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


def enrollment_keys(raw_enrollments: Iterable[Mapping[str, Any]]) -> frozenset[EnrollmentKey]:
    """The keys of the StudentEnrollments that are not deleted: the ones every section lists
    (`CanvasClient.section_enrollments`). The enrollments must be usable."""
    return frozenset(
        (raw.get("id"), parse_enrollment(raw))
        for raw in raw_enrollments
        if raw.get("type") == "StudentEnrollment" and raw.get("enrollment_state") != "deleted"
    )


def merge_enrollments(
    raw_enrollments: Iterable[Mapping[str, Any]],
) -> list[tuple[Student, dict[str, Any]]]:
    """One Student per user (a user in two sections has two enrollments), with the raw ones.

    The enrollments must be usable (`checks.usable_enrollments`).
    """
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
    for step in (() if incremental else ("course",)) + ("assignments", "students", "late policy"):
        note(step)
    # Independent questions, asked at once (the client caps the requests in flight).
    first: list[Callable[[], Any]] = [] if incremental else [partial(client.get_course, course_id)]
    *answer_course, answer_groups, (students, findings), raw_policy = client.all_together(
        [
            *first,
            partial(client.assignment_groups, course_id),
            partial(_students, client, course_id, state if incremental else None),
            partial(client.late_policy, course_id),
        ]
    )
    course = None
    if answer_course:
        raw_course = clean_text(answer_course[0])
        course = (parse_course(raw_course), raw_course)
    raw_groups, bad_groups = usable_groups(answer_groups)
    groups, assignments = _split_groups(raw_groups)
    readings = _readings(groups, assignments, rules)
    total_id = next((a.id for a, _ in assignments if a.name == rules.total_assignment), None)
    pulled_ids = _pulled_ids(assignments, readings.reading_ids, total_id)
    wanted = set(pulled_ids)
    fingerprints = {a.id: fingerprint(raw) for a, raw in assignments if a.id in wanted}
    known = [s for s, _ in students] if students is not None else list(state.students)
    included = sorted(s.id for s in known if s.included)
    late_policy = (parse_late_policy(raw_policy), raw_policy) if raw_policy else None
    note("submissions")
    enrolled = set(included)
    spool = Spool()
    try:
        if incremental:
            queries = _incremental_queries(state, pulled_ids, fingerprints, included)
        else:
            queries = [([(pulled_ids, included)], {})] if included else []
        bad: list[Finding] = []
        # The queries go out together (the later ones read ahead), and are spooled in order.
        listings = [
            partial(client.submission_batches, course_id, query, **since, students_if_many=included)
            for query, since in queries
        ]
        for batch in read_ahead(listings):
            bad += _spool(spool, batch, enrolled)
        # Canvas keeps a row for every assigned student: rows neither pulled nor stored are
        # asked for directly, and what is still not sent stays unknown (`Pulled.unseen`).
        gaps = _Gaps(
            [s for s in known if s.included],
            [a for a, _ in assignments if a.id in set(readings.reading_ids) and a.id in wanted],
            state.known_pairs if incremental else frozenset(),
        )
        bad_more, missing = gaps.fill(client, course_id, spool, note)
    except BaseException:
        spool.close()
        raise
    findings = list({f.key: f for f in [*bad_groups, *findings, *bad, *bad_more]}.values())
    return Pulled(
        mode="incremental" if incremental else "full",
        course=course,
        groups=groups,
        assignments=assignments,
        students=students,
        late_policy=late_policy,
        submissions=spool,
        readings=readings,
        total_assignment_id=total_id,
        fingerprints=fingerprints,
        submitted_watermark=state.submitted_watermark,
        graded_watermark=state.graded_watermark,
        findings=findings,
        unseen=frozenset(missing),
    )


def _students(
    client: CanvasSource, course_id: int, state: SyncState | None
) -> tuple[list[tuple[Student, dict[str, Any]]] | None, list[Finding]]:
    """(students, unusable_record findings); students None when the stored ones stand.

    An incremental pull (`state`) first asks for every section's enrollments in one request:
    when they are usable and are exactly the stored ones (same ids, users, sections, states),
    nothing about the students changed. Deleted enrollments and the test student are not in
    that answer: one that was deleted and comes back is listed again, so it differs too.
    Anything else lists every enrollment (a request per 100), as a full pull does.
    """
    if state is not None and state.enrollment_keys is not None:
        listed = client.section_enrollments(course_id)
        if listed is not None:
            rows, bad = usable_enrollments(listed)
            if not bad and enrollment_keys(rows) == state.enrollment_keys:
                return None, []
    raw_enrollments, findings = usable_enrollments(client.enrollments(course_id))
    return merge_enrollments(raw_enrollments), findings


def advance_watermarks(pulled: Pulled, rows: Sequence[tuple[Submission, dict[str, Any]]]) -> None:
    """Move the pull's watermarks past `rows` (a batch of its submissions, as stored)."""
    pulled.submitted_watermark = _newest(
        pulled.submitted_watermark, (s.submitted_at for s, _ in rows)
    )
    pulled.graded_watermark = _newest(pulled.graded_watermark, (s.graded_at for s, _ in rows))


def _spool(spool: Spool, raws: list[dict[str, Any]], enrolled: set[int]) -> list[Finding]:
    """Check one chunk's rows and spool those of included students, one row at a time (no
    parsed copy of the chunk); the unusable_record findings. The chunk is emptied: it is not
    kept. `student_ids[]=all` also returns the test student and non-active enrollments."""
    bad: list[Finding] = []

    def included() -> Iterator[tuple[Submission, dict[str, Any]]]:
        for raw in raws:
            parsed, found = usable_submissions((raw,))
            bad.extend(found)
            yield from (pair for pair in parsed if pair[0].student_id in enrolled)

    spool.add(included())  # one call per chunk: `add` seeks to the file's end once
    raws.clear()
    return bad


def _readings(
    groups: Sequence[tuple[AssignmentGroup, dict[str, Any]]],
    assignments: Sequence[tuple[Assignment, dict[str, Any]]],
    rules: ReadingRules,
) -> ReadingMatch:
    return find_readings(
        [a for a, _ in assignments],
        [g for g, _ in groups],
        rules.syllabus,
        group_name=rules.group_name,
        match_titles=rules.match_titles,
        explicit_ids=rules.explicit_ids,
        exclude_names=(rules.total_assignment, *rules.exclude),
    )


@dataclass(frozen=True)
class _Gaps:
    """The included students and readings of a pull, and the rows already stored."""

    included: Sequence[Student]
    readings: Sequence[Assignment]
    stored: Container[tuple[int, int]]

    def fill(
        self,
        client: CanvasSource,
        course_id: int,
        spool: Spool,
        note: Callable[[str], None],
    ) -> tuple[list[Finding], set[tuple[int, int]]]:
        """(unusable_record findings, pairs still not seen); rows found are added to `spool`.

        Canvas keeps a row for every assigned student (canvas-lms
        lib/submission_lifecycle_manager.rb): a pair with no row, stored or pulled, is asked
        for directly; what Canvas still does not send stays unknown.
        """
        missing = self.missing(spool.pairs())
        bad: list[Finding] = []
        if missing:
            note("missing submissions")
            enrolled = {s.id for s in self.included}
            for raws in _refetch(client, course_id, missing):
                more, bad_more = usable_submissions(raws)
                bad += bad_more
                more = [pair for pair in more if pair[0].student_id in enrolled]
                spool.add(more)
                missing -= {(sub.student_id, sub.assignment_id) for sub, _ in more}
        return bad, missing

    def missing(self, pulled: set[tuple[int, int]]) -> set[tuple[int, int]]:
        """Included (student, reading) pairs Canvas should have a row for that we lack: the
        reading is assigned to the student (policy `assigned_to`, lib/effective_due_dates.rb)."""
        return {
            (student.id, reading.id)
            for reading in self.readings
            for student in self.included
            if (student.id, reading.id) not in pulled
            and (student.id, reading.id) not in self.stored
            and assigned_to(reading, student)
        }


def _refetch(
    client: CanvasSource, course_id: int, missing: set[tuple[int, int]]
) -> Iterator[list[dict[str, Any]]]:
    """Ask Canvas directly for the missing rows: per reading, `REFETCH_CHUNK` students a
    request, so every answer fits on one page and no lost next link can shorten it."""
    by_reading: dict[int, list[int]] = {}
    for student_id, reading_id in sorted(missing):
        by_reading.setdefault(reading_id, []).append(student_id)
    for reading_id, student_ids in sorted(by_reading.items()):
        for start in range(0, len(student_ids), REFETCH_CHUNK):
            chunk = student_ids[start : start + REFETCH_CHUNK]
            yield client.student_submissions(course_id, [reading_id], chunk)


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


def _incremental_queries(
    state: SyncState,
    pulled_ids: Sequence[int],
    fingerprints: Mapping[int, str],
    included: Sequence[int],
) -> list[tuple[list[Group], dict[str, datetime]]]:
    """The submission queries of an incremental pull, in order (a later row wins): (groups,
    since-filter) each."""
    changed = [i for i in pulled_ids if state.reading_fingerprints.get(i) != fingerprints.get(i)]
    steady = [i for i in pulled_ids if i not in changed]
    new_students = [i for i in included if i not in state.known_student_ids]
    queries: list[tuple[list[Group], dict[str, datetime]]] = []
    whole: list[Group] = []
    if changed and included:
        whole.append((changed, included))
    if steady and new_students:
        whole.append((steady, new_students))
    if whole:
        queries.append((whole, {}))
    if steady:
        if state.submitted_watermark is not None:
            since = state.submitted_watermark - OVERLAP
            queries.append(([(steady, None)], {"submitted_since": since}))
        graded_mark = state.graded_watermark or state.submitted_watermark
        if graded_mark is not None:
            since = graded_mark - OVERLAP
            queries.append(([(steady, None)], {"graded_since": since}))
    return queries


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


def _newest(current: datetime | None, values: Iterable[datetime | None]) -> datetime | None:
    found = [v for v in values if v is not None]
    if current is not None:
        found.append(current)
    return max(found) if found else None
