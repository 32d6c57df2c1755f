"""The database layer on SQLite and PostgreSQL: migrations are the schema, rows round-trip."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command

from canvas_sync.db import Database, records, repo
from canvas_sync.db.session import alembic_config
from canvas_sync.domain import (
    Assignment,
    Attempt,
    Comment,
    Finding,
    Kind,
    Override,
    RubricCriterion,
    Student,
    Submission,
)

T0 = datetime(2026, 2, 4, 5, 59, 59, tzinfo=UTC)


def test_migrations_match_models_and_downgrade(database_url: str) -> None:
    db = Database(database_url)
    db.ensure_schema()
    assert db.is_current()
    with db.engine.begin() as connection:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.check(config)  # raises when the models drifted from the migrations
    with db.engine.begin() as connection:
        config = alembic_config(database_url)
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert not db.is_current()
    db.dispose()


def test_rows_round_trip_as_domain_values(database_url: str) -> None:
    db = Database(database_url)
    db.ensure_schema()
    assignment = Assignment(
        id=11,
        name="Summary: LoRA",
        assignment_group_id=5,
        points_possible=10.0,
        due_at=T0,
        rubric=(RubricCriterion("P1", "Problem", 2.0),),
        overrides=(Override(id=7, assignment_id=11, due_at=T0, student_ids=(1001,)),),
    )
    student = Student(1001, "Ada Lovelace", "Lovelace, Ada", "ada1", "ada", section_ids=(3, 4))
    submission = Submission(
        id=99,
        student_id=1001,
        assignment_id=11,
        submitted_at=T0,
        cached_due_date=T0,
        score=9.0,
        history=(Attempt(1, T0, None), Attempt(2, T0, 9.0)),
        rubric_assessment={"P1": 2.0},
        comments=(Comment(5, 1, "Late: zero per syllabus", T0),),
    )
    with db.transaction() as session:
        repo.save_course(session, 598, None, None)
        assert repo.save_assignments(session, 598, [(assignment, {"id": 11})]) == 1
        assert repo.save_students(session, 598, [(student, {"id": 1001})]) == 1
        assert repo.save_submissions(session, 598, [(submission, {"id": 99})]) == 1
    with db.transaction() as session:
        # The same raw JSON again is not a change.
        assert repo.save_submissions(session, 598, [(submission, {"id": 99})]) == 0
        assert repo.load_assignments(session, 598) == [assignment]
        assert repo.load_students(session, 598) == [student]
        assert repo.load_submissions(session, 598, [11]) == [submission]
    db.dispose()


def test_failed_transaction_leaves_previous_state(database_url: str) -> None:
    db = Database(database_url)
    db.ensure_schema()
    with db.transaction() as session:
        repo.save_course(session, 598, None, None)
        repo.save_students(session, 598, [(Student(1, "A", "A"), {"v": 1})])
    with pytest.raises(RuntimeError), db.transaction() as session:
        repo.save_students(session, 598, [(Student(1, "B", "B"), {"v": 2})])
        raise RuntimeError("sync failed half way")
    with db.transaction() as session:
        assert [s.name for s in repo.load_students(session, 598)] == ["A"]
    db.dispose()


def test_discrepancy_detection_is_idempotent_and_self_resolving(database_url: str) -> None:
    db = Database(database_url)
    db.ensure_schema()
    late = Finding(Kind.LATE_GRADED, 1001, 11, "8", "0", "Late but graded 8.")
    risk = Finding(Kind.AT_RISK, 1001, None, "9", "14", "Cannot reach 14.")
    now = T0
    with db.transaction() as session:
        assert records.store_findings(session, 598, [late, risk], now)["new"] == 2
    with db.transaction() as session:
        assert records.store_findings(session, 598, [late, risk], now)["new"] == 0
        assert len(records.list_discrepancies(session, 598)) == 2
    with db.transaction() as session:
        counts = records.store_findings(session, 598, [late], now)
        assert counts["auto_resolved"] == 1
        states = {d.kind: d.state for d in records.list_discrepancies(session, 598)}
        assert states == {Kind.LATE_GRADED: "open", Kind.AT_RISK: "resolved"}
        first = records.list_discrepancies(session, 598, kind="late_graded")[0]
        records.set_discrepancy_state(
            session, first.id, "acknowledged", by="ta", note="seen", now=now
        )
    with db.transaction() as session:
        # A human's acknowledgement survives re-detection; an auto-resolved fact reopens.
        records.store_findings(session, 598, [late, risk], now)
        states = {d.kind: d.state for d in records.list_discrepancies(session, 598)}
        assert states == {Kind.LATE_GRADED: "acknowledged", Kind.AT_RISK: "open"}
    db.dispose()
