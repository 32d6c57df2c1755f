"""What people read: the comments, gradebook column line and total this service writes to
Canvas (SPEC §4), in the course time zone. Every comment ends with `MARKER`, so the plan can
recognise its own comments and never post one twice."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from canvas_sync.domain import ReadingResult, Status, StudentResult
from canvas_sync.policy import format_score, label_ranges, reading_labels

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


@lru_cache(maxsize=4096)  # a push writes thousands of comments on a few due dates
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


def _labels(result: StudentResult, labels: Mapping[int, str] | None) -> Mapping[int, str]:
    """The course's labels when given (the same in every place), else this student's alone."""
    return labels if labels is not None else reading_labels([result])


def _in_label_order(
    result: StudentResult, labels: Mapping[int, str]
) -> list[tuple[str, ReadingResult]]:
    return sorted(((labels.get(r.assignment_id, ""), r) for r in result.readings), key=_first)


def _first(item: tuple[str, ReadingResult]) -> tuple[str, int]:
    return item[0], item[1].assignment_id


def total_text(result: StudentResult) -> str:
    return format_score(round(result.percent, 2)) or "0"


def column_text(result: StudentResult, labels: Mapping[int, str] | None = None) -> str:
    """Compact gradebook line (Canvas caps column data at 255 characters).

    `77.86% (109/140) provisional. Counted: R01–R09 R11, R10 (0, late). Not counted:
    R13 (0, missing). Ungraded: R18 R19.` A zero that counts is listed once, among the counted.
    """
    rows = _in_label_order(result, _labels(result, labels))
    zero = (Status.LATE, Status.MISSING)
    scored = [label for label, r in rows if r.counted and r.status not in zero]
    counted_zeros = [
        f"{label} (0, {r.status.value})" for label, r in rows if r.counted and r.status in zero
    ]
    counted = ", ".join(p for p in (label_ranges(scored), *counted_zeros) if p)
    text = (
        f"{total_text(result)}% ({format_score(result.points)}/{format_score(result.possible)})"
        f"{' provisional' if result.provisional else ''}. Counted: {counted or 'none'}."
    )
    others = [
        f"{label} (0, {r.status.value})" for label, r in rows if not r.counted and r.status in zero
    ]
    if others:
        text += f" Not counted: {', '.join(others)}."
    ungraded = [label for label, r in rows if r.status is Status.ON_TIME and r.policy_score is None]
    if ungraded:
        text += f" Ungraded: {label_ranges(ungraded)}."
    return text if len(text) <= COLUMN_LIMIT else text[: COLUMN_LIMIT - 1] + "…"


def total_comment(
    result: StudentResult, zone: str, required: int, labels: Mapping[int, str] | None = None
) -> str:
    """Student-visible explanation on the total: one readable line per reading (SPEC §4)."""
    lines = [
        f"Reading summaries total: {total_text(result)}% "
        f"({format_score(result.points)} of {format_score(result.possible)} points; "
        f"the best {required} summaries count)."
    ]
    for label, r in _in_label_order(result, _labels(result, labels)):
        score = format_score(r.policy_score)
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
