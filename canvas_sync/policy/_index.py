"""The snapshot's submission rows by student, then assignment (SPEC §2 "one row per pair").

`evaluate_course` and `find_discrepancies` both need it, for the same snapshot, one after the
other (service.core does exactly that), and building it costs ~80 ms at 10,000 students. So
the index of the most recent snapshot is kept while that snapshot is alive. The snapshot is
frozen and the index is derived from its submissions alone (checked by identity), so the cache
cannot go stale; it holds no strong reference to the snapshot and is dropped as soon as the
snapshot is garbage collected.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable

from canvas_sync.domain import CourseSnapshot, Submission

__all__ = ["Index", "index_of", "submission_index"]

Index = dict[int, dict[int, Submission]]


def submission_index(submissions: Iterable[Submission]) -> Index:
    """The submission rows by student id, then assignment id.

    Canvas sends one row per (student, assignment); should two arrive, the highest submission
    id wins (the first of equal ones), so the result does not depend on input order.
    """
    index: Index = {}
    for sub in submissions:
        per_student = index.get(sub.student_id)
        if per_student is None:
            index[sub.student_id] = {sub.assignment_id: sub}
        else:
            # Should Canvas send two rows for one pair, the higher id wins.
            seen = per_student.get(sub.assignment_id)
            if seen is None or sub.id > seen.id:
                per_student[sub.assignment_id] = sub
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
