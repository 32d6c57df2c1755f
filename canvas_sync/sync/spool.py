"""The submission rows of one pull, kept on disk until the storing transaction reads them.

A first sync of a course of thousands of students pulls tens of thousands of rows, each with
its history, comments and rubric: held in memory as parsed values and raw JSON they cost
hundreds of megabytes. The pull instead writes each checked row as one JSON line to an
anonymous temporary file (private to the process, unlinked at once, so gone even if the
process is killed) and keeps in memory only the student and assignment of each line (the
overlap window and the since-queries send some rows twice: the last one of a pair wins).
Nothing here touches the database: a failed pull leaves it as the last good sync left it.
"""

from __future__ import annotations

import json
import tempfile
from array import array
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from canvas_sync.canvas import parse_submission
from canvas_sync.domain import Submission

__all__ = ["BATCH", "Spool"]

#: Rows handed out per batch when the spool is read back (`Spool.batches`).
BATCH = 1000
#: Starts a line json wrote (what orjson refuses: an integer past 64 bits, which orjson would
#: also read back as a float); every other line is orjson's, several times faster both ways.
_JSON_LINE = b"J"


def _line(raw: dict[str, Any]) -> bytes:
    try:
        return orjson.dumps(raw) + b"\n"  # orjson escapes every control character: one line
    except TypeError:
        return _JSON_LINE + json.dumps(raw, separators=(",", ":")).encode() + b"\n"


def _row(line: bytes) -> Any:
    if line.startswith(_JSON_LINE):
        return json.loads(line[1:])
    return orjson.loads(line)


class Spool:
    """Checked submission rows, one JSON line each, de-duplicated by (student, assignment).

    Per line only the student and assignment ids are kept, in two arrays of 64-bit integers
    (no Python object per row: 16 bytes a row, and nothing small and long-lived scattered
    among the chunks' freed objects); which line of a pair is the last one is worked out when
    the spool is read.
    """

    def __init__(self) -> None:
        self._file = tempfile.TemporaryFile()  # noqa: SIM115 (closed by `close`)
        self._students = array("q")
        self._assignments = array("q")

    def add(self, rows: Iterable[tuple[Submission, dict[str, Any]]]) -> None:
        """Append rows (parsed and checked: `checks.usable_submissions`); a later row of the
        same (student, assignment) replaces an earlier one."""
        self._file.seek(0, 2)
        for sub, raw in rows:
            self._students.append(sub.student_id)
            self._assignments.append(sub.assignment_id)
            self._file.write(_line(raw))

    def pairs(self) -> set[tuple[int, int]]:
        """(student id, assignment id) of every row kept."""
        return set(zip(self._students, self._assignments, strict=True))

    def __len__(self) -> int:
        return len(self.pairs())

    def _kept(self) -> bytearray:
        """Per line, 1 if it holds the last row of its pair."""
        kept = bytearray(len(self._students))
        seen: set[tuple[int, int]] = set()
        for number in range(len(kept) - 1, -1, -1):
            pair = (self._students[number], self._assignments[number])
            if pair not in seen:
                seen.add(pair)
                kept[number] = 1
        return kept

    def __iter__(self) -> Iterator[tuple[Submission, dict[str, Any]]]:
        for batch in self.batches():
            yield from batch

    def batches(self, size: int | None = None) -> Iterator[list[tuple[Submission, dict[str, Any]]]]:
        """The rows kept (the last of each pair), at most `size` (default `BATCH`) at a time,
        in file order."""
        size = size or BATCH
        kept = self._kept()
        self._file.flush()
        self._file.seek(0)
        batch: list[tuple[Submission, dict[str, Any]]] = []
        for number, line in enumerate(self._file):
            if not kept[number]:
                continue
            raw = _row(line)
            batch.append((parse_submission(raw), raw))
            if len(batch) >= size:
                yield batch
                batch = []
        if batch:
            yield batch

    def close(self) -> None:
        self._file.close()
