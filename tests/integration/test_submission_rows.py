"""Submission rows on SQLite and PostgreSQL: loading reads the columns as the driver returns
them, a regrade keeps the stored attempts, and the push's read-back is stored over the row."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

import factories
import pytest
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from canvas_sync.canvas import parse_submission
from canvas_sync.db import Database, repo
from canvas_sync.db.models import AttemptRow, SubmissionRow
from canvas_sync.db.raws import submission_raws
from canvas_sync.domain import Attempt, Comment, Submission
from canvas_sync.service._push_io import FreshRows

T0 = factories.DUE
COURSE = factories.COURSE_ID


def _typed(session: Session, assignment_ids: list[int]) -> list[Submission]:
    """The rows read through SQLAlchemy's own column types (UTCDateTime, JSON), as ORM rows."""
    history: dict[int, list[Attempt]] = {}
    for a in session.scalars(
        select(AttemptRow)
        .where(AttemptRow.course_id == COURSE)
        .order_by(AttemptRow.submission_id, AttemptRow.seq)
    ):
        history.setdefault(a.submission_id, []).append(Attempt(a.attempt, a.submitted_at, a.score))
    rows = session.scalars(
        select(SubmissionRow)
        .where(SubmissionRow.course_id == COURSE, SubmissionRow.assignment_id.in_(assignment_ids))
        .order_by(SubmissionRow.id)
    )
    return [
        Submission(
            **{
                name: getattr(r, name)
                for name in Submission.__dataclass_fields__
                if name not in {"history", "rubric_assessment", "comments"}
            },
            history=tuple(history.get(r.id, ())),
            rubric_assessment={
                k: None if v is None else float(v) for k, v in r.rubric_assessment.items()
            },
            comments=tuple(
                Comment(
                    int(c["id"]),
                    c.get("author_id"),
                    str(c.get("comment", "")),
                    None
                    if c.get("created_at") is None
                    else datetime.fromisoformat(c["created_at"]),
                )
                for c in r.comments
            ),
        )
        for r in rows
    ]


def _course(session: Session) -> None:
    repo.save_course(session, COURSE, None, None)
    for assignment_id in (2001, 2002):
        assignment = factories.assignment(assignment_id)
        repo.save_assignments(session, COURSE, [(assignment, {"id": assignment_id})])


def test_loading_reads_what_the_column_types_read(db_session: Session) -> None:
    _course(db_session)
    odd = T0 + timedelta(microseconds=123456)
    rows = [
        factories.submission(1, submitted_at=None, cached_due_date=None),
        factories.submission(
            2,
            student_id=1002,
            submitted_at=odd,
            graded_at=T0 + timedelta(days=3),
            score=7.5,
            grade="7.5",
            entered_score=8.0,
            attempt=2,
            workflow_state="graded",
            submission_type="online_upload",
            late=True,
            seconds_late=86_401,
            late_policy_status="late",
            grader_id=2,
            history=(Attempt(1, T0, None), Attempt(None, odd, 7.5)),
            rubric_assessment={"P1": 2.0, "P2": None},
            comments=(Comment(5, 1, "Late: zero", T0), Comment(6, None, "", None)),
        ),
        factories.submission(3, student_id=1003, excused=True, missing=True),
        factories.submission(4, assignment_id=2002, custom_grade_status_id=11),
    ]
    repo.save_submissions(db_session, COURSE, [(s, {"id": s.id}) for s in rows])
    db_session.expire_all()
    loaded = repo.load_submissions(db_session, COURSE, [2001, 2002])
    assert loaded == _typed(db_session, [2001, 2002]) == rows
    assert all(s.submitted_at is None or s.submitted_at.utcoffset() == timedelta(0) for s in loaded)
    assert repo.load_submissions(db_session, COURSE, [2001], (1002, 1003)) == rows[1:3]


@pytest.fixture
def attempt_deletes(db_session: Session) -> Iterator[list[str]]:
    """The DELETE statements on the attempts table sent while the test runs."""
    sent: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith("DELETE FROM ATTEMPTS"):
            sent.append(statement)

    engine = db_session.get_bind()
    event.listen(engine, "before_cursor_execute", listen)
    yield sent
    event.remove(engine, "before_cursor_execute", listen)


