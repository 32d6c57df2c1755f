"""Benchmark storing and loading submission rows on SQLite (not a test): the CPU time of
`repo.load_submissions` over a whole course, and of the push's read-back store (FreshRows)
over the rows a first push reads back.

Starts the bundled simulator with N students in a process of its own, syncs the CS 598
config into a fresh SQLite database and pushes once, keeping a copy of the database as the
push's writes began and each batch of JSON its read-back stored. Then, best of K: load every
submission of the course; and, on a fresh copy of that database each time, store the
read-back batches again.

Run from the repository root:

    .venv/bin/python benchmarks/bench_rows.py [--students N] [--repeat K]
"""

from __future__ import annotations

import argparse
import logging
import resource
import shutil
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

from bench_push import simulated_course  # beside this file: starts the simulator

from canvas_sync import service
from canvas_sync.db import Database, repo
from canvas_sync.service import _push_io, pushing
from canvas_sync.settings import Settings


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _record(settings: Settings, db: Path, before: Path) -> list[list[dict[str, Any]]]:
    """Sync and push once; `before`: the database as the push's writes began. The batches the
    read-back stored."""
    batches: list[list[dict[str, Any]]] = []
    keep = _push_io.FreshRows.__call__
    apply = getattr(pushing, "apply_plan")  # noqa: B009 (imported there, not exported)

    def kept(self: _push_io.FreshRows, raw: list[dict[str, Any]]) -> None:
        batches.append([dict(row) for row in raw])
        keep(self, raw)

    def applied(*args: Any, **kwargs: Any) -> Any:
        source, copy = sqlite3.connect(db), sqlite3.connect(before)
        source.backup(copy)
        source.close()
        copy.close()
        return apply(*args, **kwargs)

    _push_io.FreshRows.__call__ = kept  # type: ignore[method-assign]
    setattr(pushing, "apply_plan", applied)  # noqa: B010
    try:
        service.sync(settings, full=True, trigger="benchmark")
        service.push(settings)
    finally:
        _push_io.FreshRows.__call__ = keep  # type: ignore[method-assign]
        setattr(pushing, "apply_plan", apply)  # noqa: B010
    return batches


def _measure(before: Path, batches: list[list[dict[str, Any]]], repeat: int, course: int) -> None:
    database = Database(f"sqlite:///{before}")
    with database.transaction() as session:
        ids = [a.id for a in repo.load_assignments(session, course)]
    best, rows = float("inf"), 0
    for _ in range(repeat):
        with database.transaction() as session:
            started = _cpu()
            rows = len(repo.load_submissions(session, course, ids))
            best = min(best, _cpu() - started)
    database.dispose()
    print(f"load_submissions  {rows} rows: {best:.3f} s CPU (best of {repeat})")
    work = before.with_name("work.db")
    best = float("inf")
    for _ in range(repeat):
        shutil.copy(before, work)
        database = Database(f"sqlite:///{work}")
        fresh = _push_io.FreshRows(database, course)
        started = _cpu()
        for batch in batches:
            fresh([dict(row) for row in batch])
        best = min(best, _cpu() - started)
        database.dispose()
    stored = sum(map(len, batches))
    print(f"read-back store   {stored} rows in {len(batches)} batches: {best:.3f} s CPU")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    with simulated_course(args.students, []) as settings, tempfile.TemporaryDirectory() as tmp:
        db = Path(settings.database_url.removeprefix("sqlite:///"))
        before = Path(tmp) / "before.db"
        batches = _record(settings, db, before)
        _measure(before, batches, args.repeat, settings.course_id)


if __name__ == "__main__":
    main()
