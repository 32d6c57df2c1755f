"""Terminal report: Rich tables with names and totals, markup never interpreted."""

from __future__ import annotations

import io

import report_fixtures as fx
from rich.console import Console

from canvas_sync.report import Report, build_report, render_table


def make(*, with_discrepancies: bool = True) -> Report:
    return build_report(
        fx.COURSE,
        fx.CONFIG,
        pool=fx.POOL,
        results=fx.results(),
        discrepancies=fx.discrepancies() if with_discrepancies else [],
        generated_at=fx.GENERATED_AT,
    )


def rendered(report: Report) -> str:
    console = Console(record=True, width=220, file=io.StringIO(), color_system=None)
    render_table(report, console)
    return console.export_text()


def test_student_table_has_names_and_totals() -> None:
    text = rendered(make())
    for name in ("Wei Zhang", "Anna de Vries", fx.SCRIPT_NAME, fx.FORMULA_NAME):
        assert name in text
    lines = {line.split("│")[1].strip(): line for line in text.splitlines() if line.count("│") > 6}
    wei = [cell.strip() for cell in lines["Wei Zhang"].split("│")[2:8]]
    assert wei == ["9/140", "6.43", "1.29", "1", "0", "yes"]
    markup = [cell.strip() for cell in lines[fx.MARKUP_NAME].split("│")[2:5]]
    assert markup == ["26.67/140", "19.05", "3.81"]


def test_rich_markup_in_names_is_printed_verbatim() -> None:
    text = rendered(make())
    assert fx.MARKUP_NAME in text  # "[bold red]Rich[/bold red] Markup", brackets and all


def test_excluded_students_absent() -> None:
    text = rendered(make())
    assert "Test Student" not in text and "Dropped Dan" not in text


def test_headline_counts() -> None:
    text = rendered(make())
    assert "5 students, 1 at risk, 1 provisional, 5 open discrepancies" in text


def test_discrepancy_table() -> None:
    text = rendered(make())
    late = next(line for line in text.splitlines() if "late_graded" in line)
    cells = [cell.strip() for cell in late.split("│")[1:-1]]
    assert cells[:7] == ["7", "error", "late_graded", "open", "Wei Zhang",
                         "R02 Efficient Large-Scale…", "8 → 0"]  # fmt: skip
    group = next(line for line in text.splitlines() if "group_rule_mismatch" in line)
    assert "(course)" in group and "acknowledged" in group
    assert "missing_ungraded" in text and "— → 0" in text


def test_no_discrepancies_says_so() -> None:
    text = rendered(make(with_discrepancies=False))
    assert "No discrepancies." in text and "late_graded" not in text
