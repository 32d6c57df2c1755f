"""The HTML report in a real browser (headless Chromium): the severity filter runs, and nothing
is fetched from the network. Chromium is Debian's package (.ci/run installs it)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest

from canvas_sync import report
from canvas_sync.domain import Course, DiscrepancyRecord, Kind, PolicyConfig

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def dump_dom(url: str, profile: Path) -> str:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed; .ci/run installs Debian's chromium.")
        pytest.skip("chromium is not installed")
    completed = subprocess.run(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=2000",
            "--dump-dom",
            url,
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    return completed.stdout


def make_report(tmp_path: Path) -> Path:
    when = datetime(2026, 5, 20, 17, 0, tzinfo=UTC)
    items = [
        DiscrepancyRecord(1, Kind.LATE_GRADED, None, None, "8", "0", "late <b>graded</b>"),
        DiscrepancyRecord(2, Kind.AT_RISK, None, None, "9", "14", "at risk"),
        DiscrepancyRecord(3, Kind.MISSING_UNGRADED, None, None, None, "0", "missing"),
        DiscrepancyRecord(4, Kind.DUE_DATE_MISMATCH, None, None, "a", "b", "due date"),
    ]
    built = report.build_report(
        Course(598, 'CS 598 <script>alert("x")</script>'),
        PolicyConfig(),
        pool=19,
        results=[],
        discrepancies=items,
        generated_at=when,
    )
    path = tmp_path / "report.html"
    path.write_text(report.render_html(built), encoding="utf-8")
    return path


def visible_rows(dom: str) -> list[str]:
    rows = re.findall(r'<tr class="sev-(\w+)" data-severity="\w+"( hidden="")?', dom)
    return [severity for severity, hidden in rows if not hidden]


def test_filter_from_the_link_hides_other_severities(tmp_path: Path) -> None:
    page = make_report(tmp_path)
    dom = dump_dom(page.as_uri() + "#severity=error", tmp_path / "profile")
    assert visible_rows(dom) == ["error"]
    assert "1 of 4 discrepancies shown" in dom
    assert '<script>alert("x")</script>' not in dom.split("<body", 1)[1].split("<script>")[0]


def test_all_rows_show_by_default(tmp_path: Path) -> None:
    page = make_report(tmp_path)
    dom = dump_dom(page.as_uri(), tmp_path / "profile")
    assert sorted(visible_rows(dom)) == ["error", "info", "info", "warning"]
    assert "4 of 4 discrepancies shown" in dom
