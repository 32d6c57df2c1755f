"""`sync` against the simulator over real HTTP, on SQLite and PostgreSQL (issue: foundation).

The simulator's clock and the policy's `now` are pinned after the semester, so the course looks
the same whatever day the tests run.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs

import pytest
from integration_helpers import canvas_env

from canvas_sync import service
from canvas_sync.db import Database, records, repo
from canvas_sync.errors import AuthFailed, ConfigError
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import SECTION_B, Simulator
from canvas_sync.simulator.records import User
from canvas_sync.simulator.state import CanvasState

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "sim-token"


def make_settings(sim: Simulator, database_url: str, **changes: Any) -> Settings:
    env = canvas_env(sim, TOKEN, database_url)
    settings = load_settings(shipped_config(), env=env)
    return dataclasses.replace(settings, **changes)


def run_sync(settings: Settings, *, full: bool = False) -> service.SyncSummary:
    return service.sync(settings, full=full, now=lambda: NOW)


def database_content(url: str, course_id: int = 598) -> dict[str, Any]:
    database = Database(url)
    try:
        with database.transaction() as session:
            assignments = repo.load_assignments(session, course_id)
            students = repo.load_students(session, course_id)
            included = {s.id for s in students if s.included}
            submissions = repo.load_submissions(session, course_id, [a.id for a in assignments])
            return {
                "students": students,
                "assignments": assignments,
                "groups": repo.load_groups(session, course_id),
                # Rows of students who left are kept but never used: compare the included ones.
                "submissions": [s for s in submissions if s.student_id in included],
                "late_policy": repo.load_late_policy(session, course_id),
            }
    finally:
        database.dispose()


def assert_a_full_pull_stores_the_same(settings: Settings, database_url: str) -> None:
    """What an incremental sync stored equals what a full pull stores."""
    incremental = database_content(database_url)
    fresh_url = database_url.replace("canvas_sync.db", "fresh.db")
    if fresh_url == database_url:  # PostgreSQL: compare against a full pull into the same db
        run_sync(settings, full=True)
        assert database_content(database_url) == incremental
    else:
        run_sync(dataclasses.replace(settings, database_url=fresh_url), full=True)
        assert database_content(fresh_url) == incremental


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(students=40, seed=598, now=NOW, token=TOKEN) as simulator:
        yield simulator


def writes(sim: Simulator) -> int:
    return sum(1 for method, *_ in sim.request_log if method != "GET")


def test_full_sync_pulls_every_included_student(sim: Simulator, database_url: str) -> None:
    settings = make_settings(sim, database_url)
    summary = run_sync(settings)
    assert summary.mode == "full"
    content = database_content(database_url)
    included = [s for s in content["students"] if s.included]
    # 40 students of which the inactive and the invited one are not included; no test student.
    assert summary.students == len(included) == 38
    assert all(not s.is_test_student for s in included)
    readings = [a for a in content["assignments"] if a.name.startswith("Summary: ")]
    assert summary.readings == len(readings) == 19
    pairs = {(s.student_id, s.assignment_id) for s in content["submissions"]}
    for student in included:
        for reading in readings:
            assert (student.id, reading.id) in pairs
    assert summary.submissions == 38 * 19
    assert summary.requests == len(sim.request_log)
    assert writes(sim) == 0  # a sync never writes to Canvas


def _listed(sim: Simulator, endpoint: str) -> int:
    return sum(1 for _, path, *_ in sim.request_log if path.endswith(endpoint))


def test_second_sync_with_nothing_changed_uses_at_most_five_requests(
    sim: Simulator, database_url: str
) -> None:
    """Every section's students as stored: the enrollments are not listed again."""
    settings = make_settings(sim, database_url)
    run_sync(settings)
    before = database_content(database_url)
    sim.reset_request_log()
    again = run_sync(settings)
    assert again.mode == "incremental" and again.students == 38
    assert again.requests <= 5
    assert len(sim.request_log) == again.requests
    assert (_listed(sim, "/sections"), _listed(sim, "/enrollments")) == (1, 0)
    assert database_content(database_url) == before


