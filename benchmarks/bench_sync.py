"""Benchmark a full and an incremental sync of a large course on the simulator (not a test).

Starts the bundled Canvas simulator with N students in a process of its own (`canvas-sync
simulate`, as a real Canvas would be a separate server), syncs the CS 598 config into a fresh
database (SQLite in a temporary directory unless --database-url is given) and prints the time,
requests and rows of the first (full) and second (incremental) sync.

Run from the repository root:

    .venv/bin/python benchmarks/bench_sync.py [--students N] [--database-url URL]

Give --database-url a database of its own: the benchmark creates the schema and writes there.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from canvas_sync import service
from canvas_sync.settings import load_settings, shipped_config

TOKEN = "bench-token"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    command = ["simulate", "--port", "0", "--students", str(args.students), "--token", TOKEN]
    simulator = subprocess.Popen(
        [sys.executable, "-m", "canvas_sync", *command],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert simulator.stdout is not None
        found = re.search(r"(http://\S+) \(course (\d+)", simulator.stdout.readline())
        assert found is not None, "the simulator did not say where it listens"
        with tempfile.TemporaryDirectory() as tmp:
            url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
            env = {
                "CANVAS_URL": found.group(1),
                "CANVAS_TOKEN": TOKEN,
                "CANVAS_COURSE_ID": found.group(2),
                "CANVAS_SYNC_DATABASE_URL": url,
            }
            settings = load_settings(shipped_config(), env=env)
            for label in ("full", "incremental"):
                started = time.perf_counter()
                summary = service.sync(settings, full=label == "full", trigger="benchmark")
                seconds = time.perf_counter() - started
                print(
                    f"{label:<12} {seconds:6.2f} s  {summary.requests} requests, "
                    f"{summary.students} students, {summary.submissions} submissions, "
                    f"{summary.changed} changed rows"
                )
    finally:
        simulator.terminate()
        simulator.wait(timeout=10)
        if simulator.stdout is not None:
            simulator.stdout.close()


if __name__ == "__main__":
    main()
