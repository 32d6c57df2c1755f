"""One name per reading: a short label ("R07") from the course's reading order, plus its title.

Every place a person reads a reading (reports, push plans, the gradebook column, comments,
discrepancy lists) uses these, so "R07" means the same reading everywhere (docs/index.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

from canvas_sync.domain import StudentResult

__all__ = ["label_ranges", "labelled", "reading_labels", "reading_names", "short_title"]

_NEVER = datetime.max.replace(tzinfo=UTC)  # undated readings go last


def reading_labels(results: Sequence[StudentResult]) -> dict[int, str]:
    """Assignment id → "R01"… in syllabus order: earliest due date over all students, then id.

    The order is the course's, not one student's, so an extension that moves one student's due
    date does not renumber that student's readings. Zero-padded to the pool's width.
    """
    dues: dict[int, datetime | None] = {}
    seen: set[int] = set()
    for result in results:
        for reading in result.readings:
            aid, due = reading.assignment_id, reading.due_at
            if aid not in seen:
                seen.add(aid)
                dues[aid] = due
            elif due is not None and (dues[aid] is None or due < (dues[aid] or _NEVER)):
                dues[aid] = due
    order = sorted(seen, key=lambda a: (dues[a] is None, dues[a] or _NEVER, a))
    width = max(2, len(str(len(order))))
    return {aid: f"R{i:0{width}d}" for i, aid in enumerate(order, start=1)}


def reading_names(results: Sequence[StudentResult]) -> dict[int, str]:
    """Assignment id → "R07 LoRA: Low-Rank …": label and title, the name used everywhere."""
    labels = reading_labels(results)
    titles = {r.assignment_id: r.name for result in results for r in result.readings}
    return {a: labelled(a, short_title(t, titles.values()), labels) for a, t in titles.items()}


def short_title(name: str, others: Iterable[str] = ()) -> str:
    """The title without a prefix every reading shares ("Summary: LoRA: …" → "LoRA: …")."""
    names = [n for n in others if n]
    for sep in (": ", " - ", " — "):
        head, found, rest = name.partition(sep)
        if found and rest and names and all(n.startswith(head + sep) for n in names):
            return rest
    return name


def labelled(assignment_id: int, name: str, labels: Mapping[int, str]) -> str:
    """ "R07 LoRA: Low-Rank …": the label and the title; the title alone when unlabelled."""
    label = labels.get(assignment_id)
    return f"{label} {name}" if label else name


def label_ranges(labels: Sequence[str]) -> str:
    """ "R01–R09 R11 R12" for labels in order: consecutive runs of three or more as a range."""
    numbers = [(label[:1], int(label[1:]), len(label) - 1) for label in labels]
    parts: list[str] = []
    i = 0
    while i < len(numbers):
        j = i
        while j + 1 < len(numbers) and numbers[j + 1][1] == numbers[j][1] + 1:
            j += 1
        if j - i >= 2:
            parts.append(f"{labels[i]}–{labels[j]}")
        else:
            parts.extend(labels[i : j + 1])
        i = j + 1
    return " ".join(parts)
