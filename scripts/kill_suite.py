"""Kill suite: SIGKILL `sync` and `push` at seeded points, rerun, and compare with a clean run.

Each seed starts a fresh simulated course (with latency) and a fresh SQLite database, runs
`canvas-sync sync` or `canvas-sync push --yes` as a real subprocess, and kills it with SIGKILL
at a point drawn from the seed: when the n-th Canvas request arrives; right after Canvas has
accepted the n-th write (a bulk grade POST, a column entry, the total assignment) and before
its answer leaves, so the journal never hears of it; or some milliseconds after the last
answer, while the process stores, evaluates and commits what it pulled. The same command
then runs again to the end, and one more `sync` reads the final Canvas (as after the clean
run). What Canvas holds (read through its REST API: scores, grades, comments, column entries)
and what the database reports (`report --format json`) must equal a run never killed, with
no comment posted twice and no run left marked running.

    .venv/bin/python scripts/kill_suite.py                 # 20 seeds each for sync and push
    .venv/bin/python scripts/kill_suite.py --seeds 40 --database-url postgresql+psycopg://...

Drives only the command line and Canvas's API, so it holds for any push design that keeps
the commands. Prints one line per seed and the totals; exit 1 if any seed differs.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from canvas_sync.settings import shipped_config
from canvas_sync.simulator import Simulator

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "kill-suite-token"
COURSE = 598
ROOT = Path(__file__).resolve().parents[1]


@dataclass
class KillPoint:
    """Where to kill: before the `nth` request, or after Canvas accepted the `nth` write."""

    kind: str  # "request", "accepted-write", or "after-request" (+ delay: the local work)
    nth: int
    delay_ms: int = 0

    def __str__(self) -> str:
        later = f"+{self.delay_ms}ms" if self.kind == "after-request" else ""
        return f"{self.kind} #{self.nth}{later}"


@dataclass
class _Switch:
    point: KillPoint | None = None
    pid: int | None = None
    requests: int = 0
    writes: int = 0
    fired: bool = False
    last_request: float = 0.0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def arm(self, point: KillPoint | None, pid: int | None) -> None:
        with self.lock:
            self.point, self.pid, self.requests, self.writes = point, pid, 0, 0
            self.fired = False

    def _kill(self) -> None:
        if self.pid is not None and not self.fired:
            self.fired = True
            os.kill(self.pid, signal.SIGKILL)

    def _kill_later(self, pid: int) -> None:
        with self.lock:
            if self.pid == pid:  # still the same run (not finished and re-armed)
                self._kill()

    def before(self, method: str) -> None:
        with self.lock:
            self.requests += 1
            point = self.point
            if point and point.kind == "request" and self.requests == point.nth:
                self._kill()

    def after(self, method: str) -> None:
        with self.lock:
            self.last_request = time.monotonic()
            point = self.point
            if point and point.kind == "after-request" and self.requests == point.nth:
                # Kill while the process works on what it got (storing, evaluating, committing).
                timer = threading.Timer(point.delay_ms / 1000, self._kill_later, (self.pid,))
                timer.daemon = True
                timer.start()
        if method == "GET":
            return
        with self.lock:
            self.writes += 1
            point = self.point
            if point and point.kind == "accepted-write" and self.writes == point.nth:
                self._kill()  # Canvas has acted; the client never sees the answer


class KillingSimulator(Simulator):
    """The simulator, with a switch that SIGKILLs the client at a chosen request."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.switch = _Switch()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        api = str(environ.get("PATH_INFO", "")).startswith("/api/v1/")
        method = str(environ.get("REQUEST_METHOD", "GET"))
        if api:
            self.switch.before(method)
        answer = super().__call__(environ, start_response)
        if api:
            self.switch.after(method)
        return answer


def _env(sim: Simulator, url: str) -> dict[str, str]:
    return {
        **os.environ,
        "CANVAS_URL": sim.base_url,
        "CANVAS_TOKEN": TOKEN,
        "CANVAS_COURSE_ID": str(COURSE),
        "CANVAS_SYNC_DATABASE_URL": url,
        "CANVAS_SYNC_CONFIG": str(shipped_config()),
    }


def _command(*args: str) -> list[str]:
    return [sys.executable, "-m", "canvas_sync", *args]


