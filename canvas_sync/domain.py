"""Typed values that cross layers: Canvas facts in, policy results out.

Frozen dataclasses with aware UTC datetimes only. `None` never means two things: excused,
pending and ungraded are statuses, not missing numbers.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "Assignment",
    "AssignmentGroup",
    "Attempt",
    "Comment",
    "Course",
    "CourseSnapshot",
    "DiscrepancyRecord",
    "Exemption",
    "Finding",
    "Kind",
    "LatePolicy",
    "Override",
    "PolicyConfig",
    "ReadingResult",
    "RubricCriterion",
    "Secret",
    "Selection",
    "Severity",
    "Status",
    "Student",
    "StudentResult",
    "Submission",
]


class Status(enum.Enum):
    """Status of one (student, reading), SPEC §2."""

    EXCUSED = "excused"
    ON_TIME = "on_time"
    LATE_RESUBMISSION = "late_resubmission"
    LATE = "late"
    MISSING = "missing"
    PENDING = "pending"
    # Canvas assigns the reading to every student it applies to and keeps a row for each
    # (canvas-lms lib/submission_lifecycle_manager.rb). No row received for an assigned
    # student: what Canvas holds is unknown, so the policy never scores it and push never
    # writes to it (reported as `submission_not_seen`).
    UNKNOWN = "unknown"
    # Canvas does not assign the reading to this student (only_visible_to_overrides with no
    # override for them, or an `unassign_item` override): no row exists, and the reading is
    # out of the student's pool like excused work (canvas-lms lib/effective_due_dates.rb).
    UNASSIGNED = "unassigned"


class Selection(enum.Enum):
    BEST = "best"
    FIRST = "first"


class Severity(enum.Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Kind(enum.Enum):
    """Discrepancy kinds, SPEC §3."""

    LATE_GRADED = "late_graded"
    MISSING_UNGRADED = "missing_ungraded"
    LATE_RESUBMISSION = "late_resubmission"
    SCORE_OUT_OF_RANGE = "score_out_of_range"
    RUBRIC_MISMATCH = "rubric_mismatch"
    UNGRADED = "ungraded"
    GRADED_WITHOUT_SUBMISSION = "graded_without_submission"
    OVER_SUBMITTED = "over_submitted"
    AT_RISK = "at_risk"
    MANUAL_OVERRIDE = "manual_override"
    TOTAL_MISMATCH = "total_mismatch"
    DUE_DATE_MISMATCH = "due_date_mismatch"
    GROUP_RULE_MISMATCH = "group_rule_mismatch"
    ASSIGNMENT_MISSING = "assignment_missing"
    LATE_POLICY_CONFLICT = "late_policy_conflict"
    SUBMISSION_NOT_SEEN = "submission_not_seen"
    UNUSABLE_RECORD = "unusable_record"
    POOL_MISMATCH = "pool_mismatch"
    MISSING_POLICY_CONFLICT = "missing_policy_conflict"
    CUSTOM_GRADE_STATUS = "custom_grade_status"

    @property
    def severity(self) -> Severity:
        return KIND_SEVERITY[self]


KIND_SEVERITY: dict[Kind, Severity] = {
    Kind.LATE_GRADED: Severity.ERROR,
    Kind.MISSING_UNGRADED: Severity.INFO,
    Kind.LATE_RESUBMISSION: Severity.WARNING,
    Kind.SCORE_OUT_OF_RANGE: Severity.ERROR,
    Kind.RUBRIC_MISMATCH: Severity.ERROR,
    Kind.UNGRADED: Severity.WARNING,
    Kind.GRADED_WITHOUT_SUBMISSION: Severity.INFO,
    Kind.OVER_SUBMITTED: Severity.INFO,
    Kind.AT_RISK: Severity.WARNING,
    Kind.MANUAL_OVERRIDE: Severity.ERROR,
    Kind.TOTAL_MISMATCH: Severity.WARNING,
    Kind.DUE_DATE_MISMATCH: Severity.INFO,
    Kind.GROUP_RULE_MISMATCH: Severity.WARNING,
    Kind.ASSIGNMENT_MISSING: Severity.ERROR,
    Kind.LATE_POLICY_CONFLICT: Severity.WARNING,
    Kind.SUBMISSION_NOT_SEEN: Severity.ERROR,
    Kind.UNUSABLE_RECORD: Severity.ERROR,
    Kind.POOL_MISMATCH: Severity.ERROR,
    Kind.MISSING_POLICY_CONFLICT: Severity.WARNING,
    Kind.CUSTOM_GRADE_STATUS: Severity.INFO,
}


class Secret:
    """A value (the Canvas token) that never shows itself in repr, str, logs or errors."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The real value: only the HTTP layer calls this, to build the Authorization header."""
        return self._value

    def __bool__(self) -> bool:
        return bool(self._value)

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


# --- Canvas facts -------------------------------------------------------------------------


@dataclass(frozen=True)
class Course:
    id: int
    name: str
    time_zone: str = "America/Chicago"


@dataclass(frozen=True)
class Student:
    """A user with a student enrollment; only active/completed ones reach the policy."""

    id: int
    name: str
    sortable_name: str
    sis_user_id: str | None = None
    login_id: str | None = None
    enrollment_state: str = "active"
    is_test_student: bool = False
    section_ids: tuple[int, ...] = ()

    @property
    def included(self) -> bool:
        """SPEC §2: active or completed student enrollments; never the test student."""
        return not self.is_test_student and self.enrollment_state in ("active", "completed")


@dataclass(frozen=True)
class AssignmentGroup:
    id: int
    name: str
    drop_lowest: int = 0
    drop_highest: int = 0
    never_drop: tuple[int, ...] = ()


