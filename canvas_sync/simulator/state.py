"""The simulator's in-memory Canvas store: one course, one lock, Canvas's own semantics.

Tests read and mutate it directly (guarded by `state.lock`) to play students and humans:
`submit` (a new attempt), `grade` (a TA grades or clears a grade), `set_due`, `add_override`,
`set_enrollment_state`. HTTP handlers call the same methods, so both paths share one rule set.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime, timedelta
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
from canvas_sync.simulator.tardiness import (
    effective_due,
    is_assigned,
    is_missing,
    points_for_missing,
    seconds_late,
)

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
        # user id → section ids, built from `enrollments` on first use after it changed (an
        # enrollment's user and section never change; rendering asks for every row).
        self._sections: tuple[int, dict[int, list[int]]] | None = None
        self.groups: dict[int, Group] = {}
        self.assignments: dict[int, Assignment] = {}
        self.overrides: dict[int, Override] = {}
        self.submissions: dict[tuple[int, int], Submission] = {}
        # Rows of students no longer assigned: soft-deleted, restored when assigned again
        # (canvas-lms lib/submission_lifecycle_manager.rb).
        self.deleted_submissions: dict[tuple[int, int], Submission] = {}
        self.columns: dict[int, Column] = {}
        self.late_policy: LatePolicy | None = None
        self.jobs = JobQueue(self.lock, self.now, lambda: self.next_id("progress", 1))
        self.progresses: dict[int, Progress] = self.jobs.progresses
        self._counters: dict[str, Iterator[int]] = {}
        # Canvas's per_page maximum and `students/submissions` student_ids limit: a constant
        # 100 today; an older self-hosted Canvas read both from a setting defaulting to 50
        # (canvas-lms lib/api.rb `max_per_page`, submissions_api_controller.rb `for_students`;
        # canvas-api.md §10 item 24). Tests set 50 to play that Canvas.
        self.api_limit = 100
        # Not Canvas: (assignment id, user id) → JSON keys sent in place of the real ones, for
        # tests of unusable records (see Renderer.submission).
        self.record_faults: dict[tuple[int, int], dict[str, Any]] = {}

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
        """The sections of every enrollment of the user (any state), oldest first."""
        cached = self._sections
        if cached is None or cached[0] != len(self.enrollments):
            index: dict[int, list[int]] = {}
            for e in self.enrollments.values():
                index.setdefault(e.user_id, []).append(e.section_id)
            cached = self._sections = (len(self.enrollments), index)
        return list(cached[1].get(user_id, ()))

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
            self._sections = None
            if type_ in STUDENT_TYPES:
                for assignment in self.assignments.values():
                    self.refresh_rows(assignment.id, [user_id])
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
            self.refresh_rows(assignment.id)
            return assignment

    def refresh_rows(self, assignment_id: int, user_ids: list[int] | None = None) -> None:
        """One row per assigned student, as canvas-lms lib/submission_lifecycle_manager.rb
        keeps them: an unsubmitted placeholder for a newly assigned student (or the row it had,
        restored), a soft delete for a student no longer assigned. `user_ids`: only these."""
        with self.lock:
            assignment = self.assignments[assignment_id]
            overrides = self.overrides_for(assignment_id)
            sections: dict[int, list[int]] = {}
            for e in self.enrollments.values():
                sections.setdefault(e.user_id, []).append(e.section_id)
            students = {e.user_id for e in self.student_enrollments()}
            for uid in sorted(students if user_ids is None else students & set(user_ids)):
                key = (assignment_id, uid)
                if is_assigned(assignment, overrides, uid, sections.get(uid, [])):
                    if key not in self.submissions:
                        restored = self.deleted_submissions.pop(key, None)
                        self.submissions[key] = restored or self._placeholder(assignment_id, uid)
                elif key in self.submissions:
                    self.deleted_submissions[key] = self.submissions.pop(key)

    def _placeholder(self, assignment_id: int, user_id: int) -> Submission:
        sid = self.next_id("submission", 700001)
        return Submission(id=sid, user_id=user_id, assignment_id=assignment_id)

    def set_only_visible_to_overrides(self, assignment_id: int, value: bool) -> None:
        with self.lock:
            self.assignment(assignment_id).only_visible_to_overrides = value
            self.refresh_rows(assignment_id)

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
        """A human grades: sets the score and grader, posts it; `graded_at` as in `write_score`."""
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
        *,
        sets_due: bool = True,
        course: bool = False,
        unassign_item: bool = False,
    ) -> Override:
        """An ad hoc (student_ids), section or Course override setting `due_at` (None = no due
        date), or, with `sets_due` False, keeping the assignment's date; `unassign_item` takes
        the assignment away from its targets."""
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
                dates={"due_at": due_at} if sets_due and not unassign_item else {},
                course=course,
                unassign_item=unassign_item,
            )
            self.overrides[override.id] = override
            self.refresh_rows(assignment_id)
            return override

    def set_custom_status(self, user_id: int, assignment_id: int, status_id: int | None) -> None:
        """A teacher picks a custom grade status in the gradebook (GraphQL
        `updateSubmissionGradeStatus`; no REST parameter). Setting one clears
        `late_policy_status`, its lateness override and excusal (canvas-lms
        app/models/submission.rb `set_status_attributes`); None removes it."""
        with self.lock:
            sub = self.submission(assignment_id, user_id)
            sub.custom_grade_status_id = status_id
            if status_id is not None:
                sub.late_policy_status = sub.seconds_late_override = None
                sub.excused = False

    def set_enrollment_state(self, user_id: int, state: str) -> None:
        with self.lock:
            for enrollment in self.enrollments.values():
                if enrollment.user_id == user_id:
                    enrollment.state = state

    def apply_missing_deductions(self) -> int:
        """Canvas's periodic missing-policy job; returns how many rows it scored.

        canvas-lms lib/missing_policy_applicator.rb: with the Late Policy's
        `missing_submission_deduction_enabled`, every missing submission (published assignment,
        no score, `cached_due_date` within the last day) gets `score` = points × (1 −
        deduction%) (`LatePolicy#points_for_missing`, 0 for pass/fail), `graded_at` now,
        `grader_id` null, posted, state graded, by one `update_all` (no `late_policy_status`).
        """
        with self.lock:
            policy = self.late_policy
            if policy is None or not policy.missing_submission_deduction_enabled:
                return 0
            now = self.now()
            scored = 0
            for sub in self.submissions.values():
                assignment = self.assignments.get(sub.assignment_id)
                if assignment is None or assignment.deleted or not assignment.published:
                    continue
                if sub.entered_score is not None or sub.excused:
                    continue
                due = self.due_for(assignment, sub.user_id)
                if due is None or not now - timedelta(days=1) <= due <= now:
                    continue
                late = seconds_late(sub, due, now, sub.submitted_at)
                if not is_missing(sub, assignment, late, sub.submitted_at):
                    continue
                sub.entered_score = points_for_missing(policy, assignment)
                sub.graded_at = sub.posted_at = now
                sub.grader_id = None
                sub.grade_matches_current_submission = True
                scored += 1
            return scored

    # ----------------------------------------------------------------- grading primitives
    def write_score(
        self, sub: Submission, score: float | None, grader_id: int, when: datetime
    ) -> None:
        """Record a grade as Canvas does: grader, graded_at, posted, matches current attempt.

        `graded_at` moves only when a score is given: canvas-lms
        app/models/abstract_assignment.rb `save_grade_to_submission` sets it under
        `did_grade = true if score.present? || submission.excused?`, so clearing a grade
        (score None) leaves `graded_at` as it was, and a `graded_since` query misses the change.
        """
        sub.entered_score = score
        sub.excused = False
        sub.grader_id = grader_id
        if score is not None:
            sub.graded_at = when
            sub.grade_matches_current_submission = True
            if sub.posted_at is None:
                sub.posted_at = when  # the course posts grades automatically
        if sub.latest is not None:
            sub.latest.entered_score = score
            if score is not None:
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
