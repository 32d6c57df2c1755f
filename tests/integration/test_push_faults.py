"""Push under the simulator's `push` fault profile, and SIGKILLs inside the accept window.

The fault profile loses the answer of a quarter of the writes, most of them after Canvas acted
(the job is queued), throttles 5% of all requests, fails 8% of the reads and stalls twice. One
`push --yes` must end with every change confirmed, Canvas equal to a fault-free run's state and
no comment twice. CI runs two seeds; `CANVAS_SYNC_PUSH_SEEDS=20` runs the issue's 20 (`-s`
prints the figures).
"""

from __future__ import annotations

import dataclasses
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from integration_helpers import canvas_env

from canvas_sync import service
from canvas_sync.push import MARKER, Target
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import Simulator

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "sim-token"
BULK = "/api/v1/courses/598/submissions/update_grades"
Snapshot = dict[str, Any]


class Course(Simulator):
    """The CS 598 course set up as docs/canvas-setup.md says, with no Canvas Late Policy, so
    push may write (these tests are about pushing, not about that refusal)."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.state.late_policy = None


def make_settings(sim: Simulator, url: str) -> Settings:
    settings = load_settings(shipped_config(), env=canvas_env(sim, TOKEN, url))
    # Retries fast enough for a test; the fault profile still exercises every retry path.
    return dataclasses.replace(settings, backoff_base=0.05, backoff_max=0.5, throttle_max_wait=0.5)


def snapshot(sim: Simulator) -> Snapshot:
    """Canvas's grades, excusals, own comments (with their count) and column contents."""
    cells = {}
    for key, sub in sim.state.submissions.items():
        own = sorted(c.comment for c in sub.comments if c.comment.endswith(MARKER))
        cells[key] = (sub.entered_score, sub.excused, tuple(own))
    columns = {c.title: dict(c.data) for c in sim.state.columns.values()}
    return {"cells": cells, "columns": columns}


def duplicates(snap: Snapshot) -> int:
    return sum(len(own) - len(set(own)) for _score, _excused, own in snap["cells"].values())


def push_once(sim: Simulator, url: str) -> service.PushSummary:
    settings = make_settings(sim, url)
    service.sync(settings, now=lambda: NOW)
    return service.push(settings, now=lambda: NOW, poll_interval=0.01)


@pytest.fixture(scope="module")
def fault_free(tmp_path_factory: pytest.TempPathFactory) -> Snapshot:
    url = f"sqlite:///{tmp_path_factory.mktemp('clean') / 'clean.db'}"
    with Course(students=40, seed=598, now=NOW, token=TOKEN) as sim:
        push_once(sim, url)
        return snapshot(sim)


def faulty_run(seed: int, tmp_path: Path) -> tuple[service.PushSummary, Snapshot, Simulator]:
    url = f"sqlite:///{tmp_path / f'faults-{seed}.db'}"
    with Course(
        students=40,
        seed=598,
        now=NOW,
        token=TOKEN,
        fault_profile="push",
        fault_seed=seed,
        stall_seconds=0.3,
    ) as sim:
        summary = push_once(sim, url)  # raises PushFailed (exit 1) when not all confirmed
        return summary, snapshot(sim), sim


def check_seed(seed: int, tmp_path: Path, fault_free: Snapshot) -> str:
    summary, snap, sim = faulty_run(seed, tmp_path)
    assert summary.confirmed == summary.planned and summary.failed == 0
    assert duplicates(snap) == 0
    assert snap == fault_free
    return (
        f"seed {seed}: {sim.lost_writes} lost answers, {summary.rounds} rounds, "
        f"{summary.write_requests} writes, {summary.progress_polls} polls, "
        f"{summary.seconds:.1f} s"
    )


@pytest.mark.parametrize("seed", [11, 110])
def test_one_push_under_the_fault_profile_ends_like_a_fault_free_run(
    seed: int, tmp_path: Path, fault_free: Snapshot
) -> None:
    print("\n" + check_seed(seed, tmp_path, fault_free))


def test_lost_answers_of_the_grade_job_and_the_column_are_settled_in_the_run(
    tmp_path: Path, fault_free: Snapshot
) -> None:
    """Both writes act but lose their answer: one barrier, the read-back finds every grade and
    comment written, only the column is sent again; exit 0, no comment twice."""
    url = f"sqlite:///{tmp_path / 'lost.db'}"
    with Course(students=40, seed=598, now=NOW, token=TOKEN) as sim:
        settings = make_settings(sim, url)
        service.sync(settings, now=lambda: NOW)
        sim.lose_once = [BULK, "/api/v1/courses/598/custom_gradebook_column_data"]
        sim.reset_request_log()
        summary = service.push(settings, now=lambda: NOW, poll_interval=0.01)
        snap = snapshot(sim)
        posts = [p for m, p, _q, _s in sim.request_log if m == "POST" and p == BULK]
    assert summary.confirmed == summary.planned and summary.failed == 0
    assert len(posts) == 2  # the job and one barrier: no grade or comment sent twice
    assert (summary.rounds, summary.write_requests) == (2, 4)  # + the column, twice
    assert duplicates(snap) == 0 and snap == fault_free