def test_a_regrade_keeps_the_stored_attempts(
    db_session: Session, attempt_deletes: list[str]
) -> None:
    _course(db_session)
    later = T0 + timedelta(hours=1)
    history = (Attempt(1, T0, None), Attempt(2, later, 8.0))
    first = factories.submission(1, attempt=2, score=8.0, history=history)
    repo.save_submissions(db_session, COURSE, [(first, {"score": 8})])
    regraded = factories.submission(1, attempt=2, score=9.0, history=history)
    assert repo.save_submissions(db_session, COURSE, [(regraded, {"score": 9})]) == 1
    assert attempt_deletes == []  # the same attempts: neither deleted nor inserted again
    assert repo.load_submissions(db_session, COURSE, [2001]) == [regraded]
    # An attempt synthesised from the top-level score (no submission_history) changes with it.
    rescored = replace(regraded, history=(Attempt(1, T0, None), Attempt(2, later, 9.0)))
    assert repo.save_submissions(db_session, COURSE, [(rescored, {"score": 9.5})]) == 1
    assert len(attempt_deletes) == 1
    assert repo.load_submissions(db_session, COURSE, [2001]) == [rescored]
    # Given the stored JSON, the row is compared with it instead of reading it again.
    stored = submission_raws(db_session, COURSE, [1, 2])
    assert stored == {1: {"score": 9.5}}
    assert repo.save_submissions(db_session, COURSE, [(rescored, {"score": 9.5})], stored) == 0


def _raw(sub_id: int, student_id: int, **changes: Any) -> dict[str, Any]:
    raw: dict[str, Any] = {
        "id": sub_id,
        "user_id": student_id,
        "assignment_id": 2001,
        "attempt": 1,
        "submitted_at": "2026-02-04T05:00:00Z",
        "cached_due_date": "2026-02-04T05:59:59Z",
        "workflow_state": "submitted",
        "submission_type": "online_text_entry",
        "score": None,
        "grade": None,
        "submission_history": [
            {"attempt": 1, "submitted_at": "2026-02-04T05:00:00Z", "score": None}
        ],
        "rubric_assessment": {"P1": {"points": 2.0}},
        "submission_comments": [],
    }
    raw.update(changes)
    return raw


def stored_database(database_url: str, synced: list[dict[str, Any]]) -> Database:
    """A database holding the course and these submission rows, as a sync stored them."""
    database = Database(database_url)
    database.ensure_schema()
    with database.transaction() as session:
        _course(session)
        repo.save_submissions(session, COURSE, [(parse_submission(r), r) for r in synced])
    return database


def read_back(rows: list[dict[str, Any]]) -> list[tuple[Submission, dict[str, Any]]]:
    """Rows as the read-back hands them to FreshRows: each parsed, beside its JSON."""
    return [(parse_submission(r), dict(r)) for r in rows]


def test_the_read_back_is_stored_over_the_stored_row(database_url: str) -> None:
    """What the read-back read replaces the stored attributes; the stored history and rubric
    stay, and the attempts are not written again. A row resubmitted meanwhile is left as
    stored; one with none stored is stored as read; one Canvas sent malformed is left as
    stored (the next sync reports it)."""
    synced = [_raw(1, 1001), _raw(2, 1002), _raw(5, 1005)]
    database = stored_database(database_url, synced)
    graded = {
        "score": 0.0,
        "grade": "0",
        "graded_at": "2026-02-10T12:00:00Z",
        "workflow_state": "graded",
        "submission_comments": [
            {"id": 9, "author_id": 2, "comment": "Late", "created_at": "2026-02-10T12:00:00Z"}
        ],
    }
    back = [
        _raw(1, 1001, **graded),
        _raw(2, 1002, attempt=2, submitted_at="2026-02-09T00:00:00Z", **graded),
        _raw(3, 1003, **graded),
        _raw(5, 1005, **{**graded, "score": float("inf")}),
    ]
    for row in back:  # the read-back asks for neither
        row.pop("submission_history", None)
        del row["rubric_assessment"]
    fresh = FreshRows(database, COURSE)
    deletes: list[str] = []
    event.listen(
        database.engine,
        "before_cursor_execute",
        lambda *a: deletes.append(a[2]) if a[2].upper().startswith("DELETE") else None,
    )
    fresh(read_back(back))
    expected = {1: {**synced[0], **back[0]}, 2: synced[1], 3: back[2], 5: synced[2]}
    with database.transaction() as session:
        assert submission_raws(session, COURSE, [1, 2, 3, 5]) == expected
        loaded = {s.id: s for s in repo.load_submissions(session, COURSE, [2001])}
    assert loaded == {i: parse_submission(raw) for i, raw in expected.items()}
    assert loaded[1].history == parse_submission(synced[0]).history
    assert loaded[1].rubric_assessment == {"P1": 2.0} and loaded[1].score == 0.0
    assert deletes == []
    assert fresh.graded == loaded[1].graded_at
    database.dispose()


