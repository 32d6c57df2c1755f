"""`push` against the simulator over real HTTP, on SQLite and PostgreSQL (issue 4, SPEC §4).

The simulator's clock and the policy's `now` are pinned after the semester. Progress objects are
polled every 10 ms (the simulator advances one state per poll).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
import sqlalchemy as sa
from integration_helpers import canvas_env

from canvas_sync import service
from canvas_sync.domain import Kind, Status
from canvas_sync.errors import UsageError
from canvas_sync.policy import reading_labels
from canvas_sync.push import MARKER, PushPlan, Target, column_text, same_value, total_text
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import READING_IDS, TA_TOKEN, TOTAL_ASSIGNMENT_ID, Simulator
from canvas_sync.simulator.records import Assignment, Group

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "sim-token"
POLL = 0.01
EARLY = datetime(2026, 1, 10, 5, 59, 59, tzinfo=UTC)


class Crash(Exception):
    """Stands for the process dying between two journal states."""


def make_settings(sim: Simulator, database_url: str, **changes: Any) -> Settings:
    """The shipped config on `sim`; the course's Canvas Late Policy (10%/day) is allowed, as
    these tests are about pushing (test_push_pool.py checks that it stops push by default)."""
    env = canvas_env(sim, TOKEN, database_url)
    changes.setdefault("allow_canvas_late_policy", True)
    return dataclasses.replace(load_settings(shipped_config(), env=env), **changes)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(students=40, seed=598, now=NOW, token=TOKEN, total_assignment=True) as simulator:
        yield simulator


@pytest.fixture
def synced(sim: Simulator, database_url: str) -> Settings:
    """A fresh database of each kind (conftest's `database_url`), fully synced."""
    made = make_settings(sim, database_url)
    service.sync(made, now=lambda: NOW)
    return made


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def baseline(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: Any,
) -> Iterator[str]:
    """One fully synced database per kind and module; tests get clones (a full sync costs
    seconds, and the simulator's course is deterministic for a seed and a pinned clock)."""
    if request.param == "postgresql":
        url = postgres_databases.create()
    else:
        url = f"sqlite:///{tmp_path_factory.mktemp('push') / 'base.db'}"
    with Simulator(students=40, seed=598, now=NOW, token=TOKEN, total_assignment=True) as first:
        service.sync(make_settings(first, url), now=lambda: NOW)
    yield url
    if request.param == "postgresql":
        postgres_databases.drop(url)


@pytest.fixture
def settings(
    sim: Simulator, baseline: str, tmp_path: Path, postgres_databases: Any
) -> Iterator[Settings]:
    """A clone of the module's synced database, pointed at this test's fresh simulator."""
    if baseline.startswith("sqlite"):
        copy = tmp_path / "push.db"
        shutil.copyfile(baseline.removeprefix("sqlite:///"), copy)
        yield make_settings(sim, f"sqlite:///{copy}")
        return
    url = postgres_databases.create(template=baseline)
    try:
        yield make_settings(sim, url)
    finally:
        postgres_databases.drop(url)


def run_push(settings: Settings, **kw: Any) -> service.PushSummary:
    return service.push(settings, now=lambda: NOW, poll_interval=POLL, **kw)


def writes(sim: Simulator) -> list[tuple[str, str]]:
    return [(m, path) for m, path, _q, _s in sim.request_log if m != "GET"]


def own_comments(sim: Simulator, aid: int, uid: int) -> list[str]:
    sub = sim.state.submissions[(aid, uid)]
    return [c.comment for c in sub.comments if c.comment.endswith(MARKER)]


def graded_watermark(settings: Settings) -> datetime:
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            value = connection.execute(sa.text("SELECT graded_watermark FROM courses")).scalar_one()
    finally:
        engine.dispose()
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    assert isinstance(value, datetime)
    return (
        value.replace(tzinfo=None)
        if value.tzinfo is None
        else value.astimezone(UTC).replace(tzinfo=None)
    )


def column_id(sim: Simulator, settings: Settings) -> int:
    return next(c.id for c in sim.state.columns.values() if c.title == settings.total_column)


def assert_canvas_matches_policy(sim: Simulator, settings: Settings) -> None:
    """Every late/missing reading is 0 with one comment per late one; totals and column match."""
    evaluation = service.evaluate(settings, now=NOW)
    labels = reading_labels(evaluation.results)
    column = sim.state.columns[column_id(sim, settings)].data
    zeroed = 0
    for result in evaluation.results:
        uid = result.student.id
        for r in result.readings:
            sub = sim.state.submissions[(r.assignment_id, uid)]
            if r.status in (Status.LATE, Status.MISSING):
                assert sub.entered_score == 0.0, (uid, r.assignment_id, sub.entered_score)
                zeroed += 1
            if r.status is Status.LATE:
                assert len(own_comments(sim, r.assignment_id, uid)) == 1
            elif r.status is not Status.MISSING:
                assert own_comments(sim, r.assignment_id, uid) == []
        total = sim.state.submissions[(TOTAL_ASSIGNMENT_ID, uid)].entered_score
        assert same_value(None if total is None else str(total), total_text(result))
        assert column[uid] == column_text(result, labels)
    assert zeroed > 50


def test_push_writes_the_policy_and_a_second_push_writes_nothing(
    sim: Simulator, synced: Settings
) -> None:
    settings = synced
    assert graded_watermark(settings) < NOW.replace(tzinfo=None)
    sim.reset_request_log()
    first = run_push(settings)
    # The read-back of the written cells is stored and moves the watermark past the push's
    # writes (graded at the simulator's pinned NOW).
    assert graded_watermark(settings) == NOW.replace(tzinfo=None)
    assert first.planned == first.sent == first.confirmed > 200
    assert first.failed == 0
    # One course-level job for every reading and total change, one column bulk update, and
    # the demo target: <= 3 write requests, <= 6 Progress polls.
    posts = [p for m, p in writes(sim) if m == "POST" and p.endswith("/update_grades")]
    assert posts == [f"/api/v1/courses/{sim.course_id}/submissions/update_grades"]
    assert len(first.plan.by_assignment()) == 20
    assert first.write_requests == len(writes(sim)) - len(first.created) == 2
    polls = [p for _m, p, _q, _s in sim.request_log if p.startswith("/api/v1/progress/")]
    assert first.progress_polls == len(polls) <= 6
    print(f"\ndemo push: {first.write_requests} writes, {first.progress_polls} progress polls")
    assert_canvas_matches_policy(sim, settings)
    sim.reset_request_log()
    second = run_push(settings)
    assert second.planned == 0 and second.sent == 0
    assert writes(sim) == []
    # A no-op push costs at most an incremental sync plus 2 requests (the column and its data).
    noop = len(sim.request_log)
    sim.reset_request_log()
    service.sync(settings, now=lambda: NOW)
    assert noop <= len(sim.request_log) + 2, (noop, len(sim.request_log))
    # The next sync sees no late_graded / missing_ungraded left to fix: each resolved itself.
    service.sync(settings, now=lambda: NOW)
    still = service.list_discrepancies(settings, state="open")
    assert not [d for d in still if d.kind in (Kind.MISSING_UNGRADED, Kind.LATE_GRADED)]
    resolved = service.list_discrepancies(settings, state="resolved", kind="late_graded")
    assert resolved and all(d.resolved_by == "auto" for d in resolved)


def stored_raw(settings: Settings, student_id: int, assignment_id: int) -> dict[str, Any]:
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            value = connection.execute(
                sa.text("SELECT raw FROM submissions WHERE student_id = :s AND assignment_id = :a"),
                {"s": student_id, "a": assignment_id},
            ).scalar_one()
    finally:
        engine.dispose()
    raw = json.loads(value) if isinstance(value, str) else value
    assert isinstance(raw, dict)
    return raw


def test_the_read_back_is_stored_over_the_synced_rows(sim: Simulator, synced: Settings) -> None:
    """The read-back asks for the checked fields and the comments only; what it read replaces
    the stored row's attributes, and the history the sync stored stays."""
    before = {}
    late = []
    for action in run_push(synced, dry_run=True).plan.actions:
        if action.target is Target.GRADE and action.comment and action.assignment_id:
            raw = stored_raw(synced, action.student_id, action.assignment_id)
            if raw.get("submission_history"):
                late.append(action)
                before[action.key] = raw
    assert len(late) > 1
    resubmitted = late.pop()
    assert resubmitted.assignment_id is not None

    def resubmit(step: str) -> None:
        # After Canvas ran the job, before the read-back: the student submits again.
        if step == "waited":
            sim.state.submit(resubmitted.student_id, resubmitted.assignment_id or 0, NOW)

    sim.reset_request_log()
    run_push(synced, hook=resubmit)
    log = sim.request_log
    posted = next(i for i, (m, p, _q, _s) in enumerate(log) if p.endswith("/update_grades"))
    reads = [str(q) for _m, p, q, _s in log[posted:] if p.endswith("/students/submissions")]
    assert reads and all("submission_history" not in q and "response_fields" in q for q in reads)
    for action in late:
        assert action.assignment_id is not None
        raw = stored_raw(synced, action.student_id, action.assignment_id)
        assert raw["score"] == 0 and raw["grade"] == "0"
        assert [c["comment"] for c in raw["submission_comments"]].count(action.comment) == 1
        assert raw["submission_history"] == before[action.key]["submission_history"]
        assert raw["submitted_at"] == before[action.key]["submitted_at"]
    # The resubmitted row is left as stored (its history would lack the new attempt); the
    # next sync stores it whole.
    cell = (resubmitted.student_id, resubmitted.assignment_id)
    assert stored_raw(synced, *cell) == before[resubmitted.key]
    service.sync(synced, now=lambda: NOW)
    raw = stored_raw(synced, *cell)
    assert raw["score"] == 0 and raw["submitted_at"] != before[resubmitted.key]["submitted_at"]
    assert len(raw["submission_history"]) > len(before[resubmitted.key]["submission_history"])


def _reads_after_the_write(sim: Simulator) -> list[dict[str, list[str]]]:
    """The query of each `students/submissions` read after the first bulk update."""
    log = sim.request_log
    posted = next(i for i, (m, p, _q, _s) in enumerate(log) if p.endswith("/update_grades"))
    return [parse_qs(q) for _m, p, q, _s in log[posted:] if p.endswith("/students/submissions")]


def test_the_read_back_asks_for_rows_graded_since_the_job_and_reads_what_it_missed_whole(
    sim: Simulator, synced: Settings
) -> None:
    """Canvas renders the written cells, not the ones beside them; a written cell whose
    `graded_at` reads earlier (a job server's clock behind) is unknown, so it is read again
    without the filter and confirmed, not failed."""
    plan = run_push(synced, dry_run=True).plan
    lagging = next(a for a in plan.actions if a.target is Target.GRADE and a.comment)
    assert lagging.assignment_id is not None

    def lag(step: str) -> None:
        if step == "waited":  # Canvas ran the job; its clock was a day behind for this cell
            sub = sim.state.submissions[(lagging.assignment_id or 0, lagging.student_id)]
            sub.graded_at = NOW - timedelta(days=1)

    sim.reset_request_log()
    summary = run_push(synced, hook=lag)
    assert summary.confirmed == summary.planned == len(plan.actions)
    reads = _reads_after_the_write(sim)
    filtered = [q for q in reads if "graded_since" in q]
    whole = [q for q in reads if "graded_since" not in q]
    # The simulator's clock is pinned: the job was queued at NOW, minus the clocks' margin.
    assert filtered and {q["graded_since"][0] for q in filtered} == {"2026-05-20T16:55:00Z"}
    assert [(q["student_ids[]"], q["assignment_ids[]"]) for q in whole] == [
        ([str(lagging.student_id)], [str(lagging.assignment_id)])
    ]
    assert len(own_comments(sim, lagging.assignment_id, lagging.student_id)) == 1


def test_after_a_lost_job_answer_the_read_back_reads_every_cell_whole(
    sim: Simulator, synced: Settings
) -> None:
    """Without the Progress of every job, nothing says since when to ask: no filter."""
    sim.lose_once = [f"/api/v1/courses/{sim.course_id}/submissions/update_grades"]
    sim.reset_request_log()
    summary = run_push(synced)
    assert sim.lose_once == []
    assert summary.confirmed == summary.planned > 0
    reads = _reads_after_the_write(sim)
    assert reads and all("graded_since" not in q for q in reads)
    assert_canvas_matches_policy(sim, synced)


def test_dry_run_sends_no_write_request(sim: Simulator, settings: Settings) -> None:
    sim.reset_request_log()
    summary = run_push(settings, dry_run=True)
    assert summary.planned > 200 and not summary.applied
    assert writes(sim) == []
    # The column does not exist yet: the dry run says it would be created.
    assert any("column" in note for note in summary.plan.notes)
    assert service.plan_push(settings, now=lambda: NOW).actions == summary.plan.actions


def test_dry_run_plans_exactly_what_the_push_then_makes(sim: Simulator, settings: Settings) -> None:
    """Issue 12: the dry run said "0 column entries" while the push then wrote 38 (the column did
    not exist yet). A target push will create is planned as the empty one it will be."""
    dry = run_push(settings, dry_run=True).plan
    seen: list[PushPlan] = []

    def yes(plan: PushPlan) -> bool:
        seen.append(plan)
        return True

    run_push(settings, confirm=yes)

    def shape(plan: PushPlan) -> list[tuple[str, int, str, str]]:
        return sorted((a.target.value, a.student_id, a.label, a.to_value) for a in plan.actions)

    assert shape(dry) == shape(seen[0])
    students = len(service.evaluate(settings, now=NOW).results)
    assert len(dry.column_actions()) == students > 30


def test_a_push_that_creates_the_targets_looks_for_them_once(
    sim: Simulator, settings: Settings
) -> None:
    sim.reset_request_log()
    summary = run_push(settings)
    assert any("column" in made for made in summary.created)
    log = [(m, p) for m, p, _q, _s in sim.request_log]
    columns = f"/api/v1/courses/{sim.course_id}/custom_gradebook_columns"
    made = log.index(("POST", columns))
    assert log[:made].count(("GET", columns)) == 1


def _targets(sim: Simulator, settings: Settings) -> tuple[list[Any], list[Any], list[Any]]:
    state = sim.state
    totals = [
        a
        for a in state.assignments.values()
        if a.name == settings.total_assignment and not a.deleted
    ]
    groups = [g for g in state.groups.values() if g.name == "Course Totals"]
    columns = [
        c for c in state.columns.values() if c.title == settings.total_column and not c.deleted
    ]
    return totals, groups, columns


@pytest.mark.parametrize("lost", [False, True], ids=["answered", "answers-lost"])
def test_a_first_push_creates_the_total_and_the_column_once(database_url: str, lost: bool) -> None:
    """The total assignment (100 points, omitted from the final grade, published, in a "Course
    Totals" group of weight 0) and the read-only column; when Canvas makes them but their
    answers are lost, the push finds them by name before creating again."""
    with Simulator(students=40, seed=598, now=NOW, token=TOKEN) as sim:
        settings = make_settings(sim, database_url)
        if lost:
            course = f"/api/v1/courses/{sim.course_id}"
            sim.lose_once = [f"{course}/assignments", f"{course}/custom_gradebook_columns"]
        summary = run_push(settings)
        totals, groups, columns = _targets(sim, settings)
        assert len(totals) == len(groups) == len(columns) == 1
        total, group, column = totals[0], groups[0], columns[0]
        assert (total.points_possible, total.omit_from_final_grade, total.published) == (
            100,
            True,
            True,
        )
        assert total.group_id == group.id and group.group_weight == 0
        assert column.read_only
        assert summary.confirmed == summary.planned > 0
        assert sim.lose_once == []


def test_an_unpublished_total_is_published_and_the_totals_group_reused(
    database_url: str,
) -> None:
    with Simulator(students=40, seed=598, now=NOW, token=TOKEN) as sim:
        settings = make_settings(sim, database_url)
        state = sim.state
        group = state.add_group(Group(id=4242, name="Course Totals", position=9, group_weight=0))
        state.add_assignment(
            Assignment(
                id=4343,
                name=settings.total_assignment,
                group_id=group.id,
                position=1,
                points_possible=100,
                submission_types=["none"],
                created_at=NOW,
                published=False,
                omit_from_final_grade=True,
            )
        )
        summary = run_push(settings)
        totals, groups, _ = _targets(sim, settings)
        assert [(a.id, a.published) for a in totals] == [(4343, True)]
        assert [g.id for g in groups] == [4242]
        assert summary.confirmed == summary.planned > 0


def test_declined_confirmation_writes_nothing(sim: Simulator, settings: Settings) -> None:
    seen: list[PushPlan] = []

    def no(plan: PushPlan) -> bool:
        seen.append(plan)
        return False

    sim.reset_request_log()
    summary = run_push(settings, confirm=no)
    assert len(seen) == 1 and seen[0].actions and not summary.applied
    # Only the (idempotent) target creation may write before the question.
    assert all("custom_gradebook_columns" in p for _, p in writes(sim))


def ta_sets_grade(sim: Simulator, aid: int, uid: int, grade: str) -> None:
    url = f"{sim.base_url}/api/v1/courses/{sim.course_id}/assignments/{aid}/submissions/{uid}"
    answer = httpx.put(
        url,
        headers={"Authorization": f"Bearer {TA_TOKEN}"},
        data={"submission[posted_grade]": grade},
    )
    answer.raise_for_status()


def first_late(summary: service.PushSummary) -> tuple[int, int]:
    action = next(a for a in summary.plan.actions if a.target is Target.GRADE and a.comment)
    assert action.assignment_id is not None
    return action.assignment_id, action.student_id


def manual_overrides(settings: Settings) -> list[Any]:
    return [d for d in service.list_discrepancies(settings) if d.kind is Kind.MANUAL_OVERRIDE]


def test_humans_win_and_resolve_reapply_or_keep(sim: Simulator, settings: Settings) -> None:
    first = run_push(settings)
    aid, uid = first_late(first)
    ta_sets_grade(sim, aid, uid, "7")
    aid2, uid2 = TOTAL_ASSIGNMENT_ID, uid
    ta_sets_grade(sim, aid2, uid2, "99")
    sim.reset_request_log()
    second = run_push(settings)
    assert second.planned == 0 and writes(sim) == []
    assert sim.state.submissions[(aid, uid)].entered_score == 7.0
    facts = {
        (d.assignment_id, d.canvas_value, d.expected_value): d for d in manual_overrides(settings)
    }
    assert set(facts) == {(aid, "7", "0"), (aid2, "99", first_total(first, uid))}
    assert all(d.state == "open" for d in facts.values())
    reading = facts[(aid, "7", "0")]
    total = facts[(aid2, "99", first_total(first, uid))]
    # --reapply on the reading: the next push writes 0 again (no second comment).
    service.resolve_override(settings, reading.id, keep_canvas=False, note="policy", by="ta")
    # --keep-canvas on the total: stays 99 for good.
    service.resolve_override(settings, total.id, keep_canvas=True, note="curve", by="ta")
    third = run_push(settings)
    assert [(a.assignment_id, a.to_value) for a in third.plan.actions] == [(aid, "0")]
    assert sim.state.submissions[(aid, uid)].entered_score == 0.0
    assert sim.state.submissions[(aid2, uid2)].entered_score == 99.0
    assert len(own_comments(sim, aid, uid)) == 1
    assert all(d.state == "resolved" for d in manual_overrides(settings))
    assert run_push(settings).planned == 0


def first_total(summary: service.PushSummary, uid: int) -> str:
    return next(
        a.to_value for a in summary.plan.actions if a.target is Target.TOTAL and a.student_id == uid
    )


def test_keep_canvas_on_a_reading_stores_an_exemption(sim: Simulator, settings: Settings) -> None:
    aid, uid = first_late(run_push(settings))
    ta_sets_grade(sim, aid, uid, "6")
    run_push(settings)
    (fact,) = manual_overrides(settings)
    record = service.resolve_override(
        settings, fact.id, keep_canvas=True, note="late work accepted (DRES)", by="ta"
    )
    assert record.state == "resolved" and record.note == "late work accepted (DRES)"
    after = service.evaluate(settings, now=NOW)
    reading = next(
        r
        for res in after.results
        for r in res.readings
        if (r.assignment_id, r.student_id) == (aid, uid)
    )
    # On time now, with Canvas's score (6 less the simulator's 10 %/day Late Policy).
    assert reading.exempted and reading.status is Status.ON_TIME
    assert reading.policy_score == reading.canvas_score and (reading.canvas_score or 0) > 0
    sim.reset_request_log()
    again = run_push(settings)
    assert all(a.assignment_id != aid or a.student_id != uid for a in again.plan.actions)
    assert sim.state.submissions[(aid, uid)].entered_score == 6.0
    with pytest.raises(UsageError):
        service.resolve_override(settings, fact.id + 999, keep_canvas=True, note="x", by="ta")


@pytest.mark.parametrize("stage", ["planned", "sent", "running", "waited", "confirmed"])
def test_crash_between_journal_states_converges_without_duplicates(
    sim: Simulator, settings: Settings, stage: str
) -> None:
    def hook(step: str) -> None:
        if step == stage or (stage == "running" and step == "sent"):
            raise Crash(step)

    with pytest.raises(Crash):
        run_push(settings, hook=hook)
    if stage == "running":
        # The process died while Canvas's job ran: poll once so the job writes, still running.
        for progress in list(sim.state.progresses.values()):
            sim.state.poll_progress(progress.id)
            assert progress.workflow_state == "running"
    rerun = run_push(settings)
    assert rerun.failed == 0
    if stage in ("waited", "running", "sent"):
        assert rerun.reconciled.confirmed > 200 and rerun.planned == 0
    assert_canvas_matches_policy(sim, settings)
    for (aid, uid), sub in sim.state.submissions.items():
        texts = [c.comment for c in sub.comments if c.comment.endswith(MARKER)]
        assert len(texts) == len(set(texts)), (aid, uid)
        if aid != TOTAL_ASSIGNMENT_ID:
            assert len(texts) <= 1
    sim.reset_request_log()
    assert run_push(settings).planned == 0 and writes(sim) == []


def test_many_changes_use_one_course_level_job(sim: Simulator, database_url: str) -> None:
    """Every reading due before the term: > 500 zeroes across 19 readings in one POST."""
    for aid in READING_IDS:
        sim.state.set_due(aid, EARLY)
    # Months late, Canvas's 10%/day would already score every late summary 0 (nothing to push).
    sim.state.late_policy = None
    settings = make_settings(sim, database_url)
    service.sync(settings, now=lambda: NOW)
    sim.reset_request_log()
    summary = run_push(settings)
    posts = [p for m, p in writes(sim) if p.endswith("/update_grades")]
    puts = [p for m, p in writes(sim) if p.endswith("/custom_gradebook_column_data")]
    progress_gets = [p for m, p, _q, _s in sim.request_log if p.startswith("/api/v1/progress/")]
    grade_changes = sum(1 for a in summary.plan.actions if a.target is Target.GRADE)
    print(
        f"\n{summary.planned} changes ({grade_changes} reading grades) -> {len(posts)} bulk "
        f"POSTs, {len(puts)} column PUTs, {len(progress_gets)} progress polls, "
        f"{len(sim.request_log)} requests in all"
    )
    assert grade_changes >= 500
    touched = {a.assignment_id for a in summary.plan.actions if a.target is not Target.COLUMN}
    assert len(touched) == 20  # 19 readings + the total assignment
    assert len(posts) == 1 == summary.write_requests - len(puts)
    assert len(puts) == 1
    assert summary.progress_polls == len(progress_gets)
    assert summary.confirmed == summary.planned


def test_push_killed_mid_flight_converges_on_the_next_push(tmp_path: Path) -> None:
    """A real process is SIGKILLed while its bulk updates are in Canvas's hands (journal rows
    `sent`, Progress not yet confirmed); the next push reconciles from Canvas, sends nothing
    twice and posts no comment twice."""
    url = f"sqlite:///{tmp_path / 'killed.db'}"
    with Simulator(
        students=40, seed=598, now=NOW, token=TOKEN, latency_ms=15, total_assignment=True
    ) as slow:
        # The child process runs the shipped config, which stops on a Canvas Late Policy.
        slow.state.late_policy = None
        settings = make_settings(slow, url)
        service.sync(settings, now=lambda: NOW)
        env = {
            **os.environ,
            "CANVAS_URL": slow.base_url,
            "CANVAS_TOKEN": TOKEN,
            "CANVAS_COURSE_ID": "598",
            "CANVAS_SYNC_DATABASE_URL": url,
            "CANVAS_SYNC_CONFIG": str(shipped_config()),
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "canvas_sync", "push", "--yes"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        engine = sa.create_engine(url)
        deadline = time.monotonic() + 60
        try:
            while time.monotonic() < deadline and process.poll() is None:
                with engine.connect() as connection:
                    sent = connection.execute(
                        sa.text("SELECT count(*) FROM push_changes WHERE state = 'sent'")
                    ).scalar_one()
                if sent:
                    break
                time.sleep(0.02)
        finally:
            engine.dispose()
        assert process.poll() is None, "push finished before it could be killed"
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
        rerun = run_push(settings)
        assert rerun.failed == 0
        assert_canvas_matches_policy(slow, settings)
        for (aid, uid), sub in slow.state.submissions.items():
            texts = [c.comment for c in sub.comments if c.comment.endswith(MARKER)]
            assert len(texts) == len(set(texts)), (aid, uid)
        slow.reset_request_log()
        assert run_push(settings).planned == 0 and writes(slow) == []


def journal_rows(settings: Settings) -> list[tuple[int | None, int, str, str | None]]:
    """(assignment, student, state, Canvas's answer) of every journal row."""
    engine = sa.create_engine(settings.database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT assignment_id, student_id, state, canvas_answer FROM push_changes")
            ).all()
    finally:
        engine.dispose()
    return [(a, s, state, answer) for a, s, state, answer in rows]


def test_changes_whose_premise_broke_after_the_plan_are_not_written(
    sim: Simulator, settings: Settings
) -> None:
    """Between the plan and the write a grader grades one zeroed cell, another is excused and a
    student submits a third: push re-reads those cells first and leaves all three alone."""
    touched: list[tuple[int, int]] = []

    def meanwhile(plan: PushPlan) -> bool:
        zeroes = [a for a in plan.actions if a.target is Target.GRADE]
        graded, excused, submitted = zeroes[0], zeroes[1], zeroes[2]
        for action in (graded, excused, submitted):
            assert action.assignment_id is not None
            touched.append((action.assignment_id, action.student_id))
        sim.state.grade(graded.student_id, touched[0][0], 7.0)
        sub = sim.state.submissions[touched[1]]
        sub.excused, sub.entered_score = True, None
        sim.state.submit(submitted.student_id, touched[2][0], NOW)
        return True

    summary = run_push(settings, confirm=meanwhile)
    assert len(summary.dropped) >= 3
    assert summary.confirmed == summary.planned - len(summary.dropped)
    assert sim.state.submissions[touched[0]].entered_score == 7.0
    assert sim.state.submissions[touched[1]].excused
    assert sim.state.submissions[touched[2]].entered_score != 0.0
    for cell in touched:
        assert own_comments(sim, *cell) == []
    # Journaled while the cells were re-read; the dropped ones are closed, never left open.
    states = {(a, s): (state, answer) for a, s, state, answer in journal_rows(settings)}
    assert {state for state, _ in states.values()} == {"confirmed", "superseded"}
    assert sum(state == "superseded" for state, _ in states.values()) == len(summary.dropped)
    for cell in touched:
        state, answer = states[cell]
        assert state == "superseded" and answer.startswith("not sent: ")


def test_a_failed_re_read_leaves_no_change_open(
    sim: Simulator, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The changes are journaled while the cells are re-read: when the re-read fails, every
    one is closed `superseded` before the error is shown, and nothing was written."""
    from canvas_sync.errors import CanvasUnavailable
    from canvas_sync.service import _push_io

    def unreachable(*_args: object, **_kwargs: object) -> Any:
        raise CanvasUnavailable("Canvas did not answer")

    monkeypatch.setattr(_push_io, "recheck_plan", unreachable)
    sim.reset_request_log()
    with pytest.raises(CanvasUnavailable):
        run_push(settings)
    assert [w for w in writes(sim) if "update_grades" in w[1] or "column_data" in w[1]] == []
    rows = [(state, answer) for _a, _s, state, answer in journal_rows(settings)]
    assert rows and {state for state, _ in rows} == {"superseded"}
    assert {answer for _, answer in rows} == {
        "not sent: the re-read before the write failed (CanvasUnavailable)"
    }
    monkeypatch.undo()
    summary = run_push(settings)  # nothing left to reconcile: the next push just pushes
    assert summary.reconciled.confirmed == summary.reconciled.superseded == 0
    assert summary.failed == 0 and summary.confirmed == summary.planned > 0


def test_a_status_set_after_the_plan_stops_the_change(sim: Simulator, settings: Settings) -> None:
    """The pre-write re-read asks Canvas for a few fields only; a late-policy status or a
    custom grade status a TA sets between the plan and the write must still stop the zero."""
    touched: list[tuple[int, int]] = []

    def meanwhile(plan: PushPlan) -> bool:
        zeroes = [a for a in plan.actions if a.target is Target.GRADE]
        for action in zeroes[:2]:
            assert action.assignment_id is not None
            touched.append((action.assignment_id, action.student_id))
        sim.state.submissions[touched[0]].late_policy_status = "extended"
        sim.state.submissions[touched[1]].custom_grade_status_id = 7
        return True

    summary = run_push(settings, confirm=meanwhile)
    reasons = " | ".join(summary.dropped)
    assert "its late policy status changed" in reasons
    assert "its custom grade status id changed" in reasons
    for cell in touched:
        assert sim.state.submissions[cell].entered_score != 0.0
        assert own_comments(sim, *cell) == []


def test_a_push_nobody_confirms_re_reads_after_its_pull_while_it_plans(
    sim: Simulator, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no one to ask, the cells are re-read as each batch of students is evaluated, not
    after the plan; those reads still come after the sync's pull. A grade given between the
    pull and the evaluation is seen, and the zero planned over it is dropped, not written."""
    from canvas_sync.service import _push_io, _push_plan, pushing

    zero = next(
        a for a in service.plan_push(settings, now=lambda: NOW).actions if a.target is Target.GRADE
    )
    assert zero.assignment_id is not None
    cell = (zero.assignment_id, zero.student_id)
    original = _push_plan.PlanSource.add
    graded: list[int] = []

    def add(self: Any, batch: Any) -> None:
        if not graded:  # the pull is over: a grader grades the cell now
            sim.state.grade(zero.student_id, zero.assignment_id, 7.0)
            graded.append(len(sim.request_log))
        original(self, batch)

    monkeypatch.setattr(_push_plan.PlanSource, "add", add)
    steps: list[str] = []
    read, plan = _push_io.EarlyRead._read, pushing.plan_changes
    monkeypatch.setattr(_push_io.EarlyRead, "_read", lambda *a: (steps.append("read"), read(*a))[1])
    monkeypatch.setattr(
        pushing, "plan_changes", lambda *a, **k: (steps.append("plan"), plan(*a, **k))[1]
    )
    sim.reset_request_log()
    summary = run_push(settings)
    assert "read" in steps and steps.index("read") < steps.index("plan")
    assert graded and summary.dropped and "Canvas now holds 7" in " | ".join(summary.dropped)
    assert sim.state.submissions[cell].entered_score == 7.0
    assert own_comments(sim, *cell) == []
    assert summary.failed == 0 and summary.confirmed == summary.planned - len(summary.dropped)
    # The re-read (bare rows: `response_fields[]`, no comments, unlike the read-back after
    # the write) was asked after the pull, before the write.
    log = [(m, path, str(q)) for m, path, q, _s in sim.request_log]
    rereads = [
        i
        for i, (_m, _path, q) in enumerate(log)
        if "response_fields" in q and "submission_comments" not in q
    ]
    first_write = next(i for i, (m, path, _q) in enumerate(log) if "update_grades" in path)
    assert rereads and graded[0] <= rereads[0] and rereads[-1] < first_write
