"""A sync's bounded memory (issue 14): the pull spools its submissions to a temporary file and
the storing transaction reads them back in batches; the stored course is evaluated a batch of
students at a time. Neither may change what is stored, found or reported."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from test_sync import NOW, database_content, make_settings, run_sync

from canvas_sync import service
from canvas_sync.db import Database, records, repo
from canvas_sync.domain import Submission
from canvas_sync.service import _evaluation as evaluation
from canvas_sync.simulator import Simulator
from canvas_sync.sync import Spool
from canvas_sync.sync import pull as pull_module
from canvas_sync.sync import spool as spool_module


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(
        students=40, seed=598, now=NOW, token="sim-token", total_assignment=True
    ) as simulator:
        yield simulator


def test_a_sync_failing_mid_pull_leaves_the_database_as_before(
    sim: Simulator, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(sim, database_url)
    run_sync(settings)
    good = database_content(database_url)
    sim.state.grade(1001, 2001, 3.0, grader_id=2)
    sim.state.submit(1013, 2014, NOW - timedelta(hours=3))
    spools: list[Spool] = []

    class Tracked(Spool):
        def __init__(self) -> None:
            super().__init__()
            spools.append(self)

    monkeypatch.setattr(pull_module, "Spool", Tracked)
    client = service.make_client(settings)
    batches = client.submission_batches

    def failing(*args: Any, **kwargs: Any) -> Iterator[list[dict[str, Any]]]:
        rows = batches(*args, **kwargs)
        yield next(rows)  # one chunk arrives and is spooled, then the connection dies
        raise ConnectionError("reset by peer")

    monkeypatch.setattr(client, "submission_batches", failing)
    try:
        with pytest.raises(ConnectionError):
            service.sync(settings, full=True, client=client, now=lambda: NOW)
    finally:
        client.close()
    assert len(spools) == 1 and len(spools[0]) > 0
    assert spools[0]._file.closed  # the spool is gone with the failed run
    assert database_content(database_url) == good
    database = Database(database_url)
    with database.transaction() as session:
        assert records.last_runs(session, 598, limit=1)[0].status == "failed"
    database.dispose()


def test_a_pull_larger_than_one_batch_stores_and_finds_what_one_batch_does(
    sim: Simulator, database_url: str, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Spool batches of 7 rows and evaluation batches of 6 students, against the defaults."""
    one_url = f"sqlite:///{tmp_path / 'one.db'}"
    whole = run_sync(make_settings(sim, one_url))
    monkeypatch.setattr(spool_module, "BATCH", 7)
    monkeypatch.setattr(evaluation, "STUDENT_BATCH", 6)
    settings = make_settings(sim, database_url)
    batched = run_sync(settings)
    content = database_content(database_url)
    assert len(content["submissions"]) > 7 * 10
    assert content == database_content(one_url)
    ignore = {"run_id": 0, "seconds": 0.0, "requests": 0}
    assert dataclasses.replace(batched, **ignore) == dataclasses.replace(whole, **ignore)
    assert batched.students > 6 and batched.submissions == whole.submissions
    assert _findings(database_url) == _findings(one_url)


def _findings(url: str) -> list[tuple[Any, ...]]:
    database = Database(url)
    try:
        with database.transaction() as session:
            return sorted(
                (d.kind.value, d.student_id or 0, d.assignment_id or 0, d.message, d.state)
                for d in records.list_discrepancies(session, 598)
            )
    finally:
        database.dispose()


@pytest.mark.parametrize("size", [1, 7, 1000])
def test_batched_evaluation_is_the_whole_evaluation(
    sim: Simulator, database_url: str, size: int
) -> None:
    settings = make_settings(sim, database_url)
    run_sync(settings)
    database = Database(database_url)
    try:
        with database.transaction() as session:
            records.add_exemption(session, 598, 1003, 2004, "doctor's note", by="ta", now=NOW)
        with database.transaction() as session:
            whole = evaluation.evaluate_stored(session, settings, NOW)
            batches = list(evaluation.evaluate_in_batches(session, settings, NOW, size))
            total_id = batches[0].total_id
            assert total_id is not None
            totals = repo.load_submissions(session, 598, [total_id])
    finally:
        database.dispose()
    assert len(batches) == -(-len(whole.snapshot.students) // size)
    assert [f for b in batches for f in b.evaluation.findings] == whole.findings
    results = sorted(
        (r for b in batches for r in b.evaluation.results),
        key=lambda r: (r.student.sortable_name, r.student.id),
    )
    assert tuple(results) == whole.results
    assert any(reading.exempted for r in results for reading in r.readings)
    assert _by_id(s for b in batches for s in b.evaluation.snapshot.submissions) == _by_id(
        whole.snapshot.submissions
    )
    assert _by_id(s for b in batches for s in b.totals) == _by_id(totals)
    kinds = {f.kind for f in whole.findings}
    assert len(kinds) > 2 and any(f.student_id is None for f in whole.findings)


def _by_id(submissions: Any) -> list[Submission]:
    return sorted(submissions, key=lambda s: s.id)


def test_students_compared_a_chunk_at_a_time_are_updated_and_deleted(
    sim: Simulator, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(repo, "STUDENT_CHUNK", 7)
    settings = make_settings(sim, database_url)
    run_sync(settings)
    before = {s.id: s for s in database_content(database_url)["students"]}
    assert before[1017].enrollment_state == "inactive" and len(before) > 7 * 3
    sim.state.set_enrollment_state(1017, "active")  # comes back: its JSON changed
    sim.state.set_enrollment_state(1005, "deleted")  # no longer listed by Canvas
    summary = run_sync(settings)
    after = {s.id: s for s in database_content(database_url)["students"]}
    assert after[1017].enrollment_state == "active"
    assert after[1005].enrollment_state == "deleted"
    unchanged = set(before) - {1005, 1017}
    assert {i: after[i] for i in unchanged} == {i: before[i] for i in unchanged}
    assert summary.students == sum(1 for s in before.values() if s.included)
