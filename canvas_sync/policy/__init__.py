"""The pure reading-summary policy (SPEC §2, §3).

Frozen domain objects and an explicit `now` in; statuses, totals and discrepancy findings out.
No I/O, clock, ORM or HTTP: only the stdlib, `canvas_sync.domain` and `canvas_sync.errors`.
"""

from __future__ import annotations

from ._labels import label_ranges, labelled, reading_labels, reading_names, short_title
from .discrepancies import find_discrepancies, format_score
from .status import assigned_to, effective_due_date, reading_status
from .totals import evaluate_course, evaluate_student

__all__ = [
    "assigned_to",
    "effective_due_date",
    "evaluate_course",
    "evaluate_student",
    "find_discrepancies",
    "format_score",
    "label_ranges",
    "labelled",
    "reading_labels",
    "reading_names",
    "reading_status",
    "short_title",
]
