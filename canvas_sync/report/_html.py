"""The HTML report: one self-contained file a TA can open from disk or an email attachment,
rendered from the same Jinja templates as the web app (`templates/`), so there is one way to
make HTML.

Nothing is fetched from the network (inline CSS and JS only, and a Content-Security-Policy
that forbids any other source), and Jinja's autoescape escapes every value: names, SIS ids and
messages are user input. This module only prepares display values; the templates lay them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, StrictUndefined

from canvas_sync.domain import ReadingResult, Selection, Severity, Status, StudentResult

from ._format import (
    ReadingColumn,
    change,
    course_zone,
    fmt_fixed,
    fmt_number,
    local_time,
    reading_columns,
    student_names,
    summarize,
    which,
    who,
)
from .build import Report, utc_z

__all__ = [
    "CSP",
    "TEMPLATES",
    "GridRow",
    "configure_templates",
    "grid_rows",
    "render_html",
    "status_label",
]

_STATUS_LABEL = {
    Status.ON_TIME: "on time",
    Status.LATE_RESUBMISSION: "late resub.",
    Status.LATE: "late",
    Status.MISSING: "missing",
    Status.EXCUSED: "excused",
    Status.PENDING: "pending",
    Status.UNKNOWN: "not seen",
    Status.UNASSIGNED: "not assigned",
}
_PLURAL = {Severity.ERROR: "errors", Severity.WARNING: "warnings", Severity.INFO: "info"}
CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"
#: The report's templates; the web app puts them on its own template path.
TEMPLATES = PackageLoader("canvas_sync.report", "templates")


@dataclass(frozen=True)
class Cell:
    """One reading of one student in the grid, ready to show."""

    css: str
    score: str
    mark: str
    label: str
    tip: str


@dataclass(frozen=True)
class GridRow:
    result: StudentResult
    cells: tuple[Cell | None, ...]  # one per column; None: not a reading of this student
    points: str


def status_label(reading: ReadingResult) -> str:
    """The text that goes with a status colour ("on time", "late", "ungraded, exempt")."""
    ungraded = reading.status is Status.ON_TIME and reading.policy_score is None
    label = "ungraded" if ungraded else _STATUS_LABEL[reading.status]
    return label + (", exempt" if reading.exempted else "")


def _cell(reading: ReadingResult, column: ReadingColumn, zone: ZoneInfo) -> Cell:
    ungraded = reading.status is Status.ON_TIME and reading.policy_score is None
    classes = ["r", f"st-{'ungraded' if ungraded else reading.status.value}"]
    if reading.counted:
        classes.append("counted")
    if reading.due_at != column.due_at:
        classes.append("own-due")
    tip = (
        f"{column.name}\ndue {local_time(reading.due_at, zone) or '—'}\n"
        f"submitted {local_time(reading.submitted_at, zone) or '—'}\n"
        f"Canvas score {fmt_number(reading.canvas_score) or '—'}"
    )
    return Cell(
        " ".join(classes),
        fmt_number(reading.policy_score) or "—",
        "*" if reading.counted else "",
        status_label(reading),
        tip,
    )


def grid_rows(
    students: Sequence[StudentResult], columns: Sequence[ReadingColumn], zone: ZoneInfo
) -> list[GridRow]:
    """The per-student grid: each student's readings in column order."""
    rows = []
    for result in students:
        by_id = {r.assignment_id: r for r in result.readings}
        cells = tuple(
            _cell(by_id[c.assignment_id], c, zone) if c.assignment_id in by_id else None
            for c in columns
        )
        points = f"{fmt_number(result.points)}/{fmt_number(result.possible)}"
        rows.append(GridRow(result, cells, points))
    return rows


def configure_templates(env: Environment, zone: ZoneInfo) -> None:
    """The filters the shared templates use, on the report's or the web app's environment."""
    env.filters.update(
        local=lambda moment: local_time(moment, zone) or "—",
        number=fmt_number,
        fixed=fmt_fixed,
        utc=lambda moment: utc_z(moment) if isinstance(moment, datetime) else "—",
    )


def _environment(zone: ZoneInfo) -> Environment:
    env = Environment(
        loader=TEMPLATES, autoescape=True, undefined=StrictUndefined, keep_trailing_newline=True
    )
    configure_templates(env, zone)
    return env


def render_html(report: Report, *, time_zone: str = "America/Chicago") -> str:
    """One self-contained HTML page: summary counts, a severity-filterable discrepancy list
    and a per-student grid (totals first, counted readings outlined, statuses colour-coded and
    labelled), with times in the course time zone (SPEC §2: America/Chicago, CST/CDT)."""
    zone = course_zone(time_zone)
    columns = reading_columns(report)
    summary = summarize(report)
    names = student_names(report)
    shorts = {c.assignment_id: c.short for c in columns}
    policy = report.policy
    return (
        _environment(zone)
        .get_template("report.html")
        .render(
            report=report,
            csp=CSP,
            time_zone=time_zone,
            rule="best" if policy.selection is Selection.BEST else "first on-time",
            cards=[
                ("Students", summary.students),
                ("At risk", summary.at_risk),
                ("Provisional", summary.provisional),
                *((f"Open {_PLURAL[s]}", summary.open_by_severity[s]) for s in Severity),
            ],
            open_total=summary.open_total,
            severities=[
                (s.value, sum(1 for d in report.discrepancies if d.severity is s)) for s in Severity
            ],
            discrepancies=[
                (d, who(d, names), which(d, shorts), change(d)) for d in report.discrepancies
            ],
            columns=columns,
            rows=grid_rows(report.students, columns, zone),
        )
    )
