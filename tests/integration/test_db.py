"""The database layer on SQLite and PostgreSQL: migrations are the schema, rows round-trip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import factories
import pytest
from alembic import command
from sqlalchemy import event
from sqlalchemy.orm import Session

from canvas_sync.db import Database, records, repo
from canvas_sync.db.session import alembic_config, head_revision, migrations_dir
from canvas_sync.domain import Attempt, Comment, Kind, Override, RubricCriterion, Student

T0 = factories.DUE
COURSE = factories.COURSE_ID


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


def test_the_head_read_from_the_files_is_alembics(tmp_path: Any) -> None:
    """`is_current` reads the newest revision without importing Alembic: it must agree with
    Alembic, and a second head (two migrations off one parent) is no head at all."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config("sqlite://"))
    assert head_revision(migrations_dir() / "versions") == script.get_current_head()
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "a.py").write_text("revision = 'a'\ndown_revision = None\n")
        (tmp_path / name / "b.py").write_text("revision: str = 'b'\ndown_revision = 'a'\n")
    assert head_revision(tmp_path / "one") == "b"
    (tmp_path / "two" / "c.py").write_text('revision = "c"\ndown_revision = "a"\n')
    assert head_revision(tmp_path / "two") is None


def test_rows_round_trip_as_domain_values(db_session: Session) -> None:
    reading = factories.assignment(
        rubric=(RubricCriterion("P1", "Problem", 2.0),),
        overrides=(Override(id=7, assignment_id=2001, due_at=T0, student_ids=(1001,)),),
    )
    ada = factories.student(login_id="ada", section_ids=(3, 4))
    summary = factories.submission(
        99,
        score=9.0,
        history=(Attempt(1, T0, None), Attempt(2, T0, 9.0)),
        rubric_assessment={"P1": 2.0},
        comments=(Comment(5, 1, "Late: zero per syllabus", T0),),
    )
    repo.save_course(db_session, COURSE, None, None)
    assert repo.save_assignments(db_session, COURSE, [(reading, {"id": 2001})]) == 1
    assert repo.save_students(db_session, COURSE, [(ada, {"id": 1001})]) == 1
    assert repo.save_submissions(db_session, COURSE, [(summary, {"id": 99})]) == 1
    db_session.expire_all()  # read back from the database, not from the identity map
    # The same raw JSON again is not a change.
    assert repo.save_submissions(db_session, COURSE, [(summary, {"id": 99})]) == 0
    assert repo.load_assignments(db_session, COURSE) == [reading]
    assert repo.load_students(db_session, COURSE) == [ada]
    assert repo.load_submissions(db_session, COURSE, [2001]) == [summary]


def test_raw_json_orjson_refuses_is_stored_all_the_same(db_session: Session) -> None:
    """JSON columns are written with orjson, which refuses an integer past 64 bits and a key
    that is not a string; json writes those, so such a raw record is stored, not lost."""
    ada = factories.student()
    raw = {"id": 1001, "big": 2**70, "nested": [{"n": -(2**65)}]}
    assert repo.save_students(db_session, COURSE, [(ada, raw)]) == 1
    assert repo.save_students(db_session, COURSE, [(ada, {**raw, 7: "int key"})]) == 1
    db_session.expire_all()
    assert repo.save_students(db_session, COURSE, [(ada, {**raw, "7": "int key"})]) == 0


@pytest.mark.parametrize("student_id", [1, 2])
def test_each_test_starts_from_an_empty_course(db_session: Session, student_id: int) -> None:
    """What one test writes through `db_session` is rolled back before the next one."""
    assert repo.load_students(db_session, COURSE) == []
    repo.save_course(db_session, COURSE, None, None)
    repo.save_students(db_session, COURSE, [(factories.student(student_id), {"v": 1})])
    db_session.commit()  # only a savepoint: the outer transaction still rolls it back
    assert [s.id for s in repo.load_students(db_session, COURSE)] == [student_id]


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


def test_discrepancy_detection_is_idempotent_and_self_resolving(db_session: Session) -> None:
    late = factories.finding(Kind.LATE_GRADED)
    risk = factories.finding(
        Kind.AT_RISK, assignment_id=None, canvas_value="9", expected_value="14"
    )
    now, session = T0, db_session
    assert records.store_findings(session, COURSE, [late, risk], now)["new"] == 2
    assert records.store_findings(session, COURSE, [late, risk], now)["new"] == 0
    assert len(records.list_discrepancies(session, COURSE)) == 2
    counts = records.store_findings(session, COURSE, [late], now)
    assert counts["auto_resolved"] == 1
    states = {d.kind: d.state for d in records.list_discrepancies(session, COURSE)}
    assert states == {Kind.LATE_GRADED: "open", Kind.AT_RISK: "resolved"}
    first = records.list_discrepancies(session, COURSE, kind="late_graded")[0]
    records.set_discrepancy_state(session, first.id, "acknowledged", by="ta", note="seen", now=now)
    # A human's acknowledgement survives re-detection; an auto-resolved fact reopens.
    records.store_findings(session, COURSE, [late, risk], now)
    states = {d.kind: d.state for d in records.list_discrepancies(session, COURSE)}
    assert states == {Kind.LATE_GRADED: "acknowledged", Kind.AT_RISK: "open"}


