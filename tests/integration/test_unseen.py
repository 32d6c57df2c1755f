"""A sync only believes what it saw (issue 9): lost next links, rows never sent, bad records.

On the simulator over real HTTP, SQLite and PostgreSQL. The worst bug is zeroing a graded
summary because its row was not seen: every test here checks that push writes no 0 over one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from integration_helpers import canvas_env

from canvas_sync import service
from canvas_sync.db import Database, records, repo
from canvas_sync.domain import Kind, Status
from canvas_sync.errors import IncompleteListing
from canvas_sync.push import Target
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import READING_IDS, Simulator

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "sim-token"


def make_settings(sim: Simulator, database_url: str, **changes: Any) -> Settings:
    """The shipped config on `sim`; the course's Canvas Late Policy is allowed, as these tests
    are about what push may write, not about that refusal (test_push_pool.py checks it)."""
    env = canvas_env(sim, TOKEN, database_url)
    changes.setdefault("allow_canvas_late_policy", True)
    return dataclasses.replace(load_settings(shipped_config(), env=env), **changes)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(students=40, seed=598, now=NOW, token=TOKEN) as simulator:
        yield simulator


def graded(sim: Simulator) -> dict[tuple[int, int], float]:
    """(assignment, student) → entered score of every reading graded above 0 in Canvas."""
    return {
        key: sub.entered_score
        for key, sub in sim.state.submissions.items()
        if key[0] in READING_IDS and sub.entered_score
    }


def wrongly_zeroed(sim: Simulator, before: dict[tuple[int, int], float]) -> list[tuple[int, int]]:
    """Cells graded above 0 before that now hold 0 although their work was not late (the
    only graded work the syllabus zeroes)."""
    found = []
    for (aid, uid), score in before.items():
        sub = sim.state.submissions.get((aid, uid))
        if sub is None or sub.entered_score != 0 or not score:
            continue
        due = sim.state.due_for(sim.state.assignments[aid], uid)
        late = sub.submitted_at is not None and due is not None and sub.submitted_at > due
        if not late:
            found.append((aid, uid))
    return found


def grade_writes(sim: Simulator) -> list[tuple[str, str]]:
    """Requests that write grades or comments (push may still create its own column)."""
    return [
        (method, path)
        for method, path, *_ in sim.request_log
        if method != "GET" and "/submissions" in path
    ]


def stored(url: str) -> tuple[int, list[str]]:
    """(stored submission rows, statuses of the runs newest first)."""
    database = Database(url)
    try:
        with database.transaction() as session:
            pairs = repo.submission_pairs(session, 598)
            runs = records.last_runs(session, 598)
            return len(pairs), [r.status for r in runs]
    finally:
        database.dispose()


def test_lost_next_links_fail_the_sync_and_push_writes_nothing(database_url: str) -> None:
    """A proxy drops `Link`: every list looks one page long (the first 100 of 121 enrollments).
    The sync fails with one sentence, leaves the last good state, and no push writes over a
    grade. (Submissions are read grouped, one answer per chunk of students, so there the lost
    links cost nothing: the enrollments are the list that spans pages.)"""
    with Simulator(students=120, seed=598, now=NOW, token=TOKEN) as sim:
        settings = make_settings(sim, database_url)
        before = graded(sim)
        sim.drop_link_header = True
        with pytest.raises(IncompleteListing) as caught:
            service.sync(settings, now=lambda: NOW)
        message = str(caught.value)
        assert "Link header" in message and "\n" not in message and TOKEN not in message
        assert stored(database_url) == (0, ["failed"])
        with pytest.raises(IncompleteListing):
            service.push(settings, now=lambda: NOW, poll_interval=0.01)
        assert grade_writes(sim) == [] and graded(sim) == before

        # A good sync, then the proxy again: the database stays as the good sync left it.
        sim.drop_link_header = False
        service.sync(settings, now=lambda: NOW)
        rows, _ = stored(database_url)
        assert rows >= 120 * len(READING_IDS) * 9 // 10
        sim.drop_link_header = True
        with pytest.raises(IncompleteListing):
            service.sync(settings, full=True, now=lambda: NOW)
        # Newest first: this sync, the good one, push's own sync, the first sync.
        assert stored(database_url) == (rows, ["failed", "succeeded", "failed", "failed"])
        # push's own sync meets the lost links too once it must list the enrollments again (one
        # changed: the sections' one answer no longer matches) and stops before any write.
        sim.state.set_enrollment_state(1001, "inactive")
        with pytest.raises(IncompleteListing):
            service.push(settings, now=lambda: NOW, poll_interval=0.01)
        assert grade_writes(sim) == [] and wrongly_zeroed(sim, before) == []


def test_rows_canvas_never_sends_are_unknown_and_never_zeroed(
    sim: Simulator, database_url: str
) -> None:
    """Rows absent from Canvas's answers, even when asked for directly, are unknown: reported as
    submission_not_seen, never zeroed, and the student's total is not written."""
    gone = sorted(graded(sim))[:3]
    for key in gone:
        del sim.state.submissions[key]
    settings = make_settings(sim, database_url)
    summary = service.sync(settings, now=lambda: NOW)
    assert summary.unseen == len(gone) and f"Not seen in Canvas: {len(gone)}" in summary.line()
    direct = [
        query
        for method, path, query, _ in sim.request_log
        if path.endswith("/students/submissions") and "student_ids%5B%5D=all" not in query
    ]
    assert direct, "the missing rows were asked for directly"
    evaluation = service.evaluate(settings, now=NOW)
    unseen = {(f.assignment_id, f.student_id) for f in evaluation.findings}
    assert set(gone) <= unseen
    not_seen = {
        (f.assignment_id, f.student_id)
        for f in evaluation.findings
        if f.kind is Kind.SUBMISSION_NOT_SEEN
    }
    assert not_seen == set(gone)
    by_student = {r.student.id: r for r in evaluation.results}
    for aid, sid in gone:
        (reading,) = [r for r in by_student[sid].readings if r.assignment_id == aid]
        assert (reading.status, reading.policy_score) == (Status.UNKNOWN, None)
    plan = service.plan_push(settings, now=lambda: NOW, refresh=False)
    students = {sid for _, sid in gone}
    assert not [
        a for a in plan.actions if a.student_id in students and a.target is not Target.GRADE
    ]
    assert not [a for a in plan.actions if (a.assignment_id, a.student_id) in set(gone)]
    service.push(settings, now=lambda: NOW, poll_interval=0.01)
    rest = graded(sim)
    assert all(rest[key] for key in rest)  # no graded reading was zeroed


