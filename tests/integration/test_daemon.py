"""The daemon for real: subprocesses against the simulator, the course lock across processes.

SPEC §9: scheduled and triggered syncs, one sync per course at a time (SQLite lease row and
PostgreSQL advisory lock), a SIGKILLed holder's lock expires, SIGTERM stops cleanly.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from integration_helpers import canvas_env

from canvas_sync import service
from canvas_sync.db import Database, locks, records, requests
from canvas_sync.errors import LockTimeout
from canvas_sync.service import daemon as jobs
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import Simulator

TOKEN = "tok-daemon-test-5f3a9c"
ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def canvas() -> Iterator[Simulator]:
    sim = Simulator(students=12, token=TOKEN, latency_ms=15)
    sim.start(0)
    yield sim
    sim.stop()


def _config(tmp_path: Path, interval_minutes: float = 0.05) -> Path:
    text = shipped_config().read_text(encoding="utf-8")
    text = text.replace("interval_minutes = 30", f"interval_minutes = {interval_minutes}")
    assert f"interval_minutes = {interval_minutes}" in text
    path = tmp_path / "course.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _env(canvas: Simulator, url: str) -> dict[str, str]:
    return {**os.environ, **canvas_env(canvas, TOKEN, url)}


def _settings(config: Path, env: dict[str, str]) -> Settings:
    return load_settings(config, env=env)


def _cli(config: Path, env: dict[str, str], *args: str) -> list[str]:
    return [sys.executable, "-m", "canvas_sync", "--config", str(config), *args]


def _runs(url: str) -> list[sa.Row[tuple[str, str, object, object]]]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return list(
                connection.execute(
                    sa.text(
                        "SELECT trigger, status, started_at, finished_at FROM sync_runs ORDER BY id"
                    )
                )
            )
    finally:
        engine.dispose()


def _wait_for(predicate: object, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


def test_daemon_syncs_on_schedule_answers_trigger_and_stops_on_sigterm(
    canvas: Simulator, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'daemon.db'}"
    config, env = _config(tmp_path), _env(canvas, url)
    subprocess.run(_cli(config, env, "db", "upgrade"), env=env, check=True, capture_output=True)
    log_path = tmp_path / "daemon.log"
    with log_path.open("w") as log:
        daemon = subprocess.Popen(_cli(config, env, "daemon"), env=env, stderr=log, cwd=tmp_path)
    try:
        # Scheduled: a start-up run, then every 3 s (interval_minutes = 0.05).
        _wait_for(lambda: sum(r.trigger == "interval" for r in _runs(url)) >= 2, 20)
        started = time.monotonic()
        trig = subprocess.run(
            _cli(config, env, "trigger", "--timeout", "15"), env=env, capture_output=True, text=True
        )
        assert trig.returncode == 0, trig.stderr
        assert "(request," in trig.stdout and "succeeded" in trig.stdout
        assert time.monotonic() - started < 10
        shown = subprocess.run(
            _cli(config, env, "status"), env=env, capture_output=True, text=True, check=True
        )
        assert "request" in shown.stdout and "(interval)" in shown.stdout
        assert re.search(r"Latest trigger: request \d+ by \S+ at .+ C[SD]T: done", shown.stdout)
        assert f":{daemon.pid}" in shown.stdout  # the daemon is listed with its host:pid
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=10)
    assert code == 0
    runs = _runs(url)
    assert all(r.status in {"succeeded", "interrupted"} for r in runs), runs
    assert {r.trigger for r in runs} >= {"interval", "request"}
    text = log_path.read_text(encoding="utf-8")
    assert "event=run_finished" in text and "event=daemon_stopped" in text
    assert TOKEN not in text  # SPEC §5: the token is never logged
    gone = subprocess.run(_cli(config, env, "status"), env=env, capture_output=True, text=True)
    assert "Daemons: none" in gone.stdout


def test_trigger_without_a_daemon_says_so(canvas: Simulator, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'idle.db'}"
    config, env = _config(tmp_path), _env(canvas, url)
    outcome = service.trigger(_settings(config, env), pickup_timeout=0.6, poll=0.1)
    assert outcome.state == "failed" and not outcome.ok
    assert "no daemon picked it up" in outcome.line()


def test_two_processes_at_once_sync_one_at_a_time(
    canvas: Simulator, tmp_path: Path, database_url: str
) -> None:
    config, env = _config(tmp_path), _env(canvas, database_url)
    subprocess.run(_cli(config, env, "db", "upgrade"), env=env, check=True, capture_output=True)
    procs = [
        subprocess.Popen(_cli(config, env, "sync", "--full"), env=env, stdout=subprocess.DEVNULL)
        for _ in range(2)
    ]
    assert [p.wait(timeout=60) for p in procs] == [0, 0]
    runs = _runs(database_url)
    assert [r.status for r in runs] == ["succeeded", "succeeded"]
    first, second = sorted(runs, key=lambda r: r.started_at)
    assert first.finished_at <= second.started_at  # never two syncs of the course at once


HOLD = """
import sys, time
from canvas_sync.db import Database, locks, records, requests
db = Database(sys.argv[1]); db.ensure_schema()
handle = locks.acquire(db, int(sys.argv[2]), "crashy:1", wait_seconds=0, lease_seconds=1.5)
print("held", flush=True)
time.sleep(120)
"""


def test_a_killed_holders_lock_expires_and_the_next_run_proceeds(
    canvas: Simulator, tmp_path: Path, database_url: str
) -> None:
    config, env = _config(tmp_path), _env(canvas, database_url)
    settings = _settings(config, env)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD, database_url, str(settings.course_id)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        database = Database(database_url)
        with pytest.raises(LockTimeout, match=r"synced by crashy:1 since \d{4}-"):
            locks.acquire(database, settings.course_id, wait_seconds=0.3)
        info = locks.holder_of(database, settings.course_id)
        assert info is not None and info.holder == "crashy:1"
        database.dispose()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait(timeout=5)
        assert holder.stdout is not None
        holder.stdout.close()
    summary = service.sync(settings, lock_wait=10)  # waits out the dead holder's lease
    assert summary.students > 0
    database = Database(database_url)
    assert locks.holder_of(database, settings.course_id) is None  # released after the run
    database.dispose()


def test_two_daemons_on_one_database_never_run_the_course_twice_at_once(
    canvas: Simulator, tmp_path: Path, postgres_url: str
) -> None:
    """SPEC §9: several daemons share one PostgreSQL database; each run is one process's."""
    config, env = _config(tmp_path), _env(canvas, postgres_url)
    subprocess.run(_cli(config, env, "db", "upgrade"), env=env, check=True, capture_output=True)
    daemons = [
        subprocess.Popen(
            _cli(config, env, "daemon"), env=env, stderr=subprocess.DEVNULL, cwd=tmp_path
        )
        for _ in range(2)
    ]
    try:
        _wait_for(lambda: sum(r.status == "succeeded" for r in _runs(postgres_url)) >= 2, 40)
        trig = subprocess.run(
            _cli(config, env, "trigger", "--timeout", "20"), env=env, capture_output=True, text=True
        )
        assert trig.returncode == 0, trig.stderr
    finally:
        for daemon in daemons:
            daemon.send_signal(signal.SIGTERM)
        codes = [daemon.wait(timeout=15) for daemon in daemons]
    assert codes == [0, 0]
    runs = [r for r in _runs(postgres_url) if r.finished_at is not None]
    spans = sorted((r.started_at, r.finished_at) for r in runs)
    for (_, end), (start, _) in itertools.pairwise(spans):
        assert end <= start, spans  # no two runs of the course overlap
    assert sum(r.trigger == "request" for r in runs) == 1  # the trigger ran exactly once


