"""Which Canvas assignments are the syllabus readings (SPEC §7).

By default the assignment group named in the config ("Reading Summaries"); when no such group
exists,
assignments whose names contain a configured paper title; explicit ids win over both. Each found
reading is matched to its syllabus entry by title so its Canvas due date can be checked.

The service's own targets (the total assignment, and anything named like the totals column) are
never readings, whatever group they sit in: Canvas may have put the total in the reading group
(canvas-api.md §10 item 17).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from canvas_sync.domain import Assignment, AssignmentGroup

__all__ = ["ReadingMatch", "SyllabusReading", "find_readings", "normalize_title"]


@dataclass(frozen=True)
class SyllabusReading:
    title: str
    due_at: datetime | None


@dataclass(frozen=True)
class ReadingMatch:
    reading_ids: tuple[int, ...]
    syllabus_due: dict[int, datetime] = field(default_factory=dict)
    unmatched_titles: tuple[str, ...] = ()
    group_id: int | None = None
    #: Names of pool assignments that match no configured reading (the group holds extras).
    extra_names: tuple[str, ...] = ()


def normalize_title(text: str) -> str:
    """Lower-case words only, so 'Summary: LoRA — Low-Rank…' matches 'LoRA: Low-Rank …'."""
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


def find_readings(
    assignments: Sequence[Assignment],
    groups: Sequence[AssignmentGroup],
    syllabus: Sequence[SyllabusReading],
    *,
    group_name: str,
    match_titles: bool = True,
    explicit_ids: Sequence[int] = (),
    exclude_names: Sequence[str] = (),
) -> ReadingMatch:
    """The readings among `assignments`; those named in `exclude_names` never are."""
    group = next((g for g in groups if g.name.strip().lower() == group_name.strip().lower()), None)
    excluded = {n.strip().lower() for n in exclude_names}
    assignments = [a for a in assignments if a.name.strip().lower() not in excluded]
    by_id = {a.id: a for a in assignments}
    if explicit_ids:
        candidates = [by_id[i] for i in explicit_ids if i in by_id]
    elif group is not None:
        candidates = [a for a in assignments if a.assignment_group_id == group.id]
    elif match_titles:
        candidates = list(assignments)
    else:
        candidates = []
    syllabus_due: dict[int, datetime] = {}
    matched: set[int] = set()
    unmatched: list[str] = []
    chosen: list[int] = []
    for entry in syllabus:
        wanted = normalize_title(entry.title)
        hit = next(
            (a for a in candidates if a.id not in matched and wanted in normalize_title(a.name)),
            None,
        )
        if hit is None:
            unmatched.append(entry.title)
            continue
        if entry.due_at is not None:
            syllabus_due[hit.id] = entry.due_at
        matched.add(hit.id)
        chosen.append(hit.id)
    extras: list[str] = []
    if explicit_ids or group is not None:
        # The configured ids or the whole reading group define the pool, whatever their titles.
        chosen = [a.id for a in candidates]
        extras = [a.name for a in candidates if a.id not in matched]
    reading_ids = tuple(sorted(set(chosen), key=lambda i: _due_key(by_id[i])))
    group_id = group.id if group is not None else None
    return ReadingMatch(reading_ids, syllabus_due, tuple(unmatched), group_id, tuple(extras))


def _due_key(assignment: Assignment) -> tuple[int, float, int]:
    if assignment.due_at is None:
        return (1, 0.0, assignment.id)
    return (0, assignment.due_at.timestamp(), assignment.id)
