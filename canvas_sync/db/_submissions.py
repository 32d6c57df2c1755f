"""Submission rows and their attempts: stored set-wise, loaded as plain column rows.

A sync of a course of thousands of students writes and reads tens of thousands of these, so
both directions skip per-row ORM work. Public through `repo` (`save_submissions`,
`load_submissions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from canvas_sync.db.models import AttemptRow, SubmissionRow
from canvas_sync.domain import Attempt, Comment, Submission

__all__ = ["CHUNK", "load_submissions", "save_submissions"]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


#: Rows compared and written per round: bounds the raw JSON (stored and serialized) held at
#: once, whatever the course size, while keeping the statements few.
CHUNK = 1000


def save_submissions(
    session: Session, course_id: int, submissions: Sequence[tuple[Submission, dict[str, Any]]]
) -> int:
    """Insert new rows and update those whose raw JSON changed; the number of rows written.

    Set-wise, with ORM bulk INSERT and UPDATE-by-primary-key statements, CHUNK rows at a time:
    a full sync of a course of thousands of students writes tens of thousands of rows. A
    changed row's attempts are replaced as a whole.
    """
    return sum(
        _save_chunk(session, course_id, submissions[start : start + CHUNK])
        for start in range(0, len(submissions), CHUNK)
    )


def _save_chunk(
    session: Session, course_id: int, submissions: Sequence[tuple[Submission, dict[str, Any]]]
) -> int:
    ids = [s.id for s, _ in submissions]
    rows = session.execute(
        select(SubmissionRow.id, SubmissionRow.raw).where(
            SubmissionRow.course_id == course_id, SubmissionRow.id.in_(ids)
        )
    )
    stored: dict[int, Any] = {row_id: raw for row_id, raw in rows}  # raw JSON as stored
    changed = [(s, raw) for s, raw in submissions if s.id not in stored or stored[s.id] != raw]
    if not changed:
        return 0
    stale = [s.id for s, _ in changed if s.id in stored]
    if stale:
        session.execute(
            delete(AttemptRow).where(
                AttemptRow.course_id == course_id, AttemptRow.submission_id.in_(stale)
            )
        )
    values = [_submission_values(course_id, s, raw) for s, raw in changed]
    new = [v for v in values if v["id"] not in stored]
    if new:
        _insert(session, SubmissionRow, new)
    if len(new) < len(values):
        session.execute(update(SubmissionRow), [v for v in values if v["id"] in stored])
    attempts = [
        {
            "course_id": course_id,
            "submission_id": s.id,
            "seq": seq,
            "attempt": a.attempt,
            "submitted_at": a.submitted_at,
            "score": a.score,
        }
        for s, _ in changed
        for seq, a in enumerate(s.history)
    ]
    if attempts:
        _insert(session, AttemptRow, attempts)
    return len(changed)


def _insert(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many new rows as one batch: COPY on PostgreSQL (psycopg), else one executemany.

    render_nulls: every row names every column (None too). Without it SQLAlchemy leaves None
    values out and starts a new INSERT whenever the set of NULL columns changes: 8,619 INSERTs
    into submissions and 1,603 into attempts for one full sync of 1,000 students, now one
    executemany each. On PostgreSQL psycopg's executemany still sends one INSERT per row (and
    multi-row VALUES measured slower still), so there the rows are COPied.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        _copy(connection, model.__table__, rows)
    else:
        session.execute(insert(model).execution_options(render_nulls=True), rows)


def _copy(connection: Any, table: Any, rows: list[dict[str, Any]]) -> None:
    """COPY rows into `table` inside the session's transaction, each value bound by its column's
    own type (UTC datetimes made naive, JSON serialized) as an INSERT would bind it."""
    names = list(rows[0])
    dialect = connection.dialect
    binders = [table.c[name].type.bind_processor(dialect) for name in names]
    raw = connection.connection.driver_connection
    columns = ", ".join(f'"{name}"' for name in names)
    with raw.cursor() as cursor, cursor.copy(f'COPY "{table.name}" ({columns}) FROM STDIN') as copy:
        for row in rows:
            copy.write_row(
                [
                    value if bind is None or value is None else bind(value)
                    for value, bind in zip((row[n] for n in names), binders, strict=True)
                ]
            )


def _submission_values(course_id: int, sub: Submission, raw: dict[str, Any]) -> dict[str, Any]:
    """A submissions row, column by column."""
    return {
        "course_id": course_id,
        "id": sub.id,
        "assignment_id": sub.assignment_id,
        "student_id": sub.student_id,
        "submitted_at": sub.submitted_at,
        "cached_due_date": sub.cached_due_date,
        "graded_at": sub.graded_at,
        "score": sub.score,
        "grade": sub.grade,
        "entered_score": sub.entered_score,
        "attempt": sub.attempt,
        "workflow_state": sub.workflow_state,
        "submission_type": sub.submission_type,
        "excused": sub.excused,
        "late": sub.late,
        "missing": sub.missing,
        "seconds_late": sub.seconds_late,
        "late_policy_status": sub.late_policy_status,
        "custom_grade_status_id": sub.custom_grade_status_id,
        "grader_id": sub.grader_id,
        "rubric_assessment": dict(sub.rubric_assessment),
        "comments": [
            {
                "id": c.id,
                "author_id": c.author_id,
                "comment": c.comment,
                "created_at": _iso(c.created_at),
            }
            for c in sub.comments
        ],
        "raw": raw,
    }


def load_submissions(
    session: Session,
    course_id: int,
    assignment_ids: Iterable[int],
    students: tuple[int, int] | None = None,
) -> list[Submission]:
    """The rows of these assignments; with `students` (lowest, highest id), only the rows of
    students in that range (a sync evaluates its course a range of students at a time)."""
    wanted = list(assignment_ids)
    if not wanted:
        return []
    where = [SubmissionRow.course_id == course_id, SubmissionRow.assignment_id.in_(wanted)]
    if students is not None:
        where.append(SubmissionRow.student_id.between(*students))
    # Plain rows of the columns the domain values need, not ORM objects (and no raw JSON):
    # several times faster at 20,000 submissions, and every sync evaluates the whole course.
    history: dict[int, list[Attempt]] = {}
    for a in session.execute(
        select(
            AttemptRow.submission_id, AttemptRow.attempt, AttemptRow.submitted_at, AttemptRow.score
        )
        .join(
            SubmissionRow,
            (SubmissionRow.course_id == AttemptRow.course_id)
            & (SubmissionRow.id == AttemptRow.submission_id),
        )
        .where(AttemptRow.course_id == course_id, *where)
        .order_by(AttemptRow.submission_id, AttemptRow.seq)
    ):
        history.setdefault(a.submission_id, []).append(Attempt(a.attempt, a.submitted_at, a.score))
    rows = session.execute(select(*_SUBMISSION_COLUMNS).where(*where).order_by(SubmissionRow.id))
    return [_to_submission(r, history.get(r.id, [])) for r in rows]


_SUBMISSION_COLUMNS = [
    column for column in SubmissionRow.__table__.columns if column.name not in {"course_id", "raw"}
]


def _to_submission(r: Any, history: Sequence[Attempt]) -> Submission:
    return Submission(
        id=r.id,
        student_id=r.student_id,
        assignment_id=r.assignment_id,
        submitted_at=r.submitted_at,
        cached_due_date=r.cached_due_date,
        score=r.score,
        grade=r.grade,
        entered_score=r.entered_score,
        attempt=r.attempt,
        workflow_state=r.workflow_state,
        submission_type=r.submission_type,
        excused=r.excused,
        late=r.late,
        missing=r.missing,
        seconds_late=r.seconds_late,
        late_policy_status=r.late_policy_status,
        custom_grade_status_id=r.custom_grade_status_id,
        graded_at=r.graded_at,
        grader_id=r.grader_id,
        history=tuple(history),
        rubric_assessment=_points_map(r.rubric_assessment),
        comments=tuple(
            Comment(
                id=int(c["id"]),
                author_id=c.get("author_id"),
                comment=str(c.get("comment", "")),
                created_at=_from_iso(c.get("created_at")),
            )
            for c in r.comments or ()
        ),
    )


def _points_map(raw: Mapping[str, Any] | None) -> dict[str, float | None]:
    return {k: (None if v is None else float(v)) for k, v in (raw or {}).items()}