def test_unusable_records_are_skipped_reported_and_never_zeroed(
    sim: Simulator, database_url: str
) -> None:
    """One bad value never aborts a sync: the record is skipped, reported naming student,
    assignment, field and value, and its cell is unknown. NUL and long names are stored."""
    cells = sorted(graded(sim))[:6]
    faults: list[tuple[str, Any]] = [
        ("score", "abc"),
        ("score", float("inf")),  # JSON `Infinity`
        ("id", ...),
        ("user_id", None),
        ("id", 2**70),
        ("cached_due_date", "not a time"),
    ]
    for cell, (field, value) in zip(cells, faults, strict=True):
        sim.state.record_faults[cell] = {field: value}
    nul_user, long_user = cells[0][1], cells[1][1]
    sim.state.users[nul_user].name = "Ada\x00Lovelace"
    sim.state.users[long_user].sortable_name = "L" * 450
    settings = make_settings(sim, database_url)
    summary = service.sync(settings, now=lambda: NOW)
    assert summary.students == 38
    evaluation = service.evaluate(settings, now=NOW)
    database = Database(database_url)
    try:
        with database.transaction() as session:
            found = [
                d
                for d in records.list_discrepancies(session, 598)
                if d.kind is Kind.UNUSABLE_RECORD
            ]
            names = {s.id: s for s in repo.load_students(session, 598)}
    finally:
        database.dispose()
    assert len(found) == len(faults)
    for item in found:
        assert item.severity.value == "error" and item.state == "open"
        assert item.assignment_id in READING_IDS
    shown = " ".join(d.message for d in found)
    for text in (
        "score = 'abc'",
        "score = inf",
        "has id = None",
        "user_id = None",
        f"id = {2**70}",
        "cached_due_date = 'not a time'",
    ):
        assert text in shown
    named = {d.student_id for d in found}
    assert {sid for _, sid in cells} - {cells[3][1]} <= named  # the null user_id names no one
    assert names[nul_user].name == "Ada\ufffdLovelace"
    assert len(names[long_user].sortable_name) == 400
    by_student = {r.student.id: r for r in evaluation.results}
    for aid, sid in cells:
        (reading,) = [r for r in by_student[sid].readings if r.assignment_id == aid]
        assert reading.status is Status.UNKNOWN and reading.policy_score is None
    plan = service.plan_push(settings, now=lambda: NOW, refresh=False)
    assert not [a for a in plan.actions if (a.assignment_id, a.student_id) in set(cells)]


