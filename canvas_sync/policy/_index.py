"""The snapshot's submission rows by student, then assignment (SPEC §2 "one row per pair").

`evaluate_course` and `find_discrepancies` both need it, for the same snapshot, one after the
other (service.core does exactly that). Building it is ~10 % of their time at 10,000 students,
so the index of the most recent snapshot is kept while that snapshot is alive. The snapshot is
frozen and the index is derived from it alone, so the cache can never be stale; it holds no
strong reference to the snapshot, and is dropped as soon as the snapshot is garbage collected.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from itertools import groupby
from operator import attrgetter

from canvas_sync.domain import CourseSnapshot, Submission

__all__ = ["Index", "index_of", "submission_index"]

Index = dict[int, dict[int, Submission]]

_STUDENT_ID = attrgetter("student_id")
_ASSIGNMENT_ID = attrgetter("assignment_id")


def submission_index(submissions: Iterable[Submission]) -> Index:
    """The submission rows by student id, then assignment id.

    Canvas sends one row per (student, assignment); should two arrive, the highest submission
    id wins (the first of equal ones), so the result does not depend on input order.
    """
    index: Index = {}
    # Grouping and the per-student dicts are built in C; a stable sort keeps input order.
    for student_id, group in groupby(sorted(submissions, key=_STUDENT_ID), _STUDENT_ID):
        rows = list(group)
        per_student = dict(zip(map(_ASSIGNMENT_ID, rows), rows, strict=True))
        if len(per_student) < len(rows):  # two rows for one pair
            per_student = {}
            for sub in rows:
                seen = per_student.get(sub.assignment_id)
                if seen is None or sub.id > seen.id:
                    per_student[sub.assignment_id] = sub
        index[student_id] = per_student
    return index


class _Last:
    """The index of the most recent snapshot: (weak snapshot, its submissions, index).

    Replaced as a whole, never changed in place, so threads need no lock: a race costs at most
    a rebuild.
    """

    entry: tuple[weakref.ref[CourseSnapshot], tuple[Submission, ...], Index] | None = None


def index_of(snapshot: CourseSnapshot) -> Index:
    """`submission_index(snapshot.submissions)`, built once per snapshot (see module doc)."""
    entry = _Last.entry
    if entry is not None and entry[0]() is snapshot and entry[1] is snapshot.submissions:
        return entry[2]
    index = submission_index(snapshot.submissions)
    _Last.entry = (weakref.ref(snapshot, _forget), snapshot.submissions, index)
    return index


def _forget(ref: weakref.ref[CourseSnapshot]) -> None:
    # The snapshot is gone: release its submissions now rather than at the next call.
    entry = _Last.entry
    if entry is not None and entry[0] is ref:
        _Last.entry = None