def test_a_changed_submission_replaces_its_attempts(db_session: Session) -> None:
    first = Attempt(1, T0, None)
    again = Attempt(2, T0.replace(hour=7), None)
    repo.save_course(db_session, COURSE, None, None)
    repo.save_assignments(db_session, COURSE, [(factories.assignment(), {"id": 2001})])
    one = factories.submission(1, history=(first,))
    other = factories.submission(2, student_id=1002, history=(first,))
    assert repo.save_submissions(db_session, COURSE, [(one, {"v": 1}), (other, {"v": 1})]) == 2
    resubmitted = factories.submission(1, history=(first, again), submitted_at=again.submitted_at)
    new = factories.submission(3, student_id=1003)
    batch = [(resubmitted, {"v": 2}), (other, {"v": 1}), (new, {"v": 1})]
    assert repo.save_submissions(db_session, COURSE, batch) == 2  # `other` is unchanged
    db_session.expire_all()
    stored = {s.id: s for s in repo.load_submissions(db_session, COURSE, [2001])}
    assert stored == {1: resubmitted, 2: other, 3: new}


def _inserts_into(
    session: Session, table: str, work: Callable[[], object], verb: str = "INSERT INTO"
) -> int:
    """How many INSERT (or `verb`) statements on `table` `work` sends (executemany: once)."""
    sent: list[str] = []

    def listen(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(f"{verb} {table.upper()} "):
            sent.append(statement)

    engine = session.get_bind()
    event.listen(engine, "before_cursor_execute", listen)
    try:
        work()
        session.flush()
    finally:
        event.remove(engine, "before_cursor_execute", listen)
    return len(sent)


def test_a_large_batch_goes_out_as_one_insert_per_table(db_session: Session) -> None:
    # Rows whose NULL columns differ (ungraded, unsubmitted, graded...) and findings with and
    # without an assignment: SQLAlchemy's bulk insert used to start a new statement whenever the
    # set of NULL columns changed, and findings went out one INSERT each.
    repo.save_course(db_session, COURSE, None, None)
    repo.save_assignments(db_session, COURSE, [(factories.assignment(), {"id": 2001})])
    rows = []
    for n in range(60):
        history = (Attempt(1, T0, None if n % 2 else 8.0),) if n % 3 else ()
        sub = factories.submission(
            n + 1,
            student_id=2000 + n,
            submitted_at=T0 if n % 3 else None,
            score=None if n % 2 else 8.0,
            grader_id=None if n % 4 else 2,
            history=history,
        )
        rows.append((sub, {"id": n + 1}))
    saved = lambda: repo.save_submissions(db_session, COURSE, rows)  # noqa: E731
    # One executemany, or on PostgreSQL one COPY (not an INSERT statement at all).
    copied = db_session.get_bind().dialect.name == "postgresql"
    assert _inserts_into(db_session, "submissions", saved) == (0 if copied else 1)
    db_session.expire_all()
    assert len(repo.load_submissions(db_session, COURSE, [2001])) == 60
    findings = [
        factories.finding(
            Kind.AT_RISK if n % 2 else Kind.LATE_GRADED,
            student_id=2000 + n,
            assignment_id=None if n % 2 else 2001,
            canvas_value=None if n % 3 else "8",
        )
        for n in range(40)
    ]
    stored = lambda: records.store_findings(db_session, COURSE, findings, T0)  # noqa: E731
    assert _inserts_into(db_session, "discrepancies", stored) == 1
    assert len(records.list_discrepancies(db_session, COURSE)) == 40
    # Seen again, unchanged: no INSERT, one UPDATE (last_seen) for all 40 rows.
    assert _inserts_into(db_session, "discrepancies", stored) == 0
    assert _inserts_into(db_session, "discrepancies", stored, verb="UPDATE") == 1
    later = T0.replace(hour=T0.hour + 1)
    records.store_findings(db_session, COURSE, findings[:39], later)
    by_student = {d.student_id: d for d in records.list_discrepancies(db_session, COURSE)}
    assert by_student[2039].state == "resolved" and by_student[2000].last_seen == later


def test_a_save_larger_than_one_chunk_writes_each_row_once(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canvas_sync.db import _submissions

    monkeypatch.setattr(_submissions, "CHUNK", 7)
    repo.save_course(db_session, COURSE, None, None)
    repo.save_assignments(db_session, COURSE, [(factories.assignment(), {"id": 2001})])
    first = [
        (factories.submission(n, student_id=3000 + n, history=(Attempt(1, T0, None),)), {"v": 1})
        for n in range(1, 21)
    ]
    assert repo.save_submissions(db_session, COURSE, first) == 20
    again = [
        (factories.submission(n, student_id=3000 + n, score=7.0), {"v": 2}) if n % 5 == 0 else row
        for row, n in zip(first, range(1, 21), strict=True)
    ]
    assert repo.save_submissions(db_session, COURSE, again) == 4  # 5, 10, 15, 20 changed
    db_session.expire_all()
    stored = {s.id: s for s in repo.load_submissions(db_session, COURSE, [2001])}
    assert stored == {s.id: s for s, _ in again}


def test_a_journal_larger_than_one_chunk_keeps_every_change_in_order(
    db_session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    from canvas_sync.db import journal

    monkeypatch.setattr(journal, "JOURNAL_CHUNK", 4)
    specs = [
        journal.ChangeSpec("grade", 3000 + n, 2001, None, str(n), f"comment {n}", "late")
        for n in range(11)
    ]
    ids = journal.add_changes(db_session, COURSE, "push-1", specs, T0)
    assert len(ids) == len(set(ids)) == 11
    by_id = {e.id: e.student_id for e in journal.open_changes(db_session, COURSE)}
    assert by_id == {row_id: 3000 + n for n, row_id in enumerate(ids)}  # ids in the order given
    journal.finish(db_session, [(i, "confirmed", f"holds {n}") for n, i in enumerate(ids)], T0)
    last = journal.last_words(db_session, COURSE)
    assert {k: (w.to_value, w.state) for k, w in last.items()} == {
        ("grade", 3000 + n, 2001): (str(n), "confirmed") for n in range(11)
    }
    assert journal.open_changes(db_session, COURSE) == []
