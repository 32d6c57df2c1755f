"""What people read: the comments, gradebook column line and total this service writes to
Canvas (SPEC §4), in the course time zone. Every comment ends with `MARKER`, so the plan can
recognise its own comments and never post one twice."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from canvas_sync.domain import ReadingResult, Status, StudentResult
from canvas_sync.policy import format_score

__all__ = [
    "COLUMN_LIMIT",
    "DEFAULT_RULE",
    "MARKER",
    "column_text",
    "late_comment",
    "local_time",
    "missing_comment",
    "reason",
    "total_comment",
    "total_text",
]

#: Last line of every comment this service posts: how it recognises its own comments.
MARKER = "— canvas-sync"
#: Canvas validates custom column data to `maximum_string_length` (255 characters).
COLUMN_LIMIT = 255
DEFAULT_RULE = "Late submissions are not accepted and receive 0 (course syllabus)."


def local_time(moment: datetime | None, time_zone: str) -> str:
    """`Tue Feb 3, 2026 11:59 PM CST`: a UTC instant in the course time zone, for people."""
    if moment is None:
        return "no date"
    local = moment.astimezone(ZoneInfo(time_zone))
    hour = local.hour % 12 or 12
    half = "AM" if local.hour < 12 else "PM"
    return f"{local:%a %b} {local.day}, {local.year} {hour}:{local:%M} {half} {local:%Z}"


def late_comment(reading: ReadingResult, zone: str, rule: str = DEFAULT_RULE) -> str:
    """The one comment on a zeroed late reading (SPEC §4): submitted, due, rule."""
    return (
        f"Reading summary “{reading.name}”: submitted "
        f"{local_time(reading.submitted_at, zone)}, due {local_time(reading.due_at, zone)}. "
        f"{rule}\n{MARKER}"
    )


def missing_comment(reading: ReadingResult, zone: str) -> str:
    return (
        f"Reading summary “{reading.name}”: not submitted by its due time "
        f"{local_time(reading.due_at, zone)}, so it receives 0.\n{MARKER}"
    )


def reason(reading: ReadingResult, zone: str) -> str:
    """Why a reading is zeroed, for the dry run and the total's comment."""
    if reading.status is Status.LATE:
        return (
            f"late: submitted {local_time(reading.submitted_at, zone)}, "
            f"due {local_time(reading.due_at, zone)}"
        )
    return f"missing: not submitted by {local_time(reading.due_at, zone)}"


def _labels(result: StudentResult) -> dict[int, str]:
    return {r.assignment_id: f"R{i}" for i, r in enumerate(result.readings, start=1)}


def total_text(result: StudentResult) -> str:
    return format_score(round(result.percent, 2)) or "0"


def column_text(result: StudentResult) -> str:
    """Compact gradebook line (Canvas caps column data at 255 characters)."""
    labels = _labels(result)
    counted = " ".join(labels[r.assignment_id] for r in result.readings if r.counted)
    zeroed = ", ".join(
        f"{labels[r.assignment_id]} {r.status.value}"
        for r in result.readings
        if r.status in (Status.LATE, Status.MISSING)
    )
    text = (
        f"{total_text(result)}% ({format_score(result.points)}/{format_score(result.possible)})"
        f"{' provisional' if result.provisional else ''}. Counted: {counted or 'none'}."
    )
    if zeroed:
        text += f" Zeroed: {zeroed}."
    return text if len(text) <= COLUMN_LIMIT else text[: COLUMN_LIMIT - 1] + "…"


def total_comment(result: StudentResult, zone: str, required: int) -> str:
    """Student-visible explanation on the total: one readable line per reading (SPEC §4)."""
    labels = _labels(result)
    lines = [
        f"Reading summaries total: {total_text(result)}% "
        f"({format_score(result.points)} of {format_score(result.possible)} points; "
        f"the best {required} summaries count)."
    ]
    for r in result.readings:
        label, score = labels[r.assignment_id], format_score(r.policy_score)
        if r.status in (Status.LATE, Status.MISSING):
            counted = ", counted" if r.counted else ""
            lines.append(f"{label} {r.name}: 0 ({reason(r, zone)}){counted}.")
        elif r.counted:
            lines.append(f"{label} {r.name}: counted, {score}.")
        elif r.status is Status.EXCUSED:
            lines.append(f"{label} {r.name}: excused.")
        elif r.policy_score is not None:
            lines.append(f"{label} {r.name}: not counted, {score}.")
    if result.provisional:
        lines.append(f"Provisional: {result.ungraded_count} summaries are not graded yet.")
    lines.append(MARKER)
    return "\n".join(lines)
