"""`report --student`: one student's readings, and why these count (docs/policy.md).

A TA asking "why is this student's total 77.86%?" gets every reading with its due and submitted
times (course time zone), status, Canvas and policy scores, whether it counted, and why.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from canvas_sync.domain import ReadingResult, Selection, Status, StudentResult

from ._format import course_zone, fmt_fixed, fmt_number, local_time, reading_columns
from .build import Report

__all__ = ["render_student", "why_counted"]

_ZERO = (Status.LATE, Status.MISSING)


def why_counted(reading: ReadingResult, required: int) -> str:
    """One phrase: why this reading does or does not count towards the student's total."""
    exempt = "; exempt from the late rule" if reading.exempted else ""
    if reading.status is Status.EXCUSED:
        return "excused: not in the pool, one fewer required"
    if reading.status is Status.PENDING:
        return f"not due yet{exempt}"
    if reading.policy_score is None:
        return f"not graded yet: a candidate once graded (total provisional){exempt}"
    if reading.counted and reading.status in _ZERO:
        return f"counted as 0 ({reading.status.value}): fewer than {required} higher scores"
    if reading.counted:
        return f"counted{exempt}"
    if reading.status in _ZERO:
        return f"0 ({reading.status.value}), not counted: {required} higher scores count"
    return f"not counted: {required} higher scores count{exempt}"


def _headline(result: StudentResult, report: Report) -> str:
    policy = report.policy
    required = round(result.possible / policy.points_per_summary) if result.possible else 0
    excused = sum(1 for r in result.readings if r.status is Status.EXCUSED)
    scored = sum(1 for r in result.readings if r.policy_score is not None)
    rule = (
        f"the best {required} of the {scored} readings with a score count"
        if policy.selection is Selection.BEST
        else f"the first {required} on-time submissions count"
    )
    shrink = f" ({excused} excused, so {required} required)" if excused else ""
    text = (
        f"{result.student.name} ({result.student.id}): {fmt_number(result.points)}/"
        f"{fmt_number(result.possible)} = {fmt_fixed(result.percent)}%, weighted "
        f"{fmt_fixed(result.weighted)}. {rule[0].upper()}{rule[1:]}{shrink}; "
        "ties go to the earlier due date."
    )
    if result.provisional:
        text += f" Provisional: {result.ungraded_count} on-time summaries are not graded yet."
    if result.at_risk:
        text += f" At risk: fewer than {required} on-time summaries are still possible."
    return text


def render_student(report: Report, console: Console, *, time_zone: str) -> None:
    """The headline and the per-reading table of the report's one student."""
    zone = course_zone(time_zone)
    names = {c.assignment_id: c.short for c in reading_columns(report)}
    for result in report.students:
        required = round(result.possible / report.policy.points_per_summary)
        console.print(Text(_headline(result, report)))
        table = Table(title=Text(f"Readings (times in {time_zone})"), title_justify="left")
        for heading in ("Reading", "Due", "Submitted", "Status", "Canvas", "Policy", "Counted"):
            table.add_column(heading)
        table.add_column("Why", overflow="fold")
        for r in result.readings:
            table.add_row(
                Text(names.get(r.assignment_id, r.name)),
                Text(local_time(r.due_at, zone)),
                Text(local_time(r.submitted_at, zone)),
                Text(r.status.value),
                Text(fmt_number(r.canvas_score)),
                Text(fmt_number(r.policy_score)),
                Text("yes" if r.counted else ""),
                Text(why_counted(r, required)),
            )
        console.print(table)