# --- what a dead process leaves behind ----------------------------------------------------------

DEAD, ALIVE = "gone-host:4242", "live-host:4343"


@pytest.fixture
def two_daemons(canvas: Simulator, tmp_path: Path, database_url: str) -> Iterator[Settings]:
    """A course whose database lists a daemon that stopped sending heartbeats five minutes ago
    (DEAD) and one that is alive (ALIVE)."""
    settings = _settings(_config(tmp_path), _env(canvas, database_url))
    database = service.open_database(settings)
    now = datetime.now(UTC)
    with database.transaction() as session:
        for holder, beat in ((DEAD, now - timedelta(minutes=5)), (ALIVE, now)):
            requests.upsert_daemon(
                session,
                holder,
                started_at=beat,
                now=beat,
                course_ids=[settings.course_id],
                next_runs=[],
            )
    database.dispose()
    yield settings


def _claim_next(database: Database, course_id: int, claimer: str) -> int:
    """Wait for the trigger's request, then take it as `claimer`."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        with database.transaction() as session:
            for request in requests.pending(session, [course_id]):
                if requests.claim(session, request.id, claimer):
                    return request.id
        time.sleep(0.05)
    raise AssertionError("the trigger queued no request")


def test_a_trigger_whose_daemon_died_mid_run_fails_instead_of_waiting_forever(
    two_daemons: Settings,
) -> None:
    settings = two_daemons
    database = service.open_database(settings)
    with ThreadPoolExecutor(1) as pool:
        # Taken by a live daemon: the trigger waits for its answer.
        waiting = pool.submit(service.trigger, settings, pickup_timeout=20, poll=0.05)
        taken = _claim_next(database, settings.course_id, ALIVE)
        time.sleep(0.5)
        assert not waiting.done()
        with database.transaction() as session:
            requests.finish(session, taken, state="done", now=datetime.now(UTC))
        assert waiting.result(timeout=10).state == "done"
        # Taken by a daemon that has since died (SIGKILL, power loss): it fails at once.
        waiting = pool.submit(service.trigger, settings, pickup_timeout=20, poll=0.05)
        taken = _claim_next(database, settings.course_id, DEAD)
        try:
            outcome = waiting.result(timeout=10)
        finally:  # should the trigger still wait, answer it so that the test ends
            with database.transaction() as session:
                requests.finish(
                    session, taken, state="done", now=datetime.now(UTC), only_if="running"
                )
    assert outcome.state == "failed" and "stopped without finishing" in outcome.line()
    with database.transaction() as session:
        found = requests.get(session, taken)
    assert found is not None and found.state == "failed" and found.finished_at is not None
    database.dispose()


def test_a_daemons_heartbeat_fails_the_triggers_of_dead_daemons_only(
    two_daemons: Settings,
) -> None:
    settings = two_daemons
    database = service.open_database(settings)
    now = datetime.now(UTC)
    with database.transaction() as session:
        ids = {}
        for holder in (DEAD, ALIVE):
            ids[holder] = requests.enqueue(session, settings.course_id, by="t", full=False, now=now)
            assert requests.claim(session, ids[holder], holder)
    jobs.record_daemon([settings], ALIVE, started_at=now, next_runs=[])
    with database.transaction() as session:
        dead, alive = requests.get(session, ids[DEAD]), requests.get(session, ids[ALIVE])
    database.dispose()
    assert dead is not None and dead.state == "failed" and dead.error == jobs.DAEMON_DIED
    assert alive is not None and alive.state == "running"


def test_a_sync_records_a_run_left_running_by_a_dead_process_as_interrupted(
    canvas: Simulator, tmp_path: Path, database_url: str
) -> None:
    settings = _settings(_config(tmp_path), _env(canvas, database_url))
    database = service.open_database(settings)
    with database.transaction() as session:
        records.start_run(
            session, settings.course_id, "interval", "auto", datetime.now(UTC), "gone-host", 4242
        )
    database.dispose()
    service.sync(settings)
    runs = _runs(database_url)
    assert [r.status for r in runs] == ["interrupted", "succeeded"]
    assert runs[0].finished_at is not None
