"""The submission rows of one pull, kept on disk until the storing transaction reads them.

A first sync of a course of thousands of students pulls tens of thousands of rows, each with
its history, comments and rubric: held in memory as parsed values and raw JSON they cost
hundreds of megabytes. The pull instead writes each checked row as one JSON line to an
anonymous temporary file (private to the process, unlinked at once, so gone even if the
process is killed) and keeps in memory only, per (student, assignment), the line of the last
row seen (the overlap window and the since-queries send some rows twice: the last one wins).
Nothing here touches the database: a failed pull leaves it as the last good sync left it.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from typing import Any

from canvas_sync.canvas import parse_submission
from canvas_sync.domain import Submission

__all__ = ["BATCH", "Spool"]

#: Rows handed out per batch when the spool is read back (`Spool.batches`).
BATCH = 1000


class Spool:
    """Checked submission rows, one JSON line each, de-duplicated by (student, assignment)."""

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by `close`)
        self._lines = 0
        # (student id, assignment id) -> number of the line holding the last row seen.
        self._last: dict[tuple[int, int], int] = {}

    def add(self, rows: Iterable[tuple[Submission, dict[str, Any]]]) -> None:
        """Append rows (parsed and checked: `checks.usable_submissions`); a later row of the
        same (student, assignment) replaces an earlier one."""
        lines = []
        for sub, raw in rows:
            self._last[(sub.student_id, sub.assignment_id)] = self._lines
            self._lines += 1
            lines.append(json.dumps(raw, separators=(",", ":")).encode() + b"\n")
        self._file.seek(0, 2)
        self._file.writelines(lines)

    def pairs(self) -> set[tuple[int, int]]:
        """(student id, assignment id) of every row kept."""
        return set(self._last)

    def __len__(self) -> int:
        return len(self._last)

    def __iter__(self) -> Iterator[tuple[Submission, dict[str, Any]]]:
        for batch in self.batches():
            yield from batch

    def batches(
        self, size: int | None = None
    ) -> Iterator[list[tuple[Submission, dict[str, Any]]]]:
        """The rows kept (the last of each pair), at most `size` (default `BATCH`) at a time,
        in file order."""
        size = size or BATCH
        kept = set(self._last.values())
        self._file.seek(0)
        batch: list[tuple[Submission, dict[str, Any]]] = []
        for number, line in enumerate(self._file):
            if number not in kept:
                continue
            raw = json.loads(line)
            batch.append((parse_submission(raw), raw))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def close(self) -> None:
        self._file.close()