def _run(sim: KillingSimulator, url: str, args: list[str], point: KillPoint | None) -> int:
    """Run a command; kill it at `point` (if reached). Its exit code (-9 when killed)."""
    proc = subprocess.Popen(
        _command(*args),
        env=_env(sim, url),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
    )
    sim.switch.arm(point, proc.pid)
    _, err = proc.communicate(timeout=300)
    sim.switch.arm(None, None)
    if proc.returncode not in (0, -signal.SIGKILL):
        raise RuntimeError(f"{' '.join(args)} exited {proc.returncode}: {err.strip()}")
    return proc.returncode


def canvas_state(sim: Simulator) -> dict[str, Any]:
    """What Canvas holds, read through its REST API (not the simulator's internals)."""
    with httpx.Client(
        base_url=f"{sim.base_url}/api/v1/courses/{COURSE}",
        headers={"Authorization": f"Bearer {TOKEN}"},
        timeout=30,
    ) as api:

        def listing(path: str, params: dict[str, Any]) -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            url: str | None = path
            query: dict[str, Any] | None = {**params, "per_page": 100}
            while url:
                answer = api.get(url, params=query)
                answer.raise_for_status()
                items.extend(answer.json())
                url, query = answer.links.get("next", {}).get("url"), None
            return items

        names = {a["id"]: a["name"] for a in listing("/assignments", {})}
        subs = listing(
            "/students/submissions",
            {"student_ids[]": "all", "include[]": "submission_comments"},
        )
        grades = sorted(
            (
                names.get(s["assignment_id"], str(s["assignment_id"])),
                s["user_id"],
                s.get("score"),
                s.get("grade"),
                bool(s.get("excused")),
                sorted(c["comment"] for c in s.get("submission_comments") or []),
            )
            for s in subs
        )
        columns = {}
        for column in listing("/custom_gradebook_columns", {"include_hidden": True}):
            data = listing(f"/custom_gradebook_columns/{column['id']}/data", {})
            columns[column["title"]] = sorted((d["user_id"], d["content"]) for d in data)
    return {"assignments": sorted(names.values()), "grades": grades, "columns": columns}


def _normalised_report(report: dict[str, Any]) -> dict[str, Any]:
    """The report without what depends on the wall clock (when it ran, when it was seen)."""
    report = dict(report)
    report.pop("generated_at", None)
    found = [
        {k: v for k, v in d.items() if k != "id" and not k.endswith("_at") and "seen" not in k}
        for d in report.get("discrepancies", [])
    ]
    report["discrepancies"] = sorted(found, key=lambda d: json.dumps(d, sort_keys=True))
    return report


