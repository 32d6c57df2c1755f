"""Mutable records the simulator keeps: what a Canvas database holds for one course.

These are the simulator's own rows, not `canvas_sync.domain` values: the simulator plays Canvas,
so it must not share types with the client it is checking (STYLE §12).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

__all__ = [
    "Assignment",
    "Attempt",
    "Column",
    "Comment",
    "Course",
    "Enrollment",
    "Group",
    "LatePolicy",
    "Override",
    "Progress",
    "Section",
    "Submission",
    "User",
]


@dataclass
class Course:
    id: int
    name: str
    course_code: str
    time_zone: str
    start_at: datetime
    end_at: datetime


@dataclass
class User:
    id: int
    name: str
    sortable_name: str
    short_name: str
    sis_user_id: str | None
    login_id: str | None
    created_at: datetime


@dataclass
class Section:
    id: int
    name: str


@dataclass
class Enrollment:
    id: int
    user_id: int
    type: str  # StudentEnrollment | StudentViewEnrollment | TeacherEnrollment | TaEnrollment
    section_id: int
    state: str  # active | invited | completed | inactive | deleted
    created_at: datetime


@dataclass
class Group:
    id: int
    name: str
    position: int
    group_weight: float
    rules: dict[str, Any] = field(default_factory=dict)


@dataclass
class Assignment:
    id: int
    name: str
    group_id: int
    position: int
    points_possible: float
    submission_types: list[str]
    created_at: datetime
    due_at: datetime | None = None
    unlock_at: datetime | None = None
    lock_at: datetime | None = None
    grading_type: str = "points"
    published: bool = True
    omit_from_final_grade: bool = False
    description: str = ""
    rubric: list[dict[str, Any]] | None = None
    deleted: bool = False
    updated_at: datetime | None = None
    # Assigned only to the students its overrides name (canvas-lms lib/effective_due_dates.rb
    # leaves out "Everyone else" when set).
    only_visible_to_overrides: bool = False


@dataclass
class Override:
    """An assignment override; `dates` holds only the date keys it overrides (None = no date)."""

    id: int
    assignment_id: int
    title: str
    student_ids: list[int] | None = None
    section_id: int | None = None
    dates: dict[str, datetime | None] = field(default_factory=dict)
    # set_type Course: applies to every student of the course (JSON `course_id`,
    # canvas-lms lib/api/v1/assignment_override.rb).
    course: bool = False
    # Removes the assignment for the override's targets (canvas-api.md §10 item 23).
    unassign_item: bool = False


@dataclass
class Attempt:
    number: int
    submitted_at: datetime
    submission_type: str
    body: str
    # The grade as it stood when this attempt was the current one (for submission_history).
    entered_score: float | None = None
    graded_at: datetime | None = None
    grader_id: int | None = None


@dataclass
class Comment:
    id: int
    author_id: int
    author_name: str
    comment: str
    created_at: datetime
    attempt: int | None = None


@dataclass
class Submission:
    id: int
    user_id: int
    assignment_id: int
    attempts: list[Attempt] = field(default_factory=list)
    entered_score: float | None = None
    excused: bool = False
    late_policy_status: str | None = None
    seconds_late_override: int | None = None
    custom_grade_status_id: int | None = None
    graded_at: datetime | None = None
    grader_id: int | None = None
    posted_at: datetime | None = None
    rubric_assessment: dict[str, dict[str, Any]] | None = None
    comments: list[Comment] = field(default_factory=list)
    grade_matches_current_submission: bool = True

    @property
    def latest(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def submitted_at(self) -> datetime | None:
        return self.attempts[-1].submitted_at if self.attempts else None

    @property
    def workflow_state(self) -> str:
        """graded / submitted / unsubmitted, as Canvas's `infer_values` leaves it."""
        if self.excused:
            return "graded"
        if self.entered_score is not None and (
            not self.attempts or self.grade_matches_current_submission
        ):
            return "graded"
        return "submitted" if self.attempts else "unsubmitted"


@dataclass
class Column:
    id: int
    title: str
    position: int
    hidden: bool = False
    read_only: bool = False
    teacher_notes: bool = False
    data: dict[int, str] = field(default_factory=dict)
    deleted: bool = False


@dataclass
class LatePolicy:
    id: int
    course_id: int
    created_at: datetime
    updated_at: datetime
    missing_submission_deduction_enabled: bool = False
    missing_submission_deduction: float = 0.0
    late_submission_deduction_enabled: bool = False
    late_submission_deduction: float = 0.0
    late_submission_interval: str = "day"
    late_submission_minimum_percent_enabled: bool = False
    late_submission_minimum_percent: float = 0.0


@dataclass
class Progress:
    """An async job. `job` runs when the Progress turns running; it returns a failure message."""

    id: int
    user_id: int
    tag: str
    created_at: datetime
    updated_at: datetime
    workflow_state: str = "queued"
    completion: float = 0.0
    message: str | None = None
    polls: int = 0
    job: Callable[[], str | None] | None = None
    failure: str | None = None
