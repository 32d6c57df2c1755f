"""Benchmark canvas-sync against the naive canvasapi script, on the simulator (not a test).

For each course size it starts the bundled Canvas simulator in a process of its own (Canvas's
latency and leaky-bucket throttle), then runs five scenarios, each implementation in turn
(alternating which goes first), each scenario in a fresh process:

    full       a first sync into an empty database
    no_change  a sync with nothing changed in Canvas
    changed    a sync after 5% of the submissions changed (students submit, TAs grade)
    push       a push of the resulting grade changes (`push --yes`: pull, plan, write, verify)
    noop_push  a push with nothing to do

The implementations are canvas-sync on each database asked for, and the naive baseline
(benchmarks/naive_canvasapi.py: per-assignment `get_submissions`, per-grade `submission.edit`),
run up to --naive-up-to students (1,000: beyond, its throttle-bound push takes over an hour).
Every implementation gets the same Canvas: the simulator's state is saved after each of its
scenarios and restored before its next one. Figures per scenario: requests and 403 responses
(counted by the simulator), wall seconds, peak RSS, seconds in the database and in the policy.
It prints a table with the ratio naive / canvas-sync, the start-up of `canvas-sync --version`,
and writes --json FILE and a PNG plot (matplotlib: `pip install -e '.[bench]'`).

Run from the repository root (the full run takes a long while; a quick one first):

    .venv/bin/python benchmarks/bench_sync.py --sizes 100 --database sqlite
    .venv/bin/python benchmarks/bench_sync.py --json bench.json --plot bench.png

PostgreSQL comes from --postgres-url (default $CANVAS_SYNC_TEST_POSTGRES_URL): a throwaway
database is created on that server per course size and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from bench_report import plot, print_startup, print_table  # noqa: E402

SCENARIOS = ("full", "no_change", "changed", "push", "noop_push")
FIGURES = ("requests", "status_403", "wall_s", "peak_rss_mb", "db_s", "policy_s")
TOKEN = "bench-token"
NAIVE = "naive"


@dataclass(frozen=True)
class Impl:
    name: str  # "service:sqlite", "service:postgresql" or "naive"
    database_url: str = ""

    @property
    def kind(self) -> str:
        return "naive" if self.name == NAIVE else "service"


class SimProcess:
    """The simulator process and its line-per-command control channel (bench_simulator.py)."""

    def __init__(self, students: int, latency_ms: float) -> None:
        command = [sys.executable, str(HERE / "bench_simulator.py"), "--students", str(students)]
        command += ["--latency-ms", str(latency_ms), "--token", TOKEN]
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        hello = self._read()
        self.url, self.course_id = str(hello["url"]), int(hello["course_id"])

    def _read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the simulator process stopped")
        return dict(json.loads(line))

    def call(self, op: str, **fields: Any) -> dict[str, Any]:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps({"op": op, **fields}) + "\n")
        self.process.stdin.flush()
        return self._read()

    def close(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write(json.dumps({"op": "stop"}) + "\n")
            self.process.stdin.close()
            self.process.wait(timeout=30)
        if self.process.stdout is not None:
            self.process.stdout.close()


class Postgres:
    """Throwaway databases on a PostgreSQL server (the benchmark writes its schema there)."""

    def __init__(self, url: str) -> None:
        self.url = url

    def _admin(self, sql: str) -> None:
        import sqlalchemy as sa

        engine = sa.create_engine(self.url, isolation_level="AUTOCOMMIT")
        with engine.connect() as connection:
            connection.execute(sa.text(sql))
        engine.dispose()

    def create(self) -> str:
        name = f"cs_bench_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + "/" + name

    def drop(self, url: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


def run_child(
    impl: Impl, scenario: str, sim: SimProcess, state_dir: Path, concurrency: int = 0
) -> dict[str, Any]:
    command = [sys.executable, str(HERE / "bench_runner.py"), "--impl", impl.kind]
    command += ["--scenario", scenario, "--canvas-url", sim.url, "--course-id", str(sim.course_id)]
    command += [
        "--token",
        TOKEN,
        "--database-url",
        impl.database_url,
        "--state-dir",
        str(state_dir),
    ]
    if concurrency:
        command += ["--concurrency", str(concurrency)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{impl.name} {scenario} failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


def run_size(
    students: int, impls: list[Impl], args: argparse.Namespace, state_dir: Path
) -> list[dict[str, Any]]:
    """Every scenario for every implementation on one simulator; one record per run."""
    sim = SimProcess(students, args.latency_ms)
    rows: list[dict[str, Any]] = []
    try:
        for impl in impls:
            sim.call("save", name=impl.name)
        for index, scenario in enumerate(args.scenarios):
            order = impls if index % 2 == 0 else impls[::-1]
            for impl in order:
                sim.call("restore", name=impl.name)
                mutated = None
                if scenario == "changed":
                    mutated = sim.call("mutate", share=args.change_share, seed=args.seed)["changed"]
                sim.call("reset")
                where = state_dir / impl.name.replace(":", "-")
                figures = run_child(impl, scenario, sim, where, args.concurrency)
                figures.update(sim.call("counts"))
                sim.call("save", name=impl.name)
                row = {"students": students, "impl": impl.name, "scenario": scenario, **figures}
                if mutated is not None:
                    row["detail"]["changed_submissions"] = mutated
                rows.append(row)
                print(_progress_line(row), file=sys.stderr, flush=True)
    finally:
        sim.close()
    return rows


def _progress_line(row: dict[str, Any]) -> str:
    return (
        f"  {row['students']:>5} {row['impl']:<20} {row['scenario']:<10} "
        f"{row['requests']:>6} req {row['wall_s']:8.2f} s {row['peak_rss_mb']:7.1f} MB"
    )


#: Commands whose start-up is timed: `--help` imports the command's module (the service and
#: what only running needs load on first use, see SYNC_IMPORTS).
STARTUP_COMMANDS = ("sync", "push", "report", "status", "user")
#: Everything a sync runs (SQLAlchemy, the models, the policy, the Canvas client's httpx):
#: what a sync pays before its first request, beside its command's start-up.
SYNC_IMPORTS = "import canvas_sync.service.core, httpx"


def _best_wall(argv: list[str], repeat: int, *, module: bool = True) -> float:
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, *(["-m", "canvas_sync"] if module else []), *argv],
            stdout=subprocess.DEVNULL,
            check=True,
        )
        best = min(best, time.perf_counter() - started)
    return best


def measure_startup(repeat: int = 5) -> dict[str, Any]:
    """`canvas-sync --version` and each command's `--help` in a fresh interpreter: best wall
    time of `repeat` runs; the peak RSS of `--version`.

    Timed on the real entry point (`python -m canvas_sync ...`); the peak RSS comes from the
    same command run inside bench_runner.py, which reads its own VmHWM.
    """
    done = subprocess.run(
        [sys.executable, str(HERE / "bench_runner.py"), "--version-only"],
        capture_output=True,
        text=True,
        check=True,
    )
    rss_mb = float(json.loads(done.stdout.strip().splitlines()[-1])["peak_rss_mb"])
    commands = {name: _best_wall([name, "--help"], repeat) for name in STARTUP_COMMANDS}
    return {
        "version_s": _best_wall(["--version"], repeat),
        "version_peak_rss_mb": rss_mb,
        "commands_s": commands,
        "sync_imports": SYNC_IMPORTS,
        "sync_imports_s": _best_wall(["-c", SYNC_IMPORTS], repeat, module=False),
    }


def _impls(
    args: argparse.Namespace, postgres: Postgres | None, tmp: Path, students: int
) -> list[Impl]:
    found = []
    for name in args.database:
        if name == "sqlite":
            found.append(
                Impl("service:sqlite", f"sqlite:///{tmp / f'bench-{uuid.uuid4().hex}.db'}")
            )
        else:
            assert postgres is not None
            found.append(Impl("service:postgresql", postgres.create()))
    naive = not args.no_naive and students <= args.naive_up_to
    return [*found, Impl(NAIVE)] if naive else found


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100,300,1000,3000", help="Students per course.")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="Simulated latency.")
    parser.add_argument(
        "--database", default="sqlite,postgresql", help="sqlite, postgresql or both (comma)."
    )
    parser.add_argument("--postgres-url", default=os.environ.get("CANVAS_SYNC_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--concurrency", type=int, default=0, help="canvas-sync's fetch threads (default: config)"
    )
    parser.add_argument(
        "--scenarios", default=",".join(SCENARIOS), help="A subset, in order (default: all)."
    )
    parser.add_argument("--no-naive", action="store_true", help="Only canvas-sync.")
    parser.add_argument(
        "--naive-up-to",
        type=int,
        default=1000,
        help="Run the naive script only up to this many students (its push is throttle-bound: "
        "about 5 grade edits a second, over an hour at 3,000 students).",
    )
    parser.add_argument("--change-share", type=float, default=0.05)
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--json", type=Path, default=None, help="Also write the figures here.")
    parser.add_argument("--plot", type=Path, default=Path("bench_sync.png"), help="PNG plot.")
    parser.add_argument("--no-plot", action="store_true")
    args = parser.parse_args(argv)
    args.sizes = [int(s) for s in args.sizes.split(",")]
    args.database = [d.strip() for d in args.database.split(",")]
    args.scenarios = [s.strip() for s in args.scenarios.split(",")]
    if not set(args.scenarios) <= set(SCENARIOS):
        parser.error(f"--scenarios takes some of {', '.join(SCENARIOS)}")
    if not set(args.database) <= {"sqlite", "postgresql"}:
        parser.error("--database takes sqlite, postgresql or both, comma-separated")
    if "postgresql" in args.database and not args.postgres_url:
        parser.error("PostgreSQL needs --postgres-url (or $CANVAS_SYNC_TEST_POSTGRES_URL)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    postgres = Postgres(args.postgres_url) if "postgresql" in args.database else None
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        for students in args.sizes:
            impls = _impls(args, postgres, tmp, students)
            for impl in impls:
                (tmp / impl.name.replace(":", "-")).mkdir(exist_ok=True)
            try:
                rows += run_size(students, impls, args, tmp)
            finally:
                for impl in impls:
                    if postgres is not None and impl.name == "service:postgresql":
                        postgres.drop(impl.database_url)
    startup = measure_startup()
    settings = {
        "sizes": args.sizes,
        "readings": 19,
        "latency_ms": args.latency_ms,
        "databases": args.database,
        "change_share": args.change_share,
        "concurrency": args.concurrency or "config",
    }
    print_table(rows, settings)
    print_startup(startup)
    if args.json is not None:
        result = {"settings": settings, "startup": startup, "runs": rows}
        args.json.write_text(json.dumps(result, indent=2), encoding="utf-8")
    if not args.no_plot:
        plot(rows, args.plot)


if __name__ == "__main__":
    main()
