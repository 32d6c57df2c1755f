"""SQLAlchemy 2.x models (SPEC §10): normalized columns plus the raw Canvas JSON beside them.

Canvas ids are the primary keys where Canvas owns the object, scoped by course. Times are stored
as naive UTC and handed back as aware UTC (`UTCDateTime`), so SQLite and PostgreSQL behave alike.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKeyConstraint,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

__all__ = [
    "AssignmentGroupRow",
    "AssignmentRow",
    "AttemptRow",
    "AuditRow",
    "Base",
    "CourseRow",
    "DaemonRow",
    "DiscrepancyRow",
    "ExemptionRow",
    "LoginThrottleRow",
    "OverrideRow",
    "PushChangeRow",
    "StudentRow",
    "SubmissionRow",
    "SyncLockRow",
    "SyncRequestRow",
    "SyncRunRow",
    "WebKeyRow",
    "WebSessionRow",
    "WebUserRow",
]

# SQLite only autoincrements an INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit identity.
AutoId = BigInteger().with_variant(Integer, "sqlite")


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar[dict[Any, Any]] = {
        datetime: UTCDateTime(),
        dict[str, Any]: JSON,
        list[Any]: JSON,
    }


class CourseRow(Base):
    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(400), default="")
    time_zone: Mapped[str] = mapped_column(String(64), default="UTC")
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Incremental-pull watermarks: newest submitted_at / graded_at seen (SPEC §1 "incrementally").
    submitted_watermark: Mapped[datetime | None]
    graded_watermark: Mapped[datetime | None]
    last_full_sync_at: Mapped[datetime | None]
    late_policy: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)


class StudentRow(Base):
    __tablename__ = "students"

    course_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(400))
    sortable_name: Mapped[str] = mapped_column(String(400))
    sis_user_id: Mapped[str | None] = mapped_column(String(255))
    login_id: Mapped[str | None] = mapped_column(String(255))
    enrollment_state: Mapped[str] = mapped_column(String(32))
    is_test_student: Mapped[bool] = mapped_column(Boolean, default=False)
    section_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AssignmentGroupRow(Base):
    __tablename__ = "assignment_groups"

    course_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(400))
    rules: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AssignmentRow(Base):
    __tablename__ = "assignments"

    course_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    name: Mapped[str] = mapped_column(String(400))
    assignment_group_id: Mapped[int | None] = mapped_column(BigInteger)
    points_possible: Mapped[float | None] = mapped_column(Float)
    due_at: Mapped[datetime | None]
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    omit_from_final_grade: Mapped[bool] = mapped_column(Boolean, default=False)
    submission_types: Mapped[list[Any]] = mapped_column(JSON, default=list)
    rubric: Mapped[list[Any]] = mapped_column(JSON, default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class OverrideRow(Base):
    __tablename__ = "assignment_overrides"
    __table_args__ = (
        ForeignKeyConstraint(
            ["course_id", "assignment_id"],
            ["assignments.course_id", "assignments.id"],
            ondelete="CASCADE",
        ),
    )

    course_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    assignment_id: Mapped[int] = mapped_column(BigInteger)
    due_at: Mapped[datetime | None]
    student_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    course_section_id: Mapped[int | None] = mapped_column(BigInteger)
    group_id: Mapped[int | None] = mapped_column(BigInteger)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class SubmissionRow(Base):
    __tablename__ = "submissions"
    __table_args__ = (UniqueConstraint("course_id", "assignment_id", "student_id"),)

    course_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    assignment_id: Mapped[int] = mapped_column(BigInteger)
    student_id: Mapped[int] = mapped_column(BigInteger)
    submitted_at: Mapped[datetime | None]
    cached_due_date: Mapped[datetime | None]
    graded_at: Mapped[datetime | None]
    score: Mapped[float | None] = mapped_column(Float)
    grade: Mapped[str | None] = mapped_column(String(64))
    entered_score: Mapped[float | None] = mapped_column(Float)
    attempt: Mapped[int | None] = mapped_column(Integer)
    workflow_state: Mapped[str] = mapped_column(String(32))
    submission_type: Mapped[str | None] = mapped_column(String(64))
    excused: Mapped[bool] = mapped_column(Boolean, default=False)
    late: Mapped[bool] = mapped_column(Boolean, default=False)
    missing: Mapped[bool] = mapped_column(Boolean, default=False)
    seconds_late: Mapped[int] = mapped_column(BigInteger, default=0)
    late_policy_status: Mapped[str | None] = mapped_column(String(32))
    custom_grade_status_id: Mapped[int | None] = mapped_column(BigInteger)
    grader_id: Mapped[int | None] = mapped_column(BigInteger)
    rubric_assessment: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    comments: Mapped[list[Any]] = mapped_column(JSON, default=list)
    raw: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class AttemptRow(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        ForeignKeyConstraint(
            ["course_id", "submission_id"],
            ["submissions.course_id", "submissions.id"],
            ondelete="CASCADE",
        ),
    )

    course_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    submission_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt: Mapped[int | None] = mapped_column(Integer)
    submitted_at: Mapped[datetime | None]
    score: Mapped[float | None] = mapped_column(Float)


class SyncRunRow(Base):
    """Every run is recorded: trigger, start, end, counts, requests made, error (SPEC §9)."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    course_id: Mapped[int] = mapped_column(BigInteger, index=True)
    trigger: Mapped[str] = mapped_column(String(32))
    mode: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    students: Mapped[int] = mapped_column(Integer, default=0)
    assignments: Mapped[int] = mapped_column(Integer, default=0)
    submissions: Mapped[int] = mapped_column(Integer, default=0)
    changed: Mapped[int] = mapped_column(Integer, default=0)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    host: Mapped[str | None] = mapped_column(String(255))
    pid: Mapped[int | None] = mapped_column(Integer)