def test_a_read_back_row_canvas_sends_as_stored_writes_nothing(database_url: str) -> None:
    """The read-back reads whole blocks of cells, most of them not written: a row equal to
    the stored one is neither parsed nor written, and moves no watermark."""
    synced = [_raw(1, 1001), _raw(2, 1002)]
    database = stored_database(database_url, synced)
    back = []
    for raw in synced:
        row = {k: v for k, v in raw.items() if k not in ("submission_history", "rubric_assessment")}
        back.append(row)
    writes: list[str] = []
    event.listen(
        database.engine,
        "before_cursor_execute",
        lambda *a: writes.append(a[2]) if a[2].upper().startswith(("INSERT", "UPDATE")) else None,
    )
    fresh = FreshRows(database, COURSE)
    fresh(read_back(back))
    assert writes == [] and fresh.graded is None and fresh.submitted is None
    with database.transaction() as session:
        assert submission_raws(session, COURSE, [1, 2]) == {1: synced[0], 2: synced[1]}
    database.dispose()


def test_a_read_back_row_with_every_checked_field_is_overlaid_without_a_parse(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A row read back as the push reads it (every CHECK_FIELDS attribute and the comments)
    sets the columns it carries, from its own parse, and its JSON is laid over the stored
    JSON; the history, rubric and submission type stay as stored, and the merged JSON is not
    parsed again: loading the row gives what parsing the merged JSON would."""
    from canvas_sync.push.readback import CHECK_FIELDS
    from canvas_sync.service import _push_io

    synced = [_raw(1, 1001), _raw(2, 1002)]
    database = stored_database(database_url, synced)
    back = []
    for raw in synced:
        row = {k: raw.get(k) for k in CHECK_FIELDS} | {
            "score": 0.0,
            "entered_score": 0.0,
            "grade": "0",
            "entered_grade": "0",
            "grader_id": 2,
            "graded_at": "2026-02-10T12:00:00Z",
            "workflow_state": "graded",
            "late": True,
            "seconds_late": 3600,
            "submission_comments": [
                {"id": 9, "author_id": 2, "comment": "Late", "created_at": "2026-02-10T12:00:00Z"}
            ],
        }
        back.append(row)
    parses: list[dict[str, Any]] = []
    original = _push_io.parse_submission
    monkeypatch.setattr(_push_io, "parse_submission", lambda r: (parses.append(r), original(r))[1])
    fresh = FreshRows(database, COURSE)
    fresh(read_back(back))
    assert parses == []
    expected = {1: {**synced[0], **back[0]}, 2: {**synced[1], **back[1]}}
    with database.transaction() as session:
        assert submission_raws(session, COURSE, [1, 2]) == expected
        loaded = {s.id: s for s in repo.load_submissions(session, COURSE, [2001])}
    assert loaded == {i: parse_submission(raw) for i, raw in expected.items()}
    assert loaded[1].submission_type == "online_text_entry"
    assert loaded[1].rubric_assessment == {"P1": 2.0} and loaded[1].history
    assert loaded[1].comments[0].comment == "Late" and loaded[1].late
    assert fresh.graded == loaded[1].graded_at
    database.dispose()
