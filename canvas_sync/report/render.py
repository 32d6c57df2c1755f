"""Renderers for the report (SPEC §5 `report --format table|csv|json|html`).

Each takes a built `Report` and only formats it. Every value that came from Canvas (names,
SIS ids, messages) is user input: the CSV defuses spreadsheet formulas, the HTML escapes
everything, the terminal view never interprets Rich markup.
"""

from __future__ import annotations

import csv
import io
import json

from rich.console import Console
from rich.table import Table
from rich.text import Text

from canvas_sync.domain import Severity, StudentResult
from canvas_sync.inert import inert

from ._format import (
    change,
    fmt_fixed,
    fmt_number,
    is_plain_number,
    reading_cell,
    reading_columns,
    student_names,
    summarize,
    which,
    who,
)
from ._html import render_html
from .build import Report, report_to_dict

__all__ = ["render_csv", "render_html", "render_json", "render_table"]

_BOM = "\ufeff"
# OWASP's CSV-injection list: a spreadsheet treats a cell starting with these as a formula
# (tab and carriage return too, which some spreadsheets strip before looking).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SEVERITY_STYLE = {Severity.ERROR: "bold red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_TOTAL_HEADERS = (
    "points",
    "possible",
    "percent",
    "weighted",
    "on_time_count",
    "ungraded_count",
    "at_risk",
)


def render_json(report: Report) -> str:
    """SPEC §6 JSON, indented; `allow_nan=False` so the output is always valid JSON."""
    return json.dumps(report_to_dict(report), indent=2, ensure_ascii=False, allow_nan=False)


# --- CSV ------------------------------------------------------------------------------------


def render_csv(report: Report, *, bom: bool = True) -> str:
    """One row per student: id, name, sis_user_id, one column per reading, then the totals.

    Reading cells read like "on_time 9*" (status, policy score, "*" when counted). The text
    starts with a UTF-8 byte-order mark by default because Excel otherwise opens UTF-8 as
    a legacy code page and garbles names like "Müller" (Python readers: encoding="utf-8-sig").
    Numbers are rounded to 2 decimals; the JSON has the exact values.
    """
    columns = reading_columns(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    header = ["id", "name", "sis_user_id", *(c.short for c in columns), *_TOTAL_HEADERS]
    writer.writerow([_defuse(cell) for cell in header])
    for result in report.students:
        readings = {r.assignment_id: r for r in result.readings}
        cells = [
            str(result.student.id),
            result.student.name,
            result.student.sis_user_id or "",
            *(
                reading_cell(readings[c.assignment_id]) if c.assignment_id in readings else ""
                for c in columns
            ),
            *_total_cells(result),
        ]
        writer.writerow([_defuse(cell) for cell in cells])
    return (_BOM if bom else "") + buffer.getvalue()


def _total_cells(result: StudentResult) -> list[str]:
    return [
        fmt_number(result.points),
        fmt_number(result.possible),
        fmt_fixed(result.percent),
        fmt_fixed(result.weighted),
        str(result.on_time_count),
        str(result.ungraded_count),
        "true" if result.at_risk else "false",
    ]


def _defuse(cell: str) -> str:
    """Prefix a formula-looking cell with ' so a spreadsheet shows it as text.

    Student names and SIS ids are user input ("=HYPERLINK(...)" is a classic); numbers this
    module formatted ("-1" for an out-of-range score) are left alone so they stay numbers.
    """
    if cell.startswith(_FORMULA_START) and not is_plain_number(cell):
        return "'" + cell
    return cell


# --- terminal ---------------------------------------------------------------------------------


def render_table(report: Report, console: Console, *, max_discrepancies: int | None = None) -> None:
    """A terminal view: a headline, a per-student table and a discrepancy table.

    Every cell is a `Text`, so a student called "[bold]x[/bold]" is printed as typed rather
    than interpreted as Rich markup.
    """
    summary = summarize(report)
    console.print(
        Text(
            f"{inert(report.course.name)} — {summary.students} students, "
            f"{summary.at_risk} at risk, "
            f"{summary.provisional} provisional, {summary.open_total} open discrepancies"
        )
    )
    console.print(_student_table(report))
    if report.discrepancies:
        console.print(_discrepancy_table(report, max_discrepancies))
        hidden = len(report.discrepancies) - (max_discrepancies or len(report.discrepancies))
        if hidden > 0:
            console.print(Text(f"… and {hidden} more discrepancies (see the full report)."))
    else:
        console.print(Text("No discrepancies."))


def _student_table(report: Report) -> Table:
    table = Table(title=Text("Reading summaries"), title_justify="left")
    table.add_column("Student")
    for heading in ("Points", "Percent", "Weighted", "On time", "Ungraded", "At risk"):
        table.add_column(heading, justify="right")
    for result in report.students:
        points = f"{fmt_number(result.points)}/{fmt_number(result.possible)}"
        table.add_row(
            Text(inert(result.student.name)),
            Text(points),
            Text(fmt_fixed(result.percent)),
            Text(fmt_fixed(result.weighted)),
            Text(str(result.on_time_count)),
            Text(str(result.ungraded_count), style="yellow" if result.provisional else ""),
            Text("yes", style="bold red") if result.at_risk else Text("no"),
        )
    return table


def _discrepancy_table(report: Report, limit: int | None = None) -> Table:
    names = student_names(report)
    readings = {c.assignment_id: c.short for c in reading_columns(report)}
    table = Table(title=Text("Discrepancies"), title_justify="left")
    table.add_column("ID", justify="right", no_wrap=True)
    for heading in ("Severity", "Kind", "State"):
        table.add_column(heading, no_wrap=True)
    for heading in ("Student", "Reading", "Canvas → expected"):
        table.add_column(heading)
    table.add_column("Message", min_width=30, overflow="fold")
    for record in report.discrepancies[:limit]:
        table.add_row(
            Text(str(record.id)),
            Text(record.severity.value, style=_SEVERITY_STYLE[record.severity]),
            Text(record.kind.value),
            Text(record.state),
            Text(inert(who(record, names))),
            Text(inert(which(record, readings))),
            Text(inert(change(record))),
            Text(inert(record.message)),
        )
    return table