@pytest.mark.skipif(
    not os.environ.get("CANVAS_SYNC_PUSH_SEEDS"),
    reason="set CANVAS_SYNC_PUSH_SEEDS=20 to run the issue's seed set (about 2 minutes)",
)
def test_many_seeds_converge_without_a_duplicate_comment(
    tmp_path: Path, fault_free: Snapshot
) -> None:
    count = int(os.environ.get("CANVAS_SYNC_PUSH_SEEDS", "20"))
    lines = [check_seed(seed, tmp_path, fault_free) for seed in range(100, 100 + count)]
    print("\n" + "\n".join(lines))


# --- SIGKILL after Canvas accepted the POST, before the journal knows ------------------------


@pytest.fixture
def held(tmp_path: Path) -> Iterator[tuple[Simulator, str]]:
    """A simulator whose job queue runs in the background and is held: a queued job runs only
    when the test releases it (after the killed push was restarted)."""
    with Course(students=40, seed=598, now=NOW, token=TOKEN, job_delay=0.0) as sim:
        url = f"sqlite:///{tmp_path / 'killed.db'}"
        service.sync(make_settings(sim, url), now=lambda: NOW)
        yield sim, url


def _spawn_push(sim: Simulator, url: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **canvas_env(sim, TOKEN, url),
        "CANVAS_SYNC_CONFIG": str(shipped_config()),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "canvas_sync", "push", "--yes"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _journal_states(url: str) -> dict[str, int]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT state, count(*) FROM push_changes GROUP BY state")
            ).all()
    finally:
        engine.dispose()
    return {str(state): int(n) for state, n in rows}


@pytest.mark.slow
def test_kill_between_canvas_accepting_and_the_journal_posts_each_comment_once(
    held: tuple[Simulator, str],
) -> None:
    sim, url = held
    sim.state.jobs.hold()
    killed: list[int] = []
    process = _spawn_push(sim, url)

    def kill_on_first_bulk(method: str, path: str) -> None:
        # Canvas has queued the job; the answer has not left: the client dies now.
        if path == BULK and not killed:
            killed.append(process.pid)
            os.kill(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    sim.on_write = kill_on_first_bulk
    assert process.wait(timeout=120) == -signal.SIGKILL and killed
    sim.on_write = None
    assert _journal_states(url).get("sending", 0) > 200  # nothing journaled `sent`
    # The accepted grade job, still queued (the column request goes out beside it and may
    # have been accepted too).
    grade_jobs = [p for p in sim.state.progresses.values() if p.tag != "custom_columns_update"]
    assert len(grade_jobs) == 1
    first = grade_jobs[0]
    assert first.workflow_state == "queued"

    def release_on_barrier(method: str, path: str) -> None:
        if path == BULK:
            sim.state.jobs.release()  # the first job runs only now, after the restart

    sim.on_write = release_on_barrier
    rerun = service.push(make_settings(sim, url), now=lambda: NOW, poll_interval=0.01)
    # The killed push's job ran after the restart, first of the course's grade jobs.
    progresses = sim.state.progresses
    ran = [p for p in sim.state.jobs.runs if progresses[p].tag != "custom_columns_update"]
    assert ran[0] == first.id
    # Every grade of the killed job is confirmed from Canvas (not sent again); the column,
    # unless its request had been accepted and run, is what the fresh plan sends.
    assert rerun.reconciled.confirmed > 200
    assert {a.target for a in rerun.plan.actions} <= {Target.COLUMN}
    assert rerun.confirmed == rerun.planned == rerun.reconciled.superseded
    snap = snapshot(sim)
    assert duplicates(snap) == 0
    comments = sum(len(own) for _s, _e, own in snap["cells"].values())
    assert comments > 50
    states = _journal_states(url)
    assert not {"planned", "sending", "sent"} & set(states)


@pytest.mark.slow
def test_kill_at_random_instants_never_doubles_a_comment(
    held: tuple[Simulator, str], fault_free: Snapshot
) -> None:
    """Kill the push 0..0.6 s after it starts, a few times in a row, jobs delayed; then finish."""
    sim, url = held
    sim.state.jobs.job_delay = 0.2
    for delay in (0.15, 0.3, 0.45, 0.6):
        process = _spawn_push(sim, url)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)
    service.push(make_settings(sim, url), now=lambda: NOW, poll_interval=0.01)
    assert sim.state.jobs.drain()
    snap = snapshot(sim)
    assert duplicates(snap) == 0
    assert snap == fault_free
