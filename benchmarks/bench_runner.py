"""One benchmark scenario of one implementation, in a fresh process (run by bench_sync.py).

Each scenario runs in a process of its own so that its peak RSS (`ru_maxrss` at exit) is its
own: imports, the pull, the policy and the push of that scenario only, as when a TA types the
command. Prints one JSON line: wall seconds of the scenario, peak RSS in MB, seconds in the
database and in the policy, and implementation details.

    bench_runner.py --impl service|naive --scenario full|no_change|changed|push|noop_push
                    --canvas-url URL --course-id N --token T --database-url URL --state-dir DIR
    bench_runner.py --version-only   (canvas-sync --version's start-up: prints its peak RSS)

For canvas-sync, "time in database" is wall time inside the `canvas_sync.db` repository
functions (repo, records, journal), commits and schema checks; "time in policy" is wall time in
`policy.evaluate_course`, `policy.find_discrepancies` and the push planner `build_plan` (all
pure). Both are measured by wrapping those functions, outermost call only.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import functools
import importlib
import inspect
import json
import resource
import sys
import time
from pathlib import Path
from types import ModuleType
from typing import Any

SCENARIOS = ("full", "no_change", "changed", "push", "noop_push")


class Clock:
    """Accumulated wall time of the outermost calls of wrapped functions, per category."""

    def __init__(self) -> None:
        self.seconds = {"db": 0.0, "policy": 0.0}
        self._depth = 0

    def wrap(self, category: str, func: Any) -> Any:
        @functools.wraps(func)
        def timed(*args: Any, **kwargs: Any) -> Any:
            if self._depth:
                return func(*args, **kwargs)
            self._depth += 1
            started = time.perf_counter()
            try:
                return func(*args, **kwargs)
            finally:
                self.seconds[category] += time.perf_counter() - started
                self._depth -= 1

        return timed

    def patch_module(self, category: str, module: ModuleType, prefix: str) -> None:
        for name, value in list(vars(module).items()):
            public = not name.startswith("_")
            if public and inspect.isfunction(value) and value.__module__.startswith(prefix):
                setattr(module, name, self.wrap(category, value))


def _instrument(clock: Clock) -> None:
    from sqlalchemy.orm import Session

    from canvas_sync import policy
    from canvas_sync.db import journal, records, repo
    from canvas_sync.db.session import Database

    for module in (repo, records, journal):
        clock.patch_module("db", module, "canvas_sync.db")
    Session.commit = clock.wrap("db", Session.commit)  # type: ignore[method-assign]
    # A sync stores its findings through this class, one batch of students at a time.
    for name in ("__init__", "add", "finish"):
        method = getattr(records.FindingStore, name)
        setattr(records.FindingStore, name, clock.wrap("db", method))
    Database.ensure_schema = clock.wrap("db", Database.ensure_schema)  # type: ignore[method-assign]
    for name in ("evaluate_course", "find_discrepancies"):
        setattr(policy, name, clock.wrap("policy", getattr(policy, name)))
    # Push planning lives in a private module of the service, reached by name.
    push_plan = importlib.import_module("canvas_sync.service._push_plan")
    push_plan.build_plan = clock.wrap("policy", push_plan.build_plan)


def run_service(args: argparse.Namespace) -> dict[str, Any]:
    from canvas_sync import service
    from canvas_sync.settings import load_settings, shipped_config

    clock = Clock()
    _instrument(clock)
    env = {
        "CANVAS_URL": args.canvas_url,
        "CANVAS_TOKEN": args.token,
        "CANVAS_COURSE_ID": str(args.course_id),
        "CANVAS_SYNC_DATABASE_URL": args.database_url,
    }
    settings = load_settings(shipped_config(), env=env)
    if args.concurrency:
        settings = dataclasses.replace(settings, concurrency=args.concurrency)
    started = time.perf_counter()
    detail: dict[str, Any]
    if args.scenario in ("push", "noop_push"):
        # As `canvas-sync push --yes` does (the CLI's confirm, the default Progress poll).
        summary = service.push(settings, confirm=lambda plan: True)
        detail = {"planned": summary.planned, "confirmed": summary.confirmed}
    else:
        synced = service.sync(settings, full=args.scenario == "full", trigger="benchmark")
        detail = {"mode": synced.mode, "changed_rows": synced.changed}
    wall = time.perf_counter() - started
    return {"wall_s": wall, "db_s": clock.seconds["db"], "policy_s": clock.seconds["policy"]} | {
        "detail": detail
    }


def run_naive(args: argparse.Namespace) -> dict[str, Any]:
    import naive_canvasapi

    started = time.perf_counter()
    figures = naive_canvasapi.run(
        args.scenario, args.canvas_url, args.token, args.course_id, Path(args.state_dir)
    )
    return {"wall_s": time.perf_counter() - started, **figures}


def version_only() -> None:
    """Run `canvas-sync --version` as the entry point does, then print the peak RSS."""
    from canvas_sync.cli import cli

    with contextlib.suppress(SystemExit):
        cli(["--version"], prog_name="canvas-sync")
    print(json.dumps({"peak_rss_mb": peak_rss_mb()}))


def main() -> None:
    if sys.argv[1:] == ["--version-only"]:
        version_only()
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--impl", choices=("service", "naive"), required=True)
    parser.add_argument("--scenario", choices=SCENARIOS, required=True)
    parser.add_argument("--canvas-url", required=True)
    parser.add_argument("--course-id", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--state-dir", required=True)
    parser.add_argument("--concurrency", type=int, default=0, help="canvas.concurrency (0: config)")
    args = parser.parse_args()
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    figures = run_service(args) if args.impl == "service" else run_naive(args)
    figures["peak_rss_mb"] = peak_rss_mb()
    print(json.dumps(figures))


def peak_rss_mb() -> float:
    """This process's own peak resident memory, imports included.

    Linux's VmHWM belongs to the process's memory map, which exec starts afresh; `ru_maxrss` is
    not reset by exec, so a child forked from a larger parent would report the parent's size.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


if __name__ == "__main__":
    main()
