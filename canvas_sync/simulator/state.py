"""The simulator's in-memory Canvas store: one course, one lock, Canvas's own semantics.

Tests read and mutate it directly (guarded by `state.lock`) to play students and humans:
`submit` (a new attempt), `grade` (a TA grades, bumping `graded_at`), `set_due`, `add_override`,
`set_enrollment_state`. HTTP handlers call the same methods, so both paths share one rule set.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from canvas_sync.simulator.jobs import JobQueue
from canvas_sync.simulator.records import (
    Assignment,
    Attempt,
    Column,
    Comment,
    Course,
    Enrollment,
    Group,
    LatePolicy,
    Override,
    Progress,
    Section,
    Submission,
    User,
)
from canvas_sync.simulator.tardiness import effective_due

__all__ = ["STUDENT_TYPES", "CanvasState", "SimError"]

# Enrollment types that get submission rows (the test student is a StudentViewEnrollment).
STUDENT_TYPES = ("StudentEnrollment", "StudentViewEnrollment")

Clock = Callable[[], datetime]


class SimError(Exception):
    """A Canvas error answer: HTTP status plus the exact JSON body Canvas sends."""

    def __init__(self, status: int, body: Any) -> None:
        super().__init__(f"{status}: {body}")
        self.status = status
        self.body = body

    @classmethod
    def not_found(cls) -> SimError:
        return cls(404, {"errors": [{"message": "The specified resource does not exist."}]})

    @classmethod
    def unauthorized(cls) -> SimError:
        # Canvas answers "not permitted" with 401 unless the api_auth_error_updates flag is on.
        return cls(
            401,
            {
                "status": "unauthorized",
                "errors": [{"message": "user not authorized to perform that action"}],
            },
        )


def _real_clock() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


class CanvasState:
    """Everything Canvas holds for one course. Every public method takes `self.lock` itself."""

    def __init__(self, course: Course, clock: Clock | None = None) -> None:
        self.lock = threading.RLock()
        self.course = course
        self.clock: Clock = clock or _real_clock
        self.users: dict[int, User] = {}
        self.sections: dict[int, Section] = {}
        self.enrollments: dict[int, Enrollment] = {}
        self.groups: dict[int, Group] = {}
        self.assignments: dict[int, Assignment] = {}
        self.overrides: dict[int, Override] = {}
        self.submissions: dict[tuple[int, int], Submission] = {}
        self.columns: dict[int, Column] = {}
        self.late_policy: LatePolicy | None = None
        self.jobs = JobQueue(self.lock, self.now, lambda: self.next_id("progress", 1))
        self.progresses: dict[int, Progress] = self.jobs.progresses
        self._counters: dict[str, Iterator[int]] = {}

    # ----------------------------------------------------------------- ids and time
    def next_id(self, kind: str, start: int = 1) -> int:
        """A fresh id per object kind (submissions, comments, overrides, ...)."""
        with self.lock:
            counter = self._counters.setdefault(kind, itertools.count(start))
            return next(counter)

    def now(self) -> datetime:
        """The simulator's current time, whole seconds, aware UTC."""
        return self.clock().astimezone(UTC).replace(microsecond=0)

    # ----------------------------------------------------------------- lookups
    def student_enrollments(self, states: tuple[str, ...] | None = None) -> list[Enrollment]:
        """Student and test-student enrollments (not deleted), optionally by state."""
        rows = [
            e for e in self.enrollments.values() if e.type in STUDENT_TYPES and e.state != "deleted"
        ]
        if states is not None:
            rows = [e for e in rows if e.state in states]
        return sorted(rows, key=lambda e: e.id)

    def section_ids(self, user_id: int) -> list[int]:
        return [e.section_id for e in self.enrollments.values() if e.user_id == user_id]

    def assignment(self, assignment_id: int) -> Assignment:
        found = self.assignments.get(assignment_id)
        if found is None or found.deleted:
            raise SimError.not_found()
        return found

    def overrides_for(self, assignment_id: int) -> list[Override]:
        return sorted(
            (o for o in self.overrides.values() if o.assignment_id == assignment_id),
            key=lambda o: o.id,
        )

    def due_for(self, assignment: Assignment, user_id: int) -> datetime | None:
        """The student's effective due date (Canvas `cached_due_date`)."""
        return effective_due(
            assignment, self.overrides_for(assignment.id), user_id, self.section_ids(user_id)
        )

    def submission(self, assignment_id: int, user_id: int) -> Submission:
        """The (assignment, student) row; 404 when the student has no row."""
        found = self.submissions.get((assignment_id, user_id))
        if found is None:
            raise SimError.not_found()
        return found

    def user_by_key(self, key: str) -> User | None:
        """A user by API id: numeric id or `sis_user_id:X`."""
        if key.startswith("sis_user_id:"):
            sis = key.split(":", 1)[1]
            return next((u for u in self.users.values() if u.sis_user_id == sis), None)
        return self.users.get(int(key)) if key.isdigit() else None

    # ----------------------------------------------------------------- building
    def add_user(self, user: User) -> User:
        with self.lock:
            self.users[user.id] = user
            return user

    def enroll(
        self, user_id: int, type_: str, section_id: int, state: str = "active"
    ) -> Enrollment:
        """Enrol a user; a student gets placeholder rows for every assignment."""
        with self.lock:
            enrollment = Enrollment(
                id=self.next_id("enrollment", 50001),
                user_id=user_id,
                type=type_,
                section_id=section_id,
                state=state,
                created_at=self.course.start_at,
            )
            self.enrollments[enrollment.id] = enrollment
            if type_ in STUDENT_TYPES:
                for assignment in self.assignments.values():
                    self._placeholder(assignment.id, user_id)
            return enrollment

    def add_group(self, group: Group) -> Group:
        with self.lock:
            self.groups[group.id] = group
            return group

    def add_assignment(self, assignment: Assignment) -> Assignment:
        """Store an assignment and create an unsubmitted row for every student (§9)."""
        with self.lock:
            assignment.updated_at = assignment.updated_at or assignment.created_at
            self.assignments[assignment.id] = assignment
            for enrollment in self.student_enrollments():
                self._placeholder(assignment.id, enrollment.user_id)
            return assignment

    def _placeholder(self, assignment_id: int, user_id: int) -> None:
        key = (assignment_id, user_id)
        if key not in self.submissions:
            sid = self.next_id("submission", 700001)
            self.submissions[key] = Submission(id=sid, user_id=user_id, assignment_id=assignment_id)

    # ----------------------------------------------------------------- test API
    def submit(
        self,
        user_id: int,
        assignment_id: int,
        submitted_at: datetime,
        body: str = "<p>summary</p>",
        submission_type: str = "online_text_entry",
    ) -> Submission:
        """A student submits: a new attempt (a resubmission after grading needs regrading)."""
        with self.lock:
            sub = self.submission(assignment_id, user_id)
            attempt = Attempt(
                number=len(sub.attempts) + 1,
                submitted_at=submitted_at.astimezone(UTC).replace(microsecond=0),
                submission_type=submission_type,
                body=body,
                entered_score=sub.entered_score,
            )
            if sub.entered_score is not None:
                sub.grade_matches_current_submission = False
            sub.attempts.append(attempt)
            return sub

    def grade(
        self,
        user_id: int,
        assignment_id: int,
        score: float | None,
        grader_id: int = 2,
        rubric: Mapping[str, Any] | None = None,
        comment: str | None = None,
        graded_at: datetime | None = None,
    ) -> Submission:
        """A human grades: sets the score, grader and `graded_at` (always bumped), posts it."""
        with self.lock:
            sub = self.submission(assignment_id, user_id)
            when = (graded_at or self.now()).astimezone(UTC).replace(microsecond=0)
            self.write_score(sub, score, grader_id, when)
            if rubric is not None:
                sub.rubric_assessment = self.rubric_points(self.assignment(assignment_id), rubric)
            if comment:
                self.add_comment(sub, grader_id, comment, when)
            return sub

    def set_due(self, assignment_id: int, due_at: datetime | None) -> None:
        with self.lock:
            assignment = self.assignment(assignment_id)
            assignment.due_at = due_at
            assignment.updated_at = self.now()

    def add_override(
        self,
        assignment_id: int,
        student_ids: list[int] | None = None,
        due_at: datetime | None = None,
        section_id: int | None = None,
        title: str | None = None,
    ) -> Override:
        """An ad hoc (student_ids) or section override setting `due_at` (None = no due date)."""
        with self.lock:
            self.assignment(assignment_id)
            if title is None:
                title = f"{len(student_ids)} students" if student_ids else "Section override"
            override = Override(
                id=self.next_id("override", 301),
                assignment_id=assignment_id,
                title=title,
                student_ids=list(student_ids) if student_ids else None,
                section_id=section_id,
                dates={"due_at": due_at},
            )
            self.overrides[override.id] = override
            return override

    def set_enrollment_state(self, user_id: int, state: str) -> None:
        with self.lock:
            for enrollment in self.enrollments.values():
                if enrollment.user_id == user_id:
                    enrollment.state = state

    # ----------------------------------------------------------------- grading primitives
    def write_score(
        self, sub: Submission, score: float | None, grader_id: int, when: datetime
    ) -> None:
        """Record a grade as Canvas does: grader, graded_at, posted, matches current attempt."""
        sub.entered_score = score
        sub.excused = False
        sub.grader_id = grader_id
        sub.graded_at = when
        sub.grade_matches_current_submission = True
        if score is not None and sub.posted_at is None:
            sub.posted_at = when  # the course posts grades automatically
        if sub.latest is not None:
            sub.latest.entered_score = score
            sub.latest.graded_at = when
            sub.latest.grader_id = grader_id

    def rubric_points(
        self, assignment: Assignment, given: Mapping[str, Any]
    ) -> dict[str, dict[str, Any]]:
        """Normalise {"P1": 2} or {"P1": {"points": 2, ...}} to Canvas's stored shape."""
        criteria = {c["id"]: c for c in assignment.rubric or []}
        result: dict[str, dict[str, Any]] = {}
        for key, value in given.items():
            if key not in criteria:
                raise SimError(400, {"message": "invalid rubric_assessment"})
            item = dict(value) if isinstance(value, Mapping) else {"points": value}
            points = float(item["points"]) if item.get("points") not in (None, "") else None
            rating = next(
                (r["id"] for r in criteria[key]["ratings"] if r["points"] == points), None
            )
            result[key] = {
                "rating_id": item.get("rating_id") or rating,
                "comments": item.get("comments") or "",
                "points": points,
            }
        return result

    def add_comment(self, sub: Submission, author_id: int, text: str, when: datetime) -> Comment:
        author = self.users.get(author_id)
        comment = Comment(
            id=self.next_id("comment", 900001),
            author_id=author_id,
            author_name=author.name if author else "Unknown",
            comment=text,
            created_at=when,
            attempt=sub.latest.number if sub.latest else None,
        )
        sub.comments.append(comment)
        return comment

    # ----------------------------------------------------------------- progress
    def create_progress(self, user_id: int, tag: str, job: Callable[[], str | None]) -> Progress:
        """Queue an async job on the strand `tag` (see `jobs.JobQueue`)."""
        return self.jobs.create(user_id, tag, job)

    def poll_progress(self, progress_id: int) -> Progress:
        """`GET /progress/:id` (in poll mode each poll advances the job; see `jobs.JobQueue`)."""
        progress = self.jobs.poll(progress_id)
        if progress is None:
            raise SimError.not_found()
        return progress
