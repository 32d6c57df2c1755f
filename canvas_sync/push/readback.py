"""Read back from Canvas exactly the cells a push is about to write or has written (batched).

`students/submissions` takes a list of assignments and at most 100 students per request and
answers their cross product, so cells are grouped: an assignment touching many students (the
total assignment, a reading zeroed for half the class) is read on its own and the sparse rest
together (their assignments x the union of their students), or, when that takes less time
and the throttle budget has room for its extra rows, every touched assignment x every touched
student at once (a first push, which touches most of the class: 10 requests instead of 77 at
1,000 students, benchmarks/bench_push.py, but 20,000 rows instead of 6,500, which Canvas
charges for: without the room, the client would wait for the bucket to drain). The custom
column is one paged `column_data` read.

Every read asks only for CHECK_FIELDS (`response_fields[]`): no history and no rubric, a
fraction of the bytes; the read-back after a write adds the comments (`include[]` blocks are
not trimmed by `response_fields[]`), which it needs to confirm a comment landed.

The read-back after a write may also ask only for rows graded since the push's jobs were
queued (`graded_since`, which Canvas applies to these reads: submissions_api_controller.rb
`for_students`): a written grade moves `graded_at` (app/models/submission.rb), so Canvas
renders the written cells and not the thousands read beside them. A wanted cell that answer
leaves out is unknown, not unwritten: it is read again without the filter.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from canvas_sync.canvas import CanvasClient, parse_submission
from canvas_sync.domain import Submission
from canvas_sync.push.plan import CellKey, Target, canvas_value
from canvas_sync.sync.checks import PARSE_ERRORS

__all__ = ["CHECK_FIELDS", "DENSE", "Keep", "ReadBack", "Seen", "read_cells"]

#: An assignment with more touched students than this is read on its own.
DENSE = 50
#: The attributes every read asks for (`response_fields[]`, canvas-lms lib/api/v1/
#: submission.rb): the ids, the value, and every premise of push/premise.py.
CHECK_FIELDS = (
    "id",
    "user_id",
    "assignment_id",
    "score",
    "grade",
    "entered_score",
    "entered_grade",
    "excused",
    "attempt",
    "submitted_at",
    "cached_due_date",
    "workflow_state",
    "grader_id",
    "graded_at",
    "late_policy_status",
    "custom_grade_status_id",
    "late",
    "missing",
    "seconds_late",
)


#: Takes each batch of rows as it is read, parsed and as sent (the service stores it as it
#: arrives).
Keep = Callable[[list[tuple[Submission, dict[str, Any]]]], None]


@dataclass(frozen=True)
class Seen:
    """What Canvas holds in one cell: the grade as text, excusal, the comment texts on it."""

    value: str | None
    excused: bool = False
    comments: tuple[str, ...] = ()


@dataclass(frozen=True)
class ReadBack:
    cells: dict[CellKey, Seen]
    raw: tuple[dict[str, Any], ...]  # the submission JSON read (none when given to `keep`)
    requests: int = 0


#: Rows handed to `keep` at once: each hand-over is a transaction of its own, and fewer, larger
#: ones cost less than one per request (a commit of 100 rows took ~11 ms on SQLite), while the
#: rows held stay a few requests' worth.
KEEP_ROWS = 300

#: Rows a request is worth when reading CHECK_FIELDS: as much time goes into one more request
#: as into this many more rows (measured on the simulator at 1,000 students, with and without
#: the comments: a push's reading cells carry few, and its totals' are all asked for anyway).
ROWS_PER_REQUEST = 400
#: Throttle units a row read costs: Canvas charges a request its CPU and database seconds
#: (app/middleware/request_throttle.rb), which grow with the rows it renders; the simulator
#: charges a unit per 100 (canvas_sync/simulator/server.py), a request at least one.
UNITS_PER_ROW = 0.01


def _groups(
    keys: Iterable[CellKey],
    per_request: Callable[[int], int],
    headroom: float,
    *,
    filtered: bool = False,
) -> list[tuple[list[int], list[int]]]:
    """(assignment ids, student ids) per `students/submissions` read (`per_request(n)`: the
    students one grouped request takes for n assignments).

    Each dense assignment is read on its own and the sparse rest together, or the cross
    product of every touched assignment and student instead when that costs less, counting
    the rows not asked for (a push touching most of the class, where the total assignment
    alone touches everyone, takes a few requests instead of one per assignment), and its
    throttle units fit in `headroom` (else waiting for the bucket costs more than it saves).
    `filtered`: the reads ask only for rows graded since the write, so Canvas renders about
    the wanted cells whatever the groups, not their cross product."""
    students: dict[int, set[int]] = {}
    for target, student_id, assignment_id in keys:
        if target is not Target.COLUMN and assignment_id is not None:
            students.setdefault(assignment_id, set()).add(student_id)
    if not students:
        return []
    dense = [a for a, s in students.items() if len(s) > DENSE]
    sparse = sorted(a for a in students if a not in dense)
    split = [([a], sorted(students[a])) for a in sorted(dense)]
    if sparse:
        split.append((sparse, sorted(set().union(*(students[a] for a in sparse)))))
    whole = [(sorted(students), sorted(set().union(*students.values())))]

    def rendered(ids: list[int], people: list[int]) -> int:
        """Rows Canvas renders for one request of these assignments and students."""
        if not filtered:
            return len(ids) * len(people)
        chunk = set(people)
        return sum(len(students[a] & chunk) for a in ids)

    def chunks(groups: list[tuple[list[int], list[int]]]) -> Iterable[tuple[list[int], list[int]]]:
        for ids, people in groups:
            size = per_request(len(ids))
            for start in range(0, len(people), size):
                yield ids, people[start : start + size]

    def cost(groups: list[tuple[list[int], list[int]]]) -> float:
        requests = list(chunks(groups))
        return len(requests) + sum(rendered(*c) for c in requests) / ROWS_PER_REQUEST

    def units(groups: list[tuple[list[int], list[int]]]) -> float:
        return sum(max(1.0, rendered(*c) * UNITS_PER_ROW) for c in chunks(groups))

    cheaper = cost(whole) < cost(split)
    return whole if cheaper and units(whole) <= headroom else split


def _row_key(row: dict[str, Any]) -> tuple[int, int] | None:
    """(student, assignment) of a row as Canvas sends them (ids as numbers or strings)."""
    try:
        return int(row["user_id"]), int(row["assignment_id"])
    except (KeyError, TypeError, ValueError):
        return None  # parse_submission says what is wrong with it


def _see(
    rows: Iterable[dict[str, Any]], wanted: set[CellKey], cells: dict[CellKey, Seen]
) -> list[tuple[Submission, dict[str, Any]]]:
    """Add what each row shows of the wanted cells to `cells`; the wanted cells' rows, parsed.

    A row is parsed only when it is wanted: a cross-product read returns many that are not."""
    asked = []
    for row in rows:
        ids = _row_key(row)
        if ids is not None and not any((t, *ids) in wanted for t in (Target.GRADE, Target.TOTAL)):
            continue
        try:
            sub = parse_submission(row)
        except PARSE_ERRORS:
            continue  # unusable: the cell is not seen (the next sync reports the record)
        seen = Seen(canvas_value(sub), sub.excused, tuple(c.comment for c in sub.comments))
        found = False
        for target in (Target.GRADE, Target.TOTAL):
            key: CellKey = (target, sub.student_id, sub.assignment_id)
            if key in wanted:
                cells[key] = seen
                found = True
        if found:
            asked.append((sub, row))
    return asked


def read_cells(
    client: CanvasClient,
    course_id: int,
    keys: Iterable[CellKey],
    column_id: int | None,
    *,
    comments: bool = True,
    keep: Keep | None = None,
    parsed: Callable[[list[Submission]], None] | None = None,
    graded_since: datetime | None = None,
) -> ReadBack:
    """Canvas's current state of each cell in `keys`; a cell Canvas did not return is absent.

    Rows carry CHECK_FIELDS, and their comments unless `comments` is False (the re-read before
    a write compares no comment). The groups' requests share the client's concurrency. With
    `keep`, the rows go to it as they arrive (each parsed, with its JSON), KEEP_ROWS or more at
    a time (while the next ones are fetched), instead of into `ReadBack.raw`; with `parsed`,
    each request's rows go to it parsed (and are not kept). With `graded_since`, rows graded
    after it are asked for first, then every wanted cell that answer left out, without the
    filter.
    """
    keys = list(keys)
    before = client.request_count

    def per_request(assignments: int) -> int:
        return client.grouped_students(assignments, trimmed=True)

    include = ("submission_comments",) if comments else ()
    column = any(k[0] is Target.COLUMN for k in keys)
    raw: list[dict[str, Any]] = []
    kept: list[tuple[Submission, dict[str, Any]]] = []
    cells: dict[CellKey, Seen] = {}

    def read(cell_keys: list[CellKey], since: datetime | None) -> None:
        nonlocal kept
        asked_for = set(cell_keys)
        groups: list[tuple[list[int], list[int] | None]] = list(
            _groups(cell_keys, per_request, client.throttle.headroom(), filtered=since is not None)
        )
        batches = client.submission_batches(
            course_id, groups, include=include, fields=CHECK_FIELDS, graded_since=since
        )
        for batch in batches:
            # A read of every touched assignment x student also returns cells not asked for:
            # only the asked ones are seen, stored and handed on.
            asked = _see(batch, asked_for, cells)
            if parsed is not None:
                parsed([sub for sub, _ in asked])
            elif keep is None:
                raw.extend(row for _, row in asked)
            else:
                kept.extend(asked)
                if len(kept) >= KEEP_ROWS:
                    keep(kept)
                    kept = []

    with ThreadPoolExecutor(max_workers=1) as pool:
        # The column's pages follow one another (each names the next): they are read beside
        # the submissions, not after them, sharing the client's `concurrency` slots.
        data = (
            pool.submit(client.column_data, course_id, column_id)
            if column and column_id is not None
            else None
        )
        read(keys, graded_since)
        if graded_since is not None:
            unseen = [k for k in keys if k[0] is not Target.COLUMN and k not in cells]
            if unseen:
                read(unseen, None)
        if keep is not None and kept:
            keep(kept)
        entries = [] if data is None else data.result()
    if data is not None:
        contents = {int(d["user_id"]): str(d.get("content") or "") for d in entries}
        for key in keys:
            if key[0] is Target.COLUMN:
                cells[key] = Seen(contents.get(key[1]))
    return ReadBack(cells, tuple(raw), client.request_count - before)
