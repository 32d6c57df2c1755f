"""The stored Canvas JSON of submission rows, for a push laying what it read back over it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from canvas_sync.db.models import SubmissionRow

__all__ = ["submission_raws"]


def submission_raws(
    session: Session, course_id: int, submission_ids: Sequence[int]
) -> dict[int, Any]:
    """The stored raw JSON of each of these submissions that is stored, by submission id,
    whatever its JSON type: what `repo.save_submissions` takes as `stored`, so that it does
    not read the same JSON again."""
    if not submission_ids:
        return {}
    rows = session.connection().execute(
        select(SubmissionRow.id, SubmissionRow.raw).where(
            SubmissionRow.course_id == course_id, SubmissionRow.id.in_(list(submission_ids))
        )
    )
    return {row_id: raw for row_id, raw in rows}