def _new_student(state: CanvasState) -> None:
    state.add_user(User(1099, "Nia New", "New, Nia", "Nia", "s1099", "nnew", NOW))
    state.enroll(1099, "StudentEnrollment", SECTION_B)


def _rename(state: CanvasState) -> None:
    state.users[1003] = dataclasses.replace(state.users[1003], name="Cara Renamed")


def _move(state: CanvasState) -> None:
    next(e for e in state.enrollments.values() if e.user_id == 1004).section_id = SECTION_B


@pytest.mark.parametrize(
    "change",
    [
        lambda state: state.set_enrollment_state(1001, "inactive"),
        lambda state: state.set_enrollment_state(1002, "deleted"),
        lambda state: state.set_enrollment_state(1018, "active"),
        _new_student,
        _rename,
        _move,
    ],
    ids=["dropped", "deleted", "invited-accepts", "enrolled", "renamed", "moved"],
)
def test_a_changed_enrollment_is_listed_in_full_and_stored(
    sim: Simulator, database_url: str, change: Any
) -> None:
    """Any difference between the sections' enrollments and the stored ones lists every
    enrollment again, so an incremental sync stores what a full pull stores."""
    settings = make_settings(sim, database_url)
    run_sync(settings)
    change(sim.state)
    sim.reset_request_log()
    assert run_sync(settings).mode == "incremental"
    assert (_listed(sim, "/sections"), _listed(sim, "/enrollments")) == (1, 1)
    assert_a_full_pull_stores_the_same(settings, database_url)


def test_a_deleted_enrollment_that_comes_back_is_seen(sim: Simulator, database_url: str) -> None:
    settings = make_settings(sim, database_url)
    sim.state.set_enrollment_state(1005, "deleted")
    run_sync(settings)
    assert 1005 not in {s.id for s in database_content(database_url)["students"] if s.included}
    sim.state.set_enrollment_state(1005, "active")
    sim.reset_request_log()
    run_sync(settings)
    assert _listed(sim, "/enrollments") == 1
    assert 1005 in {s.id for s in database_content(database_url)["students"] if s.included}
    assert_a_full_pull_stores_the_same(settings, database_url)


def test_incremental_sync_sees_what_a_full_pull_sees(sim: Simulator, database_url: str) -> None:
    """Submissions, grades, due dates, overrides and enrollments changed between syncs."""
    settings = make_settings(sim, database_url)
    run_sync(settings)
    state = sim.state
    reading = 2005
    state.submit(1018, 2019, NOW - timedelta(days=1))  # an invited student submits (ignored)
    state.submit(1013, 2014, NOW - timedelta(hours=3))  # a missing reading arrives, late
    state.grade(1002, 2001, 9.0, grader_id=2)  # the ungraded one is graded
    state.set_due(reading, datetime(2026, 2, 20, 5, 59, 59, tzinfo=UTC))  # due date moved
    state.add_override(2010, student_ids=[1010], due_at=datetime(2026, 6, 1, tzinfo=UTC))
    state.set_enrollment_state(1017, "active")  # the inactive student comes back
    state.set_enrollment_state(1019, "inactive")
    summary = run_sync(settings)
    assert summary.mode == "incremental"
    assert_a_full_pull_stores_the_same(settings, database_url)


