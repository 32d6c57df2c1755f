"""Display helpers shared by the CSV, HTML and terminal renderers.

Rounding happens only here (SPEC §2 "round only for display": 2 decimals); the JSON in
`build.py` stays exact.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from canvas_sync.domain import DiscrepancyRecord, ReadingResult, Severity, Status
from canvas_sync.errors import ConfigError
from canvas_sync.policy import labelled, reading_labels, short_title

from .build import Report

__all__ = [
    "ReadingColumn",
    "Summary",
    "change",
    "course_zone",
    "fmt_fixed",
    "fmt_number",
    "is_plain_number",
    "local_time",
    "reading_cell",
    "reading_columns",
    "short_reading_name",
    "student_names",
    "summarize",
    "which",
    "who",
]

_SHORT_MAX = 28
_NEVER = datetime.max.replace(tzinfo=UTC)  # sorts undated readings last


def fmt_number(value: float | None) -> str:
    """A score or total for display: at most 2 decimals, no trailing zeros ("9", "8.5")."""
    if value is None:
        return ""
    if not math.isfinite(value):
        return "n/a"
    text = f"{round(value, 2):.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def fmt_fixed(value: float | None) -> str:
    """A percentage for display: exactly 2 decimals ("90.71")."""
    if value is None:
        return ""
    if not math.isfinite(value):
        return "n/a"
    return f"{value:.2f}"


def reading_cell(reading: ReadingResult) -> str:
    """One reading in a grid: status then policy score ("late 0", "on_time ungraded").

    Excused, pending, unknown and unassigned readings have no policy score, so they show
    the bare status; a local late-rule exemption (SPEC §4) adds "exempt"; "*" marks a reading
    that counts towards the total.
    """
    status = reading.status.value
    if reading.status in (Status.EXCUSED, Status.PENDING, Status.UNKNOWN, Status.UNASSIGNED):
        text = status
    elif reading.policy_score is None:
        text = f"{status} ungraded"
    else:
        text = f"{status} {fmt_number(reading.policy_score)}"
    if reading.exempted:
        text += " exempt"
    return text + ("*" if reading.counted else "")


def short_reading_name(name: str) -> str:
    """A column header for a reading: the part before the first colon ("LoRA"), else the
    title cut at a word boundary (long paper titles would make a grid unreadable)."""
    name = " ".join(name.split())
    head = name.split(":", 1)[0].strip()
    if head and len(head) <= _SHORT_MAX:
        return head
    if len(name) <= _SHORT_MAX:
        return name
    cut = name[:_SHORT_MAX].rsplit(" ", 1)[0].rstrip(" ,;-")
    return (cut or name[:_SHORT_MAX]) + "…"


@dataclass(frozen=True)
class ReadingColumn:
    """One reading as a grid column; `due_at` is its earliest due date over all students."""

    assignment_id: int
    name: str
    short: str
    due_at: datetime | None


def reading_columns(report: Report) -> tuple[ReadingColumn, ...]:
    """The readings of all reported students as columns, in the course's label order (R01…).

    Headers are the label and a short title ("R05 LoRA"), the name push plans and the
    gradebook column use too; a prefix all readings share ("Summary: ") is left out. Students
    can have different due dates (extensions), so each column's `due_at` is the earliest.
    """
    names: dict[int, str] = {}
    dues: dict[int, datetime | None] = {}
    for result in report.students:
        for reading in result.readings:
            names.setdefault(reading.assignment_id, reading.name)
            dues[reading.assignment_id] = _earliest(dues.get(reading.assignment_id), reading.due_at)
    labels = report.labels or reading_labels(report.students)
    order = sorted(names, key=lambda a: (labels.get(a, "~"), a))
    titles = [short_title(names[a], names.values()) for a in order]
    shorts = [short_reading_name(t) for t in titles]
    columns = []
    for assignment_id, short in zip(order, shorts, strict=True):
        if shorts.count(short) > 1 and assignment_id not in labels:
            short = f"{short} #{assignment_id}"
        short = labelled(assignment_id, short, labels)
        columns.append(
            ReadingColumn(assignment_id, names[assignment_id], short, dues[assignment_id])
        )
    return tuple(columns)


def _earliest(current: datetime | None, candidate: datetime | None) -> datetime | None:
    if current is None:
        return candidate
    if candidate is None:
        return current
    return min(current, candidate)


def student_names(report: Report) -> dict[int, str]:
    """Reported students' display names by Canvas id (discrepancy lists show names)."""
    return {r.student.id: r.student.name for r in report.students}


def course_zone(time_zone: str) -> ZoneInfo:
    """The course's IANA time zone, or a ConfigError naming the bad value."""
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"Unknown time zone {time_zone!r}; set [course] time_zone to an IANA name such as "
            "'America/Chicago'."
        ) from exc


def local_time(moment: datetime | None, zone: ZoneInfo) -> str:
    """A UTC time in the course time zone, with its abbreviation (CST before 2026-03-08, CDT
    after), so a TA reads due times the way the syllabus states them."""
    if moment is None:
        return ""
    return moment.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S %Z")


_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def is_plain_number(text: str) -> bool:
    """True for a number this module formatted ("-1", "8.5"): safe in a spreadsheet cell."""
    return _NUMBER.fullmatch(text) is not None


@dataclass(frozen=True)
class Summary:
    """Headline counts: students, at risk, provisional totals, open discrepancies by severity."""

    students: int
    at_risk: int
    provisional: int
    open_by_severity: dict[Severity, int]

    @property
    def open_total(self) -> int:
        return sum(self.open_by_severity.values())


def summarize(report: Report) -> Summary:
    """Count what a TA looks at first; only `open` discrepancies still need review (SPEC §3)."""
    open_by: dict[Severity, int] = dict.fromkeys(Severity, 0)
    for record in report.discrepancies:
        if record.state == "open":
            open_by[record.severity] += 1
    return Summary(
        students=len(report.students),
        at_risk=sum(1 for r in report.students if r.at_risk),
        provisional=sum(1 for r in report.students if r.provisional),
        open_by_severity=open_by,
    )


def who(record: DiscrepancyRecord, names: dict[int, str]) -> str:
    """The student a discrepancy is about, by name; "(course)" for course-level ones."""
    if record.student_id is None:
        return "(course)"
    return names.get(record.student_id, f"#{record.student_id}")


def which(record: DiscrepancyRecord, readings: dict[int, str]) -> str:
    """The reading a discrepancy is about, by short name; "#id" for a non-reading assignment."""
    if record.assignment_id is None:
        return "—"
    return readings.get(record.assignment_id, f"#{record.assignment_id}")


def change(record: DiscrepancyRecord) -> str:
    """Canvas's value and the expected one ("8 → 0"); "—" where a side has no value."""
    canvas = "—" if record.canvas_value is None else record.canvas_value
    expected = "—" if record.expected_value is None else record.expected_value
    return f"{canvas} → {expected}"