def test_unassigned_readings_leave_the_pool_and_are_not_reported(
    sim: Simulator, database_url: str
) -> None:
    """An `unassign_item` override (Canvas soft-deletes the row) and an assignment only visible
    to overrides: the readings leave those students' pools, with no finding and no write."""
    settings = make_settings(sim, database_url)
    service.sync(settings, now=lambda: NOW)
    aid, uid = sorted(graded(sim))[0]
    sim.state.add_override(aid, [uid], title="not for this student", unassign_item=True)
    hidden = READING_IDS[-1]
    chosen = sorted({e.user_id for e in sim.state.student_enrollments()})[:3]
    sim.state.add_override(hidden, chosen, title="three students", sets_due=False)
    sim.state.set_only_visible_to_overrides(hidden, True)
    service.sync(settings, now=lambda: NOW)
    evaluation = service.evaluate(settings, now=NOW)
    by_student = {r.student.id: r for r in evaluation.results}
    (reading,) = [r for r in by_student[uid].readings if r.assignment_id == aid]
    assert reading.status is Status.UNASSIGNED
    # Assigned: the three, and students another override of the reading names (extensions).
    assigned = {uid for (a, uid) in sim.state.submissions if a == hidden}
    assert set(chosen) <= assigned and len(assigned) < 10
    for result in evaluation.results:
        (last,) = [r for r in result.readings if r.assignment_id == hidden]
        assert (last.status is Status.UNASSIGNED) is (result.student.id not in assigned)
    assert not [f for f in evaluation.findings if f.kind is Kind.SUBMISSION_NOT_SEEN]
    plan = service.plan_push(settings, now=lambda: NOW, refresh=False)
    assert not [a for a in plan.actions if (a.assignment_id, a.student_id) == (aid, uid)]
    assert not [a for a in plan.actions if a.assignment_id == hidden and a.student_id not in chosen]


def test_an_older_canvas_with_a_lower_student_limit_gives_the_same_course(
    database_url: str, tmp_path: Any
) -> None:
    """A 400 "too many students" halves the chunk (canvas-api.md §10 item 24): a grouped read
    of 20 assignments asks 25 students at a time, which an older Canvas whose limit setting is
    20 refuses."""
    with Simulator(students=70, seed=598, now=NOW, token=TOKEN) as sim:
        reference = f"sqlite:///{tmp_path / 'reference.db'}"
        service.sync(make_settings(sim, reference), now=lambda: NOW)
        sim.state.api_limit = 20
        sim.reset_request_log()
        service.sync(make_settings(sim, database_url), now=lambda: NOW)
        refused = [path for _, path, _, status in sim.request_log if status == 400]
        assert refused and all(p.endswith("/students/submissions") for p in refused)
        assert stored(database_url)[0] == stored(reference)[0]
        mine = service.evaluate(make_settings(sim, database_url), now=NOW)
        theirs = service.evaluate(make_settings(sim, reference), now=NOW)
        assert len(mine.results) > 50
        assert [r.points for r in mine.results] == [r.points for r in theirs.results]
