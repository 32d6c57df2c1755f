"""Benchmark a push of a large course on the simulator (not a test).

Starts the bundled Canvas simulator with N students and the given latency in a process of its
own (`canvas-sync simulate`), syncs the CS 598 config into a fresh SQLite database, then prints
the first push (which writes every late/missing zero, every total and the column) and a no-op
push next to an incremental sync: wall time, write requests, Progress polls, rounds, requests,
and how long the push waited on Canvas's jobs (the Progress polls, job time included).

Run from the repository root:

    .venv/bin/python benchmarks/bench_push.py [--students N] [--latency-ms MS] [--faults push]
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

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
    return _Timed(settings.canvas_url, settings.token, timeout=60.0)


def _push(settings: Settings, label: str) -> None:
    _Timed.waited = 0.0
    with _client(settings) as client:
        started = time.perf_counter()
        summary = service.push(settings, client=client, poll_interval=0.2)
        seconds = time.perf_counter() - started
    print(
        f"{label:<10} {seconds:6.2f} s wall ({_Timed.waited:5.2f} s waiting on Canvas jobs)  "
        f"{summary.planned} changes, {summary.write_requests} writes, "
        f"{summary.progress_polls} progress polls, {summary.rounds} rounds, "
        f"{summary.requests} requests"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--faults", default="0")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    command = ["simulate", "--port", "0", "--students", str(args.students), "--token", TOKEN]
    command += ["--latency-ms", str(args.latency_ms), "--faults", args.faults]
    command += ["--seed", str(args.seed)]
    simulator = subprocess.Popen(
        [sys.executable, "-m", "canvas_sync", *command], stdout=subprocess.PIPE, text=True
    )
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
            # The simulated course has a Canvas Late Policy; the push refuses one by default.
            settings = dataclasses.replace(
                load_settings(shipped_config(), env=env), allow_canvas_late_policy=True
            )
            service.sync(settings, full=True, trigger="benchmark")
            _push(settings, "push")
            started = time.perf_counter()
            synced = service.sync(settings, trigger="benchmark")
            print(
                f"{'sync':<10} {time.perf_counter() - started:6.2f} s wall  "
                f"{synced.requests} requests (incremental, for comparison)"
            )
            _push(settings, "no-op")
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
        if simulator.stdout is not None:
            simulator.stdout.close()


if __name__ == "__main__":
    main()
