"""A few seeds of the kill suite (`scripts/kill_suite.py`, issue 11): SIGKILLed `sync` and
`push` subprocesses, rerun, leave Canvas and the database as a clean run, no comment twice.

The full set (20 seeds per command) is run by hand: `.venv/bin/python scripts/kill_suite.py`.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "kill_suite.py"


def _suite() -> ModuleType:
    spec = importlib.util.spec_from_file_location("kill_suite", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["kill_suite"] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("command", "seeds"),
    [("sync", (1, 2)), ("push", (2,))],  # push seed 2: after Canvas accepted a write
)
def test_killed_runs_converge_to_a_clean_run(command: str, seeds: tuple[int, ...]) -> None:
    suite = _suite()
    lines: list[str] = []
    outcomes = suite.run_suite(seeds, (command,), students=6, report=lines.append)
    assert all(o.killed for o in outcomes), lines
    if command == "push":
        assert any(o.point.kind == "accepted-write" for o in outcomes), lines
    assert all(o.ok for o in outcomes), "\n".join(lines)