def database_state(sim: Simulator, url: str) -> dict[str, Any]:
    out = subprocess.run(
        _command("report", "--format", "json"),
        env=_env(sim, url),
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        running = connection.execute(
            sa.text("SELECT count(*) FROM sync_runs WHERE status = 'running'")
        ).scalar_one()
    engine.dispose()
    return {"report": _normalised_report(json.loads(out.stdout)), "runs_left_running": running}


def duplicate_comments(state: dict[str, Any]) -> int:
    """Comments that appear more than once on one submission."""
    return sum(n - 1 for row in state["grades"] for n in Counter(row[5]).values() if n > 1)


@dataclass(frozen=True)
class Outcome:
    command: str
    seed: int
    point: KillPoint
    killed: bool
    same_canvas: bool
    same_database: bool
    duplicates: int
    seconds: float

    @property
    def ok(self) -> bool:
        return self.same_canvas and self.same_database and self.duplicates == 0

    def line(self) -> str:
        verdict = "ok" if self.ok else "DIFFERS"
        canvas = "same" if self.same_canvas else "DIFF"
        return (
            f"{self.command:5} seed {self.seed:3}  kill at {self.point!s:18} "
            f"{'killed' if self.killed else 'ran out':8} canvas={canvas} "
            f"db={'same' if self.same_database else 'DIFF'} dup={self.duplicates}  "
            f"{self.seconds:.1f} s  {verdict}"
        )


class Suite:
    """Clean references once, then one killed-and-rerun course per seed."""

    def __init__(self, students: int, latency_ms: float, database_url: str | None) -> None:
        self.students, self.latency_ms = students, latency_ms
        self.database_url = database_url
        self.workdir = Path(tempfile.mkdtemp(prefix="kill-suite-"))
        self.reference: dict[str, tuple[dict[str, Any], dict[str, Any], Counter[str]]] = {}
        self.tail_ms: dict[str, int] = {}  # from the last request to the clean run's exit

    def _course(self) -> KillingSimulator:
        sim = KillingSimulator(
            students=self.students, seed=598, now=NOW, token=TOKEN, latency_ms=self.latency_ms
        )
        # A course set up as docs/canvas-setup.md says (no Canvas Late Policy), so push may write.
        sim.state.late_policy = None
        sim.start()
        return sim

    def _fresh_url(self) -> str:
        if self.database_url is None:
            return f"sqlite:///{self.workdir / (uuid.uuid4().hex + '.db')}"
        admin = sa.create_engine(self.database_url, isolation_level="AUTOCOMMIT")
        name = f"kill_{uuid.uuid4().hex[:12]}"
        with admin.connect() as connection:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        return self.database_url.rsplit("/", 1)[0] + "/" + name

    @staticmethod
    def _args(command: str) -> list[str]:
        return ["sync"] if command == "sync" else ["push", "--yes"]

    def clean(self, command: str) -> None:
        sim, url = self._course(), self._fresh_url()
        try:
            _run(sim, url, self._args(command), None)
            self.tail_ms[command] = int(1000 * (time.monotonic() - sim.switch.last_request))
            counts = Counter(
                "write" if method != "GET" else "request" for method, *_ in sim.request_log
            )
            counts["request"] += counts["write"]
            _run(sim, url, ["sync"], None)  # both histories end on a sync of the final Canvas
            self.reference[command] = (canvas_state(sim), database_state(sim, url), counts)
        finally:
            sim.stop()

    def point(self, command: str, seed: int) -> KillPoint:
        rng = random.Random(f"{command}:{seed}")
        counts = self.reference[command][2]
        if command == "push" and counts["write"] and seed % 2 == 0:
            return KillPoint("accepted-write", rng.randint(1, counts["write"]))
        if seed % 3 == 0:  # after the last answer, while storing and committing
            delay = rng.randint(0, max(1, self.tail_ms[command] // 2))
            return KillPoint("after-request", counts["request"], delay)
        return KillPoint("request", rng.randint(1, counts["request"]))

    def one(self, command: str, seed: int) -> Outcome:
        started = time.monotonic()
        canvas_ref, db_ref, _ = self.reference[command]
        point = self.point(command, seed)
        sim, url = self._course(), self._fresh_url()
        try:
            code = _run(sim, url, self._args(command), point)
            _run(sim, url, self._args(command), None)
            _run(sim, url, ["sync"], None)
            canvas, database = canvas_state(sim), database_state(sim, url)
        finally:
            sim.stop()
        return Outcome(
            command,
            seed,
            point,
            code == -signal.SIGKILL,
            canvas == canvas_ref,
            database == db_ref,
            duplicate_comments(canvas),
            time.monotonic() - started,
        )


def run_suite(
    seeds: Iterable[int],
    commands: Iterable[str] = ("sync", "push"),
    *,
    students: int = 10,
    latency_ms: float = 5,
    database_url: str | None = None,
    report: Callable[[str], None] = print,
) -> list[Outcome]:
    suite = Suite(students, latency_ms, database_url)
    outcomes = []
    for command in commands:
        suite.clean(command)
        for seed in seeds:
            outcome = suite.one(command, seed)
            report(outcome.line())
            outcomes.append(outcome)
    return outcomes


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=20, help="seeds per command (default 20)")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--students", type=int, default=10)
    parser.add_argument("--latency-ms", type=float, default=5)
    parser.add_argument("--command", choices=["sync", "push"], action="append")
    parser.add_argument("--database-url", help="a PostgreSQL server URL (databases are created)")
    options = parser.parse_args()
    started = time.monotonic()
    seeds = range(options.first_seed, options.first_seed + options.seeds)
    outcomes = run_suite(
        seeds,
        options.command or ("sync", "push"),
        students=options.students,
        latency_ms=options.latency_ms,
        database_url=options.database_url,
    )
    bad = [o for o in outcomes if not o.ok]
    killed = sum(o.killed for o in outcomes)
    print(
        f"{len(outcomes)} runs ({killed} killed), {len(outcomes) - len(bad)} equal to a clean "
        f"run, {sum(o.duplicates for o in outcomes)} duplicate comments, "
        f"{time.monotonic() - started:.0f} s"
    )
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
