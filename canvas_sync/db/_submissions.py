"""Submission rows and their attempts: stored set-wise, loaded as plain column rows.

A sync of a course of thousands of students writes and reads tens of thousands of these, so
both directions skip per-row ORM work. Public through `repo` (`save_submissions`,
`load_submissions`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from operator import itemgetter
from typing import Any

import orjson
from sqlalchemy import Connection, Select, bindparam, delete, insert, select, type_coerce, update
from sqlalchemy.orm import Session
from sqlalchemy.types import NullType

from canvas_sync.db.models import AttemptRow, SubmissionRow
from canvas_sync.domain import Attempt, Comment, Submission

__all__ = [
    "CHUNK",
    "OVERLAID",
    "insert_rows",
    "load_submissions",
    "overlay_submissions",
    "save_submissions",
]


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _from_iso(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


#: Rows compared and written per round: bounds the raw JSON (stored and serialized) held at
#: once, whatever the course size, while keeping the statements few.
CHUNK = 1000


def save_submissions(
    session: Session,
    course_id: int,
    submissions: Sequence[tuple[Submission, dict[str, Any]]],
    stored: Mapping[int, Any] | None = None,
) -> int:
    """Insert new rows and update those whose raw JSON changed; the number of rows written.

    Set-wise, one INSERT (or COPY) and one UPDATE-by-primary-key executemany per CHUNK rows: a
    full sync of a course of thousands of students writes tens of thousands of rows. A changed
    row's attempts are replaced as a whole when they differ from the stored ones (a regrade
    or a push's read-back leaves them as they were).

    `stored`: the raw JSON stored for these submissions, by id (`raws.submission_raws`), when
    the caller has just read it in this transaction; else it is read here.
    """
    return sum(
        _save_chunk(session, course_id, submissions[start : start + CHUNK], stored)
        for start in range(0, len(submissions), CHUNK)
    )


def _save_chunk(
    session: Session,
    course_id: int,
    submissions: Sequence[tuple[Submission, dict[str, Any]]],
    stored: Mapping[int, Any] | None,
) -> int:
    if stored is None:
        ids = [s.id for s, _ in submissions]
        rows = session.execute(
            select(SubmissionRow.id, SubmissionRow.raw).where(
                SubmissionRow.course_id == course_id, SubmissionRow.id.in_(ids)
            )
        )
        stored = {row_id: raw for row_id, raw in rows}  # raw JSON as stored
    changed = [(s, raw) for s, raw in submissions if s.id not in stored or stored[s.id] != raw]
    if not changed:
        return 0
    rewritten = _new_histories(session, course_id, [s for s, _ in changed if s.id in stored])
    if rewritten:
        session.execute(
            delete(AttemptRow).where(
                AttemptRow.course_id == course_id, AttemptRow.submission_id.in_(rewritten)
            )
        )
    values = [_submission_values(course_id, s, raw) for s, raw in changed]
    new = [v for v in values if v["id"] not in stored]
    if new:
        insert_rows(session, SubmissionRow, new)
    if len(new) < len(values):
        _update(session, [v for v in values if v["id"] in stored])
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
        if s.id not in stored or s.id in rewritten
        for seq, a in enumerate(s.history)
    ]
    if attempts:
        insert_rows(session, AttemptRow, attempts)
    return len(changed)


def _new_histories(session: Session, course_id: int, stale: Sequence[Submission]) -> set[int]:
    """The ids of these stored submissions whose history differs from their stored attempts."""
    if not stale:
        return set()
    kept = _histories(
        session.connection(),
        select(*_ATTEMPT_COLUMNS).where(
            AttemptRow.course_id == course_id, AttemptRow.submission_id.in_([s.id for s in stale])
        ),
    )
    return {s.id for s in stale if kept.get(s.id, ()) != s.history}


#: UPDATE by primary key, bound per row: Core executemany, without the ORM bulk UPDATE's
#: per-row bookkeeping (a third of the statement's time for a push's read-back rows).
_UPDATE = update(SubmissionRow).where(
    SubmissionRow.course_id == bindparam("key_course_id"), SubmissionRow.id == bindparam("key_id")
)


def _update(session: Session, rows: list[dict[str, Any]]) -> None:
    """Write every column but the key of these stored rows (as `_submission_values` gives them)."""
    params = []
    for row in rows:
        columns = dict(row)
        params.append(
            {"key_course_id": columns.pop("course_id"), "key_id": columns.pop("id"), **columns}
        )
    session.connection().execute(_UPDATE, params)


#: The columns a read of a few of a row's fields sets (a push's read-back: the grade, the
#: times, the states and the comments, push/readback.py): all but the submission type, the
#: rubric and the attempts, which that read does not carry and a grade written through the
#: bulk update does not change.
OVERLAID = (
    "submitted_at",
    "cached_due_date",
    "graded_at",
    "score",
    "grade",
    "entered_score",
    "attempt",
    "workflow_state",
    "excused",
    "late",
    "missing",
    "seconds_late",
    "late_policy_status",
    "custom_grade_status_id",
    "grader_id",
    "comments",
    "raw",
)


def overlay_submissions(
    session: Session, course_id: int, rows: Sequence[tuple[Submission, dict[str, Any]]]
) -> None:
    """Write the OVERLAID columns of these stored rows: each Submission parsed from a read of
    those fields alone, beside the stored JSON with what was read laid over it. The other
    columns and the attempts stay as stored (nothing is read or parsed for them)."""
    params = []
    for sub, raw in rows:
        values = _submission_values(course_id, sub, raw)
        params.append(
            {"key_course_id": course_id, "key_id": sub.id, **{k: values[k] for k in OVERLAID}}
        )
    for start in range(0, len(params), CHUNK):
        session.connection().execute(_UPDATE, params[start : start + CHUNK])


def insert_rows(session: Session, model: Any, rows: list[dict[str, Any]]) -> None:
    """Insert many new rows as one batch: COPY on PostgreSQL (psycopg), else one executemany.

    Every row must name every column (None too): a Core executemany binds each row's
    parameters to one statement. (The ORM's bulk INSERT left None values out and started a new
    INSERT whenever the set of NULL columns changed: 8,619 INSERTs into submissions and 1,603
    into attempts for one full sync of 1,000 students.) On PostgreSQL psycopg's executemany
    still sends one INSERT per row (and multi-row VALUES measured slower still), so there the
    rows are COPied.
    """
    connection = session.connection()
    if connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg":
        _copy(connection, model.__table__, rows)
    else:
        # Core, not the ORM's bulk INSERT: its per-row bookkeeping was a third of the time.
        connection.execute(insert(model.__table__), rows)


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
    # Plain Core rows of the columns the domain values need (no raw JSON), not ORM objects or
    # ORM-processed rows, times and JSON converted by _utc and _json: every sync evaluates the
    # whole course (20,000 rows: 1.0 s of CPU through the ORM, 0.4 s so).
    connection = session.connection()
    # The rows by (course, assignment, student), the attempts by their submission: with
    # `ORDER BY id` SQLite walked the primary key through every row of the course, each
    # holding its raw JSON (two rows a page), for each batch of students; the join drove the
    # attempts of the whole course into those rows. At 1,000 students a sync's loads took
    # 0.46 s of SQLite's time so, 0.16 s now (the rows are sorted here instead).
    chosen = select(SubmissionRow.id).where(*where)
    history = _histories(
        connection,
        select(*_ATTEMPT_COLUMNS).where(
            AttemptRow.course_id == course_id, AttemptRow.submission_id.in_(chosen)
        ),
    )
    rows = sorted(connection.execute(select(*_SUBMISSION_COLUMNS).where(*where)), key=itemgetter(0))
    return [_to_submission(r, history.get(r[0], ())) for r in rows]


def _histories(connection: Connection, attempts: Select[Any]) -> dict[int, tuple[Attempt, ...]]:
    """The attempts this query of _ATTEMPT_COLUMNS selects, by submission id, in order."""
    found: dict[int, list[Attempt]] = {}
    query = attempts.order_by(AttemptRow.submission_id, AttemptRow.seq)
    for submission_id, attempt, submitted_at, score in connection.execute(query):
        found.setdefault(submission_id, []).append(Attempt(attempt, _utc(submitted_at), score))
    return {submission_id: tuple(attempts) for submission_id, attempts in found.items()}


def _as_read(column: Any) -> Any:
    """`column` as the driver returns it, without SQLAlchemy's per-value processing (on SQLite,
    a regular expression per time then UTCDateTime's own step; JSON decoded through two
    layers): `_utc` and `_json` do the same in one step each."""
    return type_coerce(column, NullType()).label(column.key)


def _utc(value: datetime | str | None) -> datetime | None:
    """A stored UTC time as UTCDateTime reads it: SQLite holds text, PostgreSQL a naive
    timestamp."""
    if value is None:
        return None
    if isinstance(value, str):
        return datetime.fromisoformat(value + "+00:00")  # 5x faster than .replace(tzinfo=UTC)
    return value.replace(tzinfo=UTC)


def _json(value: Any) -> Any:
    """A stored JSON value: SQLite holds the text, PostgreSQL's driver decodes it itself. Most
    rows have no comments and many no rubric: those two texts skip the decoder."""
    if not isinstance(value, str):
        return value
    if value == "[]":
        return []
    if value == "{}":
        return {}
    return orjson.loads(value)


_ATTEMPT_COLUMNS = (
    AttemptRow.submission_id,
    AttemptRow.attempt,
    _as_read(AttemptRow.submitted_at),
    AttemptRow.score,
)
_TIMES = {"submitted_at", "cached_due_date", "graded_at"}
_JSON = {"rubric_assessment", "comments"}
# In _to_submission's order.
_SUBMISSION_COLUMNS = [
    _as_read(SubmissionRow.__table__.c[name])
    if name in _TIMES | _JSON
    else SubmissionRow.__table__.c[name]
    for name in (
        "id",
        "student_id",
        "assignment_id",
        "submitted_at",
        "cached_due_date",
        "score",
        "grade",
        "entered_score",
        "attempt",
        "workflow_state",
        "submission_type",
        "excused",
        "late",
        "missing",
        "seconds_late",
        "late_policy_status",
        "custom_grade_status_id",
        "graded_at",
        "grader_id",
        "rubric_assessment",
        "comments",
    )
]


def _to_submission(r: Any, history: tuple[Attempt, ...]) -> Submission:
    (
        id_,
        student_id,
        assignment_id,
        submitted_at,
        cached_due_date,
        score,
        grade,
        entered_score,
        attempt,
        workflow_state,
        submission_type,
        excused,
        late,
        missing,
        seconds_late,
        late_policy_status,
        custom_grade_status_id,
        graded_at,
        grader_id,
        rubric_assessment,
        comments,
    ) = r
    return Submission(
        id=id_,
        student_id=student_id,
        assignment_id=assignment_id,
        submitted_at=_utc(submitted_at),
        cached_due_date=_utc(cached_due_date),
        score=score,
        grade=grade,
        entered_score=entered_score,
        attempt=attempt,
        workflow_state=workflow_state,
        submission_type=submission_type,
        excused=excused,
        late=late,
        missing=missing,
        seconds_late=seconds_late,
        late_policy_status=late_policy_status,
        custom_grade_status_id=custom_grade_status_id,
        graded_at=_utc(graded_at),
        grader_id=grader_id,
        history=history,
        rubric_assessment=_points_map(_json(rubric_assessment)),
        comments=tuple(
            Comment(
                id=int(c["id"]),
                author_id=c.get("author_id"),
                comment=str(c.get("comment", "")),
                created_at=_from_iso(c.get("created_at")),
            )
            for c in _json(comments) or ()
        ),
    )


def _points_map(raw: Mapping[str, Any] | None) -> dict[str, float | None]:
    return {k: (None if v is None else float(v)) for k, v in (raw or {}).items()}
