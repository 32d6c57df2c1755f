"""Benchmark a push of a large course on the simulator (not a test).

Starts the bundled Canvas simulator with N students and the given latency in a process of its
own (`canvas-sync simulate`), syncs the CS 598 config into a fresh SQLite database, then prints
the first push (which writes every late/missing zero, every total and the column) and a no-op
push next to an incremental sync: wall time, write requests, Progress polls, rounds, requests.

The wall time is split in two: Canvas's job time, from each bulk request's answer (its
Progress queued) until the poll that sees it ended (the time spent in `wait_progresses`,
which is all the push does then), and our own time, the rest. The simulator runs a job when
it is polled (or after `--job-delay` seconds, as a Canvas worker would), so the job time also
holds the backoff between polls. A push's figures also come per phase (`--phases`).

Run from the repository root:

    .venv/bin/python benchmarks/bench_push.py [--students N] [--latency-ms MS] [--faults push]
        [--job-delay S] [--concurrency N] [--phases]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import logging
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from canvas_sync import service
from canvas_sync.canvas import CanvasClient
from canvas_sync.settings import Settings, load_settings, shipped_config

TOKEN = "bench-token"


class _Timed(CanvasClient):
    """A client that adds up the time spent in `wait_progresses` (waiting on Canvas's jobs)."""

    waited = 0.0

    def wait_progresses(self, *args: object, **kwargs: object) -> dict[int, dict[str, object]]:
        started = time.perf_counter()
        try:
            return super().wait_progresses(*args, **kwargs)  # type: ignore[arg-type]
        finally:
            type(self).waited += time.perf_counter() - started


def _client(settings: Settings) -> _Timed:
    return _Timed(
        settings.canvas_url, settings.token, timeout=60.0, concurrency=settings.concurrency
    )


#: Steps of a push timed with --phases (module, function): where its own time goes.
PHASES = (
    ("canvas_sync.service.pushing", "stored_blocker"),
    ("canvas_sync.service.pushing", "ensure_targets"),
    ("canvas_sync.service.pushing", "sync"),
    ("canvas_sync.service.pushing", "plan_changes"),
    ("canvas_sync.service.pushing", "journaled_recheck"),
    ("canvas_sync.service.pushing", "apply_plan"),
)


#: The client of the push being measured (its request count is read per step).
_current: _Timed | None = None


def _timed_phases() -> dict[str, list[float]]:
    """Wrap each of PHASES to add up its seconds and requests (a bench only: not restored)."""
    spent: dict[str, list[float]] = {}
    for module_name, name in PHASES:
        module = importlib.import_module(module_name)
        original = getattr(module, name)

        def timed(*args: object, _f: Any = original, _n: str = name, **kwargs: object) -> Any:
            started, polled = time.perf_counter(), _Timed.waited
            asked = 0 if _current is None else _current.request_count
            try:
                return _f(*args, **kwargs)
            finally:
                took = time.perf_counter() - started - (_Timed.waited - polled)
                figures = spent.setdefault(_n, [0.0, 0.0])
                figures[0] += took
                figures[1] += (0 if _current is None else _current.request_count) - asked

        setattr(module, name, timed)
    return spent


#: The simulator process of `simulated_course` (its CPU time is Canvas's, on this machine).
_simulator: subprocess.Popen[str] | None = None


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _push(settings: Settings, label: str, spent: dict[str, list[float]] | None) -> None:
    _Timed.waited = 0.0
    if spent is not None:
        spent.clear()
    pid = None if _simulator is None else _simulator.pid
    canvas_cpu = 0.0 if pid is None else _cpu_seconds(pid)
    own_cpu = time.process_time()
    global _current
    with _client(settings) as client:
        _current = client
        started = time.perf_counter()
        summary = service.push(settings, client=client)
        seconds = time.perf_counter() - started
    jobs = _Timed.waited
    own_cpu = time.process_time() - own_cpu
    canvas_cpu = 0.0 if pid is None else _cpu_seconds(pid) - canvas_cpu
    print(
        f"{label:<10} {seconds:6.2f} s wall = {seconds - jobs:5.2f} s ours + {jobs:5.2f} s "
        f"Canvas jobs  {summary.planned} changes, {summary.write_requests} writes, "
        f"{summary.progress_polls} progress polls, {summary.rounds} rounds, "
        f"{summary.requests} requests"
    )
    print(
        f"           CPU: ours {own_cpu:.2f} s, the simulator's (Canvas answering, on the same "
        f"cores) {canvas_cpu:.2f} s"
    )
    if spent:
        print(
            "           ours by step (Canvas job time left out): "
            + ", ".join(
                f"{name} {value[0]:.2f} s ({value[1]:.0f} req)" for name, value in spent.items()
            )
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--faults", default="0")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--job-delay", type=float, default=None)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--phases", action="store_true")
    parser.add_argument(
        "--rest",
        type=float,
        default=0.0,
        help="seconds between the first sync and the push (Canvas's bucket drains meanwhile)",
    )
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    options = ["--latency-ms", str(args.latency_ms), "--faults", args.faults]
    options += ["--seed", str(args.seed)]
    if args.job_delay is not None:
        options += ["--job-delay", str(args.job_delay)]
    with simulated_course(args.students, options) as settings:
        if args.concurrency is not None:
            settings = dataclasses.replace(settings, concurrency=args.concurrency)
        service.sync(settings, full=True, trigger="benchmark")
        time.sleep(args.rest)
        spent = _timed_phases() if args.phases else None
        _push(settings, "push", spent)
        started = time.perf_counter()
        synced = service.sync(settings, trigger="benchmark")
        print(
            f"{'sync':<10} {time.perf_counter() - started:6.2f} s wall  "
            f"{synced.requests} requests (incremental, for comparison)"
        )
        _push(settings, "no-op", spent)


@contextmanager
def simulated_course(students: int, options: list[str]) -> Iterator[Settings]:
    """The simulator (`canvas-sync simulate` with `options`) in a process of its own, and the
    shipped config pointed at it with a fresh SQLite database (`bench.db` in a temporary
    directory): both gone on exit."""
    command = ["simulate", "--port", "0", "--students", str(students), "--token", TOKEN]
    global _simulator
    simulator = subprocess.Popen(
        [sys.executable, "-m", "canvas_sync", *command, *options], stdout=subprocess.PIPE, text=True
    )
    _simulator = simulator
    try:
        assert simulator.stdout is not None
        found = re.search(r"(http://\S+) \(course (\d+)", simulator.stdout.readline())
        assert found is not None, "the simulator did not say where it listens"
        with tempfile.TemporaryDirectory() as tmp:
            env = {
                "CANVAS_URL": found.group(1),
                "CANVAS_TOKEN": TOKEN,
                "CANVAS_COURSE_ID": found.group(2),
                "CANVAS_SYNC_DATABASE_URL": f"sqlite:///{Path(tmp) / 'bench.db'}",
            }
            # The simulated course keeps a Canvas Late Policy; this measures pushing, so it is
            # allowed (push.allow_canvas_late_policy) instead of refused.
            yield dataclasses.replace(
                load_settings(shipped_config(), env=env), allow_canvas_late_policy=True
            )
    finally:
        _simulator = None
        simulator.terminate()
        simulator.wait(timeout=10)
        if simulator.stdout is not None:
            simulator.stdout.close()


if __name__ == "__main__":
    main()