class DiscrepancyRow(Base):
    """A discrepancy and its review lifecycle (SPEC §3); `fact_key` makes detection idempotent."""

    __tablename__ = "discrepancies"
    __table_args__ = (UniqueConstraint("course_id", "fact_key"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    course_id: Mapped[int] = mapped_column(BigInteger, index=True)
    fact_key: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(40))
    severity: Mapped[str] = mapped_column(String(16))
    student_id: Mapped[int | None] = mapped_column(BigInteger)
    assignment_id: Mapped[int | None] = mapped_column(BigInteger)
    canvas_value: Mapped[str | None] = mapped_column(String(255))
    expected_value: Mapped[str | None] = mapped_column(String(255))
    message: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="open")
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    state_changed_at: Mapped[datetime | None]
    state_changed_by: Mapped[str | None] = mapped_column(String(255))
    note: Mapped[str | None] = mapped_column(Text)


class ExemptionRow(Base):
    """A local exemption from the late rule (SPEC §4)."""

    __tablename__ = "exemptions"
    __table_args__ = (UniqueConstraint("course_id", "student_id", "assignment_id"),)

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    course_id: Mapped[int] = mapped_column(BigInteger)
    student_id: Mapped[int] = mapped_column(BigInteger)
    assignment_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    created_by: Mapped[str | None] = mapped_column(String(255))


class PushChangeRow(Base):
    """The push journal (SPEC §4): each change is written here before it is sent.

    States: planned → sending → sent → confirmed | failed; `superseded` when a later plan
    replaces it or it was never sent (db/journal.py).
    The newest confirmed change of a (student, assignment, target) is "what this service wrote",
    which is how a later human edit is recognised (`manual_override`).
    """

    __tablename__ = "push_changes"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    course_id: Mapped[int] = mapped_column(BigInteger, index=True)
    push_id: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(16))  # grade | total | column
    student_id: Mapped[int] = mapped_column(BigInteger)
    assignment_id: Mapped[int | None] = mapped_column(BigInteger)
    from_value: Mapped[str | None] = mapped_column(String(255))
    to_value: Mapped[str | None] = mapped_column(Text)
    comment: Mapped[str | None] = mapped_column(Text)
    reason: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    progress_id: Mapped[int | None] = mapped_column(BigInteger)
    canvas_answer: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]


class SyncLockRow(Base):
    """Who runs a course now (SPEC §9). On PostgreSQL an advisory lock is the real guard and this
    row only says who holds it; on SQLite this row with its lease is the lock itself."""

    __tablename__ = "sync_locks"

    course_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    holder: Mapped[str] = mapped_column(String(255))
    acquired_at: Mapped[datetime]
    lease_until: Mapped[datetime]


class SyncRequestRow(Base):
    """A manual trigger for a running daemon (`canvas-sync trigger`), across machines."""

    __tablename__ = "sync_requests"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    course_id: Mapped[int] = mapped_column(BigInteger, index=True)
    requested_at: Mapped[datetime]
    requested_by: Mapped[str] = mapped_column(String(255))
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16))  # pending | running | done | failed
    claimed_by: Mapped[str | None] = mapped_column(String(255))
    run_id: Mapped[int | None] = mapped_column(BigInteger)
    finished_at: Mapped[datetime | None]
    error: Mapped[str | None] = mapped_column(Text)


class DaemonRow(Base):
    """A running daemon and the next runs it has scheduled (SPEC §9 `status`), one per process.

    Refreshed by the daemon's heartbeat; a row whose heartbeat is old belongs to a dead daemon.
    """

    __tablename__ = "daemons"

    holder: Mapped[str] = mapped_column(String(255), primary_key=True)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    course_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # [{"course_id": 598, "at": "2026-02-04T06:04:59Z", "kind": "after_due"}, ...]
    next_runs: Mapped[list[Any]] = mapped_column(JSON, default=list)


class WebUserRow(Base):
    """A person who signs in to the web app: a TA or the instructor. Only the argon2 hash of the
    password is kept, and only the SHA-256 of the API token (the token is shown once)."""

    __tablename__ = "web_users"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    role: Mapped[str] = mapped_column(String(16))  # ta | instructor
    password_hash: Mapped[str] = mapped_column(String(255))
    api_token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]


class WebSessionRow(Base):
    """A signed-in browser; the cookie holds the random id, this row only its SHA-256."""

    __tablename__ = "web_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime]
    last_seen: Mapped[datetime]


class LoginThrottleRow(Base):
    """Failed sign-ins per user name (known or not), so guessing is slowed and then locked."""

    __tablename__ = "login_throttle"

    name: Mapped[str] = mapped_column(String(120), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer)
    last_failure_at: Mapped[datetime]
    locked_until: Mapped[datetime | None]


class WebKeyRow(Base):
    """Secrets the web app keeps between restarts and shares between workers (the cookie key)."""

    __tablename__ = "web_keys"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(255))


class AuditRow(Base):
    """Every action a person took in the web app or with `user`: who, when, what."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    course_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    at: Mapped[datetime]
    actor: Mapped[str] = mapped_column(String(255))
    action: Mapped[str] = mapped_column(String(40))
    detail: Mapped[str] = mapped_column(Text)