def test_a_window_of_many_changes_is_read_grouped_and_sees_what_a_full_pull_sees(
    sim: Simulator, database_url: str
) -> None:
    """More rows graded since the last sync than one page holds (as right after a push): the
    since-query is asked again grouped by student, a chunk a request, instead of following
    page after page, and stores what a full pull stores."""
    settings = make_settings(sim, database_url)
    run_sync(settings)
    state = sim.state
    students = sorted(e.user_id for e in state.student_enrollments(("active",)))
    graded = 0
    for assignment_id in range(2001, 2008):
        for user_id in students:
            if (assignment_id, user_id) in state.submissions:
                state.grade(user_id, assignment_id, 7.0, grader_id=2)
                graded += 1
    assert graded > 100  # more than one page of `student_ids[]=all`
    sim.reset_request_log()
    summary = run_sync(settings)
    assert summary.mode == "incremental"
    reads = [
        parse_qs(query)
        for _method, path, query, _status in sim.request_log
        if path.endswith("/students/submissions")
    ]
    since = [q for q in reads if "graded_since" in q]
    grouped = [q for q in since if q.get("grouped") == ["true"]]
    assert grouped and all(q["student_ids[]"] != ["all"] for q in grouped)
    included = sorted(s.id for s in database_content(database_url)["students"] if s.included)
    assert sorted(int(i) for q in grouped for i in q["student_ids[]"]) == included
    assert len(since) - len(grouped) == 1  # of the listing of all students, the first page
    assert_a_full_pull_stores_the_same(settings, database_url)


def test_full_pull_of_300_students_stays_within_the_request_budget(tmp_path: Any) -> None:
    with Simulator(students=300, seed=598, now=NOW, token=TOKEN) as big:
        settings = make_settings(big, f"sqlite:///{tmp_path / 'big.db'}")
        summary = run_sync(settings)
        submissions = len([q for q in database_content(settings.database_url)["submissions"]])
        budget = math.ceil(submissions / 100) + 10
        print(
            f"300-student full pull: {summary.requests} requests for {submissions} submissions"
            f" (budget {budget}), {summary.seconds:.2f} s"
        )
        assert summary.requests <= budget


def test_faults_do_not_change_the_result(tmp_path: Any) -> None:
    clean_url = f"sqlite:///{tmp_path / 'clean.db'}"
    faulty_url = f"sqlite:///{tmp_path / 'faulty.db'}"
    with Simulator(students=60, seed=598, now=NOW, token=TOKEN) as clean:
        run_sync(make_settings(clean, clean_url))
    with Simulator(
        students=60,
        seed=598,
        now=NOW,
        token=TOKEN,
        fault_rate=0.10,
        fault_seed=7,
        stall_seconds=0.6,
    ) as faulty:
        settings = make_settings(
            faulty,
            faulty_url,
            http_timeout=0.4,
            max_attempts=10,
            backoff_base=0.05,
            backoff_max=0.5,
            throttle_max_wait=0.2,
        )
        summary = run_sync(settings)
        statuses = [status for *_, status in faulty.request_log]
        failures = sum(1 for s in statuses if s >= 400)
        print(f"10% faults: {failures} failed answers of {len(statuses)}, sync still completed")
        assert failures > 0
        assert summary.mode == "full"
    assert database_content(faulty_url) == database_content(clean_url)


def test_failed_sync_keeps_the_last_good_state(sim: Simulator, database_url: str) -> None:
    settings = make_settings(sim, database_url)
    run_sync(settings)
    good = database_content(database_url)
    sim.state.grade(1001, 2001, 3.0, grader_id=2)
    with pytest.raises(AuthFailed) as caught:
        run_sync(dataclasses.replace(settings, token=type(settings.token)("wrong-token")))
    assert "wrong-token" not in str(caught.value)
    assert database_content(database_url) == good
    database = Database(database_url)
    with database.transaction() as session:
        last = records.last_runs(session, 598, limit=1)[0]
    database.dispose()
    assert last.status == "failed"
    assert last.error and "401" in last.error


def test_a_missing_token_records_no_run(sim: Simulator, database_url: str) -> None:
    """A configuration error stops the sync before it starts: no run is left 'running'."""
    settings = make_settings(sim, database_url)
    with pytest.raises(ConfigError, match="No Canvas token"):
        run_sync(dataclasses.replace(settings, token=type(settings.token)("")))
    database = Database(database_url)
    with database.transaction() as session:
        assert records.last_runs(session, 598) == []
    database.dispose()
