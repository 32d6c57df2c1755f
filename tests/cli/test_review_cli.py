"""What a TA reads (issue 12): discrepancy lists, one student's report, exemptions, the push plan.

Each test gets a fresh database synced from the simulator's deterministic course (the edge-case
students in simulator/course.py): 1001 Alice Anders (all on time), 1003 Chloe Chen (R3 and R4
late, nothing after R14: at risk), 1008 Hana Hoshino (two scores out of range).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from canvas_sync.cli import cli
from canvas_sync.settings import shipped_config
from canvas_sync.simulator import READING_IDS, Simulator

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "review-cli-token-5d2e"
SEVERITY_RANK = {"error": 0, "warning": 1, "info": 2}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(students=25, seed=598, now=NOW, token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
def env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    found = {
        "CANVAS_URL": sim.base_url,
        "CANVAS_TOKEN": TOKEN,
        "CANVAS_COURSE_ID": str(sim.course_id),
        "CANVAS_SYNC_DATABASE_URL": f"sqlite:///{tmp_path / 'review.db'}",
        "CANVAS_SYNC_CONFIG": str(shipped_config()),
    }
    assert invoke(found, "sync").exit_code == 0
    return found


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def rows(output: str) -> list[list[str]]:
    """The body rows of a Rich table, as stripped cells."""
    return [
        [cell.strip() for cell in line.split("│")[1:-1]]
        for line in output.splitlines()
        if line.startswith("│")
    ]


def test_discrepancies_lists_open_ones_errors_first_with_names(env: dict[str, str]) -> None:
    result = invoke(env, "discrepancies")
    assert result.exit_code == 0, result.output
    table = rows(result.output)
    assert table and {r[3] for r in table} == {"open"}
    ranks = [SEVERITY_RANK[r[1]] for r in table]
    assert ranks == sorted(ranks)
    hana = [r for r in table if r[2] == "score_out_of_range"]
    assert hana and all(r[4] == "Hana Hoshino (1008)" for r in hana)
    assert all(re.match(r"R\d\d \S", r[5]) for r in hana)  # the label and the title


def test_discrepancies_filter_by_severity_kind_student_and_state(env: dict[str, str]) -> None:
    errors = rows(invoke(env, "discrepancies", "--severity", "error").output)
    assert errors and {r[1] for r in errors} == {"error"}
    chloe = rows(invoke(env, "discrepancies", "--student", "1003", "--kind", "late_graded").output)
    assert [(r[2], r[4]) for r in chloe] == [("late_graded", "Chloe Chen (1003)")]
    ack = invoke(env, "resolve", chloe[0][0], "--ack", "--note", "asked the grader")
    assert ack.exit_code == 0, ack.output
    still_open = rows(invoke(env, "discrepancies", "--student", "1003").output)
    assert chloe[0][0] not in [r[0] for r in still_open]
    acknowledged = rows(invoke(env, "discrepancies", "--state", "acknowledged").output)
    assert [r[0] for r in acknowledged] == [chloe[0][0]]
    counts = {
        state: len(rows(invoke(env, "discrepancies", "--state", state).output))
        for state in ("open", "acknowledged", "resolved", "all")
    }
    assert counts["all"] == counts["open"] + counts["acknowledged"] + counts["resolved"]


def test_unknown_kind_lists_the_kinds_and_cites_no_document(env: dict[str, str]) -> None:
    result = invoke(env, "discrepancies", "--kind", "late")
    assert result.exit_code == 2
    assert "late_graded" in result.output and "SPEC" not in result.output


def test_report_for_one_student_says_which_count_and_why(env: dict[str, str]) -> None:
    result = invoke(env, "report", "--student", "1003")
    assert result.exit_code == 0, result.output
    assert "Chloe Chen (1003): 105/140 = 75.00%" in result.output
    assert "The best 14 of the 19 readings with a score count" in result.output
    readings = [r for r in rows(result.output) if re.match(r"R\d\d ", r[0])]
    assert len(readings) == 19
    counted = [r for r in readings if r[6] == "yes"]
    assert len(counted) == 14
    late = {r[0][:3]: r[7] for r in readings if r[3] == "late"}
    assert late == {"R03": late["R03"], "R04": late["R04"]}
    assert all(why.startswith("counted as 0 (late)") for why in late.values())
    assert "CST" in result.output and "CDT" in result.output  # course time zone


def test_piped_report_is_not_cut_to_80_columns(env: dict[str, str]) -> None:
    result = invoke(env, "report")
    assert '<script>alert("x")</script> Tables' in result.output
    assert "Student " in result.output and "Stud…" not in result.output


def test_exempting_an_on_time_reading_says_it_changes_nothing(env: dict[str, str]) -> None:
    result = invoke(env, "exempt", "1001", "R01", "--reason", "asked twice")
    assert result.exit_code == 0, result.output
    assert "R01 The Illustrated Stable Diffusion" in result.output
    assert "is on time for this student, so the exemption changes nothing now" in result.output


def test_at_risk_is_fresh_right_after_exempt(env: dict[str, str]) -> None:
    def at_risk() -> list[list[str]]:
        return rows(invoke(env, "discrepancies", "--kind", "at_risk", "--student", "1003").output)

    assert len(at_risk()) == 1
    first = invoke(env, "exempt", "1003", str(READING_IDS[2]), "--reason", "DRES letter")
    assert "still at risk" in first.output
    second = invoke(env, "exempt", "1003", "r4", "--reason", "DRES letter")  # label, any case
    assert "no longer at risk" in second.output, second.output
    assert at_risk() == []  # resolved at once, not at the next sync
    report = invoke(env, "report", "--student", "1003")
    assert "At risk" not in report.output.split("\n", 1)[0]


def test_push_dry_run_writes_the_whole_plan_as_csv(env: dict[str, str], tmp_path: Path) -> None:
    plan = tmp_path / "plan.csv"
    result = invoke(env, "push", "--dry-run", "--output", str(plan))
    assert result.exit_code == 0, result.output
    planned = int(re.search(r"(\d+) planned changes", result.output).group(1))  # type: ignore[union-attr]
    lines = list(csv.DictReader(io.StringIO(plan.read_text(encoding="utf-8"))))
    assert len(lines) == planned > 100
    assert {line["target"] for line in lines} == {"grade", "total", "column"}
    grades = [line for line in lines if line["target"] == "grade"]
    assert all(re.match(r"R\d\d \S", line["reading"]) for line in grades)
    shown = invoke(env, "push", "--dry-run", "--all")
    assert "more changes" not in shown.output


def test_simulate_says_how_many_students_are_graded_and_why() -> None:
    """Issue 12: `simulate --students 300` then a sync of 298 students, unexplained."""
    from canvas_sync.cli.sync_cmds import _roster

    text = _roster(Simulator(students=300, now=NOW))
    assert text == (
        "300 students, of whom canvas-sync grades 298 (it ignores 1 inactive, 1 invited "
        "enrollments and Canvas's test student)"
    )
