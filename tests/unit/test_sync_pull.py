"""The pull's completeness step with a fake Canvas (issue 9): rows a list did not bring are
asked for directly, one reading and at most REFETCH_CHUNK students a request; what Canvas still
does not send is unseen, and unusable records are reported."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from datetime import datetime
from typing import Any

import pytest

from canvas_sync.domain import Kind
from canvas_sync.sync import (
    REFETCH_CHUNK,
    Pulled,
    ReadingRules,
    SyncState,
    enrollment_keys,
    pull_course,
)

READINGS = [11, 12]
STUDENTS = list(range(1, 121))


class FakeCanvas:
    """A course of 120 students and two readings whose big lists lose some rows."""

    def __init__(self, lost: set[tuple[int, int]], gone: set[tuple[int, int]]) -> None:
        self.lost = lost  # missing from the big list, there when asked directly
        self.gone = gone  # never sent
        self.direct: list[tuple[list[int], list[int]]] = []

    def get_course(self, course_id: int) -> dict[str, Any]:
        return {"id": course_id, "name": "CS 598"}

    def all_together(self, calls: Sequence[Callable[[], Any]]) -> list[Any]:
        return [call() for call in calls]

    def assignment_groups(self, course_id: int) -> list[dict[str, Any]]:
        assignments = [
            {"id": a, "name": f"Summary {a}", "assignment_group_id": 7, "points_possible": 10}
            for a in READINGS
        ]
        return [{"id": 7, "name": "Reading Summaries", "assignments": assignments}]

    def enrollments(self, course_id: int) -> list[dict[str, Any]]:
        users = [{"id": s, "name": f"S{s}", "sortable_name": f"S{s}"} for s in STUDENTS]
        return [{"id": 5000 + u["id"], "user": u, "enrollment_state": "active"} for u in users]

    def late_policy(self, course_id: int) -> dict[str, Any] | None:
        return None

    def student_submissions(
        self,
        course_id: int,
        assignment_ids: Sequence[int],
        student_ids: Sequence[int] | None = None,
        *,
        submitted_since: datetime | None = None,
        graded_since: datetime | None = None,
    ) -> list[dict[str, Any]]:
        students = list(student_ids or STUDENTS)
        small = len(assignment_ids) == 1 and len(students) <= REFETCH_CHUNK
        if small:
            self.direct.append((list(assignment_ids), students))
        skip = self.gone | (set() if small else self.lost)
        return [
            {"id": 100 * s + a, "user_id": s, "assignment_id": a, "workflow_state": "unsubmitted"}
            for a in assignment_ids
            for s in students
            if (s, a) not in skip
        ]

    def submission_batches(
        self,
        course_id: int,
        groups: Sequence[tuple[Sequence[int], Sequence[int] | None]],
        *,
        submitted_since: datetime | None = None,
        graded_since: datetime | None = None,
        students_if_many: Sequence[int] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """Up to 100 students a batch, as the client chunks them."""
        for assignment_ids, student_ids in groups:
            students = list(student_ids or STUDENTS)
            for start in range(0, len(students), 100):
                yield self.student_submissions(
                    course_id, assignment_ids, students[start : start + 100]
                )


RULES = ReadingRules(syllabus=(), match_titles=False)
_OPEN: list[Pulled] = []


@pytest.fixture(autouse=True)
def _close_spools() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().submissions.close()


def pull(canvas: FakeCanvas, state: SyncState) -> Pulled:
    pulled = pull_course(canvas, 598, state, RULES)
    _OPEN.append(pulled)
    return pulled


def test_rows_a_list_lost_are_recovered_and_the_rest_are_unseen() -> None:
    lost = {(s, 11) for s in range(1, 61)} | {(7, 12)}
    gone = {(100, 12), (101, 12)}
    canvas = FakeCanvas(lost, gone)
    pulled = pull(canvas, SyncState())
    pairs = {(sub.student_id, sub.assignment_id) for sub, _ in pulled.submissions}
    assert lost <= pairs and not gone & pairs
    assert pulled.unseen == gone
    assert len(pairs) == 2 * len(STUDENTS) - len(gone)
    # Per reading, at most REFETCH_CHUNK students a request: each answer fits on one page.
    assert all(len(ids) <= REFETCH_CHUNK and len(a) == 1 for a, ids in canvas.direct)
    asked = {(s, a[0]) for a, ids in canvas.direct for s in ids}
    assert asked == lost | gone


def test_stored_rows_are_not_asked_for_again_on_an_incremental_pull() -> None:
    canvas = FakeCanvas(set(), set())
    full = pull(canvas, SyncState())
    assert canvas.direct == [] and full.unseen == frozenset()
    known = frozenset((sub.student_id, sub.assignment_id) for sub, _ in full.submissions)
    state = SyncState(
        has_course=True,
        submitted_watermark=datetime.fromisoformat("2026-05-01T00:00:00+00:00"),
        reading_fingerprints=full.fingerprints,
        known_student_ids=frozenset(STUDENTS),
        known_pairs=known - {(3, 11)},
    )
    canvas.gone = {(s, a) for s in STUDENTS for a in READINGS}  # since-queries bring nothing
    incremental = pull(canvas, state)
    assert incremental.mode == "incremental"
    assert canvas.direct == [([11], [3])] and incremental.unseen == {(3, 11)}


def test_an_unusable_record_is_reported_and_its_cell_unseen() -> None:
    canvas = FakeCanvas(set(), set())
    original = canvas.student_submissions

    def broken(*args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        rows = original(*args, **kwargs)
        for row in rows:
            if (row["user_id"], row["assignment_id"]) == (5, 12):
                row["score"] = "abc"
        return rows

    canvas.student_submissions = broken  # type: ignore[method-assign]
    pulled = pull(canvas, SyncState())
    (finding,) = pulled.findings
    assert (finding.kind, finding.student_id, finding.assignment_id) == (
        Kind.UNUSABLE_RECORD,
        5,
        12,
    )
    assert "score = 'abc'" in finding.message and finding.canvas_value == "score='abc'"
    assert pulled.unseen == {(5, 12)}


def test_an_unusable_assignment_is_left_out_and_reported() -> None:
    canvas = FakeCanvas(set(), set())
    groups = canvas.assignment_groups(598)
    groups[0]["assignments"][1]["points_possible"] = "ten"
    groups[0]["assignments"].append({"id": 2**70, "name": "Summary X"})
    groups[0]["assignments"][0]["name"] = "S" * 500
    canvas.assignment_groups = lambda course_id: groups  # type: ignore[method-assign]
    pulled = pull(canvas, SyncState())
    assert [a.id for a, _ in pulled.assignments] == [11]
    assert len(pulled.assignments[0][0].name) == 400
    messages = sorted(f.message for f in pulled.findings)
    assert [f.kind for f in pulled.findings] == [Kind.UNUSABLE_RECORD] * 2
    assert messages[0].startswith("Unusable Canvas record: assignment 12 has points_possible")
    assert messages[1].startswith(f"Unusable Canvas record: assignment has id = {2**70}")
    assert {sub.assignment_id for sub, _ in pulled.submissions} == {11}


class SectionsCanvas(FakeCanvas):
    """Every enrollment typed, and the sections' answer under the test's control."""

    def __init__(self) -> None:
        super().__init__(set(), set())
        self.listed = 0
        self.sections: list[dict[str, Any]] | None = None

    def enrollments(self, course_id: int) -> list[dict[str, Any]]:
        self.listed += 1
        return [{**e, "type": "StudentEnrollment"} for e in super().enrollments(course_id)]

    def section_enrollments(self, course_id: int) -> list[dict[str, Any]] | None:
        return self.sections


@pytest.mark.parametrize(
    ("answer", "lists"),
    [
        ("same", 0),
        ("none", 1),  # Canvas did not send the students with their enrollments
        ("one-dropped", 1),
        ("one-unusable", 1),  # a record the sync would report: listed so it is reported again
    ],
)
def test_an_incremental_pull_keeps_the_stored_students_only_when_the_sections_match(
    answer: str, lists: int
) -> None:
    canvas = SectionsCanvas()
    full = pull(canvas, SyncState())
    raws = [e for _, raw in full.students or [] for e in raw["enrollments"]]
    same = [dict(e) for e in raws]
    canvas.sections = {
        "same": same,
        "none": None,
        "one-dropped": [{**same[0], "enrollment_state": "inactive"}, *same[1:]],
        "one-unusable": [*same, {"id": 9999, "user": {"id": "x"}, "type": "StudentEnrollment"}],
    }[answer]
    state = SyncState(
        has_course=True,
        submitted_watermark=datetime.fromisoformat("2026-05-01T00:00:00+00:00"),
        reading_fingerprints=full.fingerprints,
        known_student_ids=frozenset(STUDENTS),
        students=tuple(s for s, _ in full.students or []),
        enrollment_keys=enrollment_keys(raws),
    )
    canvas.listed = 0
    incremental = pull(canvas, state)
    assert canvas.listed == lists
    assert (incremental.students is None) == (lists == 0)