@dataclass(frozen=True)
class RubricCriterion:
    id: str
    description: str
    points: float


@dataclass(frozen=True)
class Override:
    """An assignment override; `student_ids` set for ad hoc (individual) overrides.

    `due_at_overridden` False: the override sets no due date and the assignment's `due_at`
    applies (Canvas sends `due_at` only when the override sets one, canvas-lms
    lib/api/v1/assignment_override.rb); True with `due_at` None: "no due date".
    `course_id` is set for a Course ("everyone") override; `unassign_item` overrides take
    the assignment away from their targets.
    """

    id: int
    assignment_id: int
    due_at: datetime | None
    student_ids: tuple[int, ...] = ()
    course_section_id: int | None = None
    group_id: int | None = None
    title: str = ""
    due_at_overridden: bool = True
    course_id: int | None = None
    unassign_item: bool = False


@dataclass(frozen=True)
class Assignment:
    id: int
    name: str
    assignment_group_id: int | None
    points_possible: float | None
    due_at: datetime | None
    published: bool = True
    omit_from_final_grade: bool = False
    submission_types: tuple[str, ...] = ("online_text_entry",)
    rubric: tuple[RubricCriterion, ...] = ()
    overrides: tuple[Override, ...] = ()
    only_visible_to_overrides: bool = False


@dataclass(frozen=True, slots=True)
class Attempt:
    """One entry of `submission_history`: one distinct `submitted_at`."""

    attempt: int | None
    submitted_at: datetime | None
    score: float | None = None


@dataclass(frozen=True, slots=True)
class Comment:
    id: int
    author_id: int | None
    comment: str
    created_at: datetime | None


@dataclass(frozen=True, slots=True)
class Submission:
    """A Canvas submission row (placeholder rows included: `workflow_state` unsubmitted)."""

    id: int
    student_id: int
    assignment_id: int
    submitted_at: datetime | None
    cached_due_date: datetime | None
    score: float | None = None
    grade: str | None = None
    entered_score: float | None = None
    attempt: int | None = None
    workflow_state: str = "unsubmitted"
    submission_type: str | None = None
    excused: bool = False
    late: bool = False
    missing: bool = False
    seconds_late: int = 0
    late_policy_status: str | None = None
    graded_at: datetime | None = None
    grader_id: int | None = None
    history: tuple[Attempt, ...] = ()
    rubric_assessment: Mapping[str, float | None] = field(default_factory=dict)
    comments: tuple[Comment, ...] = ()
    # A course's own grade status (Canvas "custom grade status"): neither late nor missing.
    custom_grade_status_id: int | None = None


@dataclass(frozen=True)
class LatePolicy:
    late_submission_deduction_enabled: bool = False
    late_submission_deduction: float = 0.0
    missing_submission_deduction_enabled: bool = False
    missing_submission_deduction: float = 0.0


# --- local inputs ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PolicyConfig:
    """The syllabus rules (SPEC §2, §7)."""

    required: int = 14
    points_per_summary: float = 10.0
    selection: Selection = Selection.BEST
    weight: float = 20.0
    grace_seconds: int = 0
    ungraded_after_days: int = 7
    rubric_step: float = 1.0
    # False (default): a reading with a Canvas custom grade status is left as Canvas holds it.
    apply_to_custom_statuses: bool = False


@dataclass(frozen=True)
class Exemption:
    """A local exemption from the late rule (SPEC §4), or a kept human grade."""

    student_id: int
    assignment_id: int
    reason: str


@dataclass(frozen=True)
class CourseSnapshot:
    """Everything the policy needs about one course, as pulled from Canvas."""

    course: Course
    students: tuple[Student, ...]
    readings: tuple[Assignment, ...]
    submissions: tuple[Submission, ...]
    groups: tuple[AssignmentGroup, ...] = ()
    late_policy: LatePolicy | None = None


# --- policy results ---------------------------------------------------------------------------


@dataclass(frozen=True)
class ReadingResult:
    student_id: int
    assignment_id: int
    name: str
    due_at: datetime | None
    submitted_at: datetime | None
    status: Status
    canvas_score: float | None
    policy_score: float | None
    counted: bool = False
    exempted: bool = False


@dataclass(frozen=True)
class StudentResult:
    student: Student
    readings: tuple[ReadingResult, ...]
    points: float
    possible: float
    percent: float
    weighted: float
    on_time_count: int
    ungraded_count: int
    at_risk: bool
    submitted_count: int = 0
    # Readings whose Canvas row was not seen (Status.UNKNOWN): the total is not final, and
    # push writes no total or column for the student until they are seen.
    unknown_count: int = 0

    @property
    def provisional(self) -> bool:
        return self.ungraded_count > 0 or self.unknown_count > 0


@dataclass(frozen=True)
class Finding:
    """A discrepancy fact; (kind, student_id, assignment_id) identifies it across syncs."""

    kind: Kind
    student_id: int | None
    assignment_id: int | None
    canvas_value: str | None
    expected_value: str | None
    message: str

    @property
    def severity(self) -> Severity:
        return self.kind.severity

    @property
    def key(self) -> tuple[str, int | None, int | None]:
        return (self.kind.value, self.student_id, self.assignment_id)


@dataclass(frozen=True)
class DiscrepancyRecord:
    """A stored discrepancy with its review lifecycle (open -> acknowledged -> resolved)."""

    id: int
    kind: Kind
    student_id: int | None
    assignment_id: int | None
    canvas_value: str | None
    expected_value: str | None
    message: str
    state: str = "open"
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    resolved_by: str | None = None
    note: str | None = None

    @property
    def severity(self) -> Severity:
        return self.kind.severity
