"""The sync benchmark runs end to end at a tiny size and reports every figure (a smoke test).

Not a timed test: it checks that each implementation ran each scenario against the simulator
process and that every figure is there and plausible, not how fast anything was.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCENARIOS = {"full", "no_change", "changed", "push", "noop_push"}
FIGURES = ("requests", "status_403", "wall_s", "peak_rss_mb", "db_s", "policy_s")

pytestmark = pytest.mark.slow


def test_benchmark_reports_every_figure_for_both_implementations(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_sync.py"), "--sizes", "20"]
    command += ["--latency-ms", "0", "--database", "sqlite", "--json", str(out)]
    plotting = importlib.util.find_spec("matplotlib") is not None
    png = tmp_path / "bench.png"
    command += ["--plot", str(png)] if plotting else ["--no-plot"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-2000:]

    result = json.loads(out.read_text(encoding="utf-8"))
    runs = {(r["impl"], r["scenario"]): r for r in result["runs"]}
    assert set(runs) == {(i, s) for i in ("service:sqlite", "naive") for s in SCENARIOS}
    for run in runs.values():
        for figure in FIGURES:
            assert isinstance(run[figure], int | float), (run["impl"], run["scenario"], figure)
            assert run[figure] >= 0
        assert run["requests"] > 0 and run["wall_s"] > 0 and run["peak_rss_mb"] > 10
    # The service pulls incrementally; the naive script downloads everything every time.
    assert runs["service:sqlite", "no_change"]["requests"] < runs["naive", "no_change"]["requests"]
    assert runs["service:sqlite", "push"]["detail"]["planned"] > 0
    assert runs["service:sqlite", "noop_push"]["detail"]["planned"] == 0
    assert runs["naive", "push"]["detail"]["edits"] > 0
    assert runs["naive", "noop_push"]["detail"]["edits"] == 0
    assert runs["naive", "changed"]["detail"]["changed_submissions"] > 0
    assert result["startup"]["version_s"] > 0
    assert set(result["startup"]["commands_s"]) == {"sync", "push", "report", "status", "user"}
    assert "naive ÷ canvas-sync" in done.stdout and "noop_push" in done.stdout
    if plotting:
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
