"""The push's I/O helpers: the journal on the database, storing what was read back, the
pre-write re-read and the reconcile step (service/pushing.py runs them in order)."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

from canvas_sync.canvas import CanvasClient, parse_submission
from canvas_sync.db import Database, Session, repo
from canvas_sync.db import journal as jr
from canvas_sync.db.locks import LockHandle
from canvas_sync.db.raws import submission_raws
from canvas_sync.domain import Submission
from canvas_sync.push import PushAction, PushPlan, Reconciled, Target, reconcile
from canvas_sync.push.plan import CellKey
from canvas_sync.push.premise import Rechecked, recheck
from canvas_sync.push.readback import CHECK_FIELDS, read_cells
from canvas_sync.service.targets import Targets
from canvas_sync.settings import Settings
from canvas_sync.sync.checks import PARSE_ERRORS, usable_read
from canvas_sync.sync.pull import OVERLAP

__all__ = [
    "ADVANCE_WINDOW",
    "DbJournal",
    "EarlyRead",
    "FreshRows",
    "dropped_line",
    "journaled_recheck",
    "recheck_plan",
    "reconcile_open",
]

Clock = Callable[[], datetime]
#: A push that ends within this time of its own sync may move the watermarks (sync/pull.py
#: asks again OVERLAP before each watermark, so nothing changed after that sync is skipped).
ADVANCE_WINDOW = OVERLAP - timedelta(minutes=1)
logger = logging.getLogger("canvas_sync.push")


class DbJournal:
    """`push.Journal` on the database: every call is its own committed transaction.

    With the course's `lock`, each transaction first confirms it still holds the course
    (`LockHandle.confirm`, raising `LockLost`). Every grade job and column request is preceded
    by its `sending` transaction, and a barrier job by `writing`, so a push that lost the lock
    stops before its next write to Canvas, with the journal as a crash would leave it (the next
    push's reconcile settles it)."""

    def __init__(
        self,
        database: Database,
        course_id: int,
        push_id: str,
        now: Clock,
        lock: LockHandle | None = None,
    ) -> None:
        self.database, self.course_id, self.push_id, self.now = database, course_id, push_id, now
        self.lock = lock

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        with self.database.transaction() as session:
            if self.lock is not None:
                self.lock.confirm(session)
            yield session

    def planned(self, actions: Sequence[PushAction]) -> list[int]:
        specs = [_spec(a) for a in actions]
        with self._transaction() as session:
            return jr.add_changes(session, self.course_id, self.push_id, specs, self.now())

    def sending(self, ids: Sequence[int]) -> None:
        with self._transaction() as session:
            jr.mark_sending(session, ids, self.now())

    def sent(self, ids: Sequence[int], progress_id: int | None) -> None:
        with self._transaction() as session:
            jr.mark_sent(session, ids, progress_id, self.now())

    def finished(self, outcomes: Sequence[tuple[int, str, str | None]]) -> None:
        with self._transaction() as session:
            jr.finish(session, outcomes, self.now())

    def open(self) -> list[jr.JournalEntry]:
        with self._transaction() as session:
            return jr.open_changes(session, self.course_id)

    def writing(self) -> None:
        if self.lock is not None:
            self.lock.check()


def _spec(action: PushAction) -> jr.ChangeSpec:
    return jr.ChangeSpec(
        action.target.value,
        action.student_id,
        action.assignment_id,
        action.from_value,
        action.to_value,
        action.comment,
        action.reason,
    )


class FreshRows:
    """Keeps the database equal to Canvas after a push, so the next plan starts from the truth:
    stores each batch of submission JSON the read-back reads, as it arrives (`push.Keep`), in a
    transaction of its own while the next requests are under way.

    The read-back asks only for CHECK_FIELDS and the comments (push/readback.py), so each row
    read is laid over its stored row's JSON: every attribute read replaces the stored one, the
    rest (history, rubric) is kept. A grade written through the bulk update changes neither:
    the attempts and their submission times are the submitter's, the rubric the grader's. A
    row with none stored is stored as read, one resubmitted meanwhile not at all (the next
    sync stores both whole). An unusable record is left out; the next sync reports it.
    """

    def __init__(self, database: Database, course_id: int) -> None:
        self.database, self.course_id = database, course_id
        self.submitted: datetime | None = None
        self.graded: datetime | None = None

    def __call__(self, read: list[tuple[Submission, dict[str, Any]]]) -> None:
        # An unusable record is left out (the next sync reports it); the last read of a row wins.
        rows = {sub.id: (sub, row) for sub, row in usable_read(read)}
        if not rows:
            return
        with self.database.transaction() as session:
            stored = submission_raws(session, self.course_id, list(rows))
            overlaid, whole = _over_stored(stored, rows.values())
            repo.overlay_submissions(session, self.course_id, overlaid)
            repo.save_submissions(session, self.course_id, whole, stored)
        written = [sub for sub, _ in (*overlaid, *whole)]
        self.submitted = _newest(self.submitted, (s.submitted_at for s in written))
        self.graded = _newest(self.graded, (s.graded_at for s in written))

    def advance(self) -> None:
        """Move the watermarks to the newest row stored, when the push finished within
        ADVANCE_WINDOW of its own incremental sync (which saw every row Canvas changed before
        it ran): the next sync then asks only for what changed since the push's writes, minus
        the overlap."""
        if self.submitted is None and self.graded is None:
            return
        with self.database.transaction() as session:
            course = repo.load_course_row(session, self.course_id)
            if course is not None:
                repo.set_watermarks(
                    session,
                    self.course_id,
                    _newest(course.submitted_watermark, (self.submitted,)),
                    _newest(course.graded_watermark, (self.graded,)),
                    None,
                )


#: The fields a row read back must carry for its Submission, parsed from it alone, to give
#: every column `repo.overlay_submissions` writes.
_OVERLAY_FIELDS = frozenset(CHECK_FIELDS) | {"submission_comments"}


def _over_stored(
    stored: Mapping[int, Any], rows: Iterable[tuple[Submission, dict[str, Any]]]
) -> tuple[list[tuple[Submission, dict[str, Any]]], list[tuple[Submission, dict[str, Any]]]]:
    """(rows to overlay, rows to store whole): each row read laid over its stored JSON
    (`stored`, by id), the history and rubric staying the stored ones.

    A row that carries every field of _OVERLAY_FIELDS is overlaid: its columns come from the
    Submission parsed from what was read, with no parse of the merged JSON. Else the merged
    JSON is parsed and stored whole. A row with none stored is stored as read.

    A row whose attempt changed since it was stored (the student submitted meanwhile) is left
    as stored: its history would lack the new attempt. Its new `submitted_at` is past the
    stored watermark, so the next sync pulls it whole. A row Canvas sends exactly as stored
    (a cell the push did not write, read with the ones it did) is left out: nothing to write.
    """
    overlaid: list[tuple[Submission, dict[str, Any]]] = []
    whole: list[tuple[Submission, dict[str, Any]]] = []
    for sub, row in rows:
        old = stored.get(sub.id)
        if not isinstance(old, dict):
            whole.append((sub, row))
        elif all(old.get(k) == v for k, v in row.items()):
            continue
        elif all(old.get(k) == row.get(k) for k in ("attempt", "submitted_at")):
            merged = {**old, **row}
            if row.keys() >= _OVERLAY_FIELDS:
                overlaid.append((sub, merged))
                continue
            try:
                whole.append((parse_submission(merged), merged))
            except PARSE_ERRORS:
                continue
    return overlaid, whole


def _newest(old: datetime | None, found: Iterable[datetime | None]) -> datetime | None:
    values = [v for v in (old, *found) if v is not None]
    return max(values) if values else None


def reconcile_open(
    settings: Settings,
    database: Database,
    http: CanvasClient,
    journal: DbJournal,
    targets: Targets,
    poll_interval: float,
) -> Reconciled:
    """Settle what an earlier, interrupted push left open, from Canvas's state (SPEC §4)."""
    return reconcile(
        http,
        settings.course_id,
        journal,
        column_id=targets.column_id,
        timeout=settings.progress_timeout,
        poll_interval=poll_interval,
        keep=FreshRows(database, settings.course_id),
    )


#: The oldest an early re-read may be when the write begins; older (a caller's `confirm` took
#: its time), every cell is read again.
EARLY_MAX_AGE = 10.0


def _reread(http: CanvasClient, course_id: int, keys: Sequence[CellKey]) -> list[Submission]:
    """The rows of these cells as Canvas holds them now, read bare (no history or comments: a
    third of the bytes) and parsed as each request's rows arrive (the JSON of tens of
    thousands of cells is not held)."""
    fresh: list[Submission] = []
    read_cells(http, course_id, keys, None, comments=False, parsed=fresh.extend)
    return fresh


class EarlyRead:
    """The pre-write re-read, begun while push's sync is still evaluating the course: each
    batch's changing cells (`_push_plan.batch_keys`) are read in a thread as soon as the
    batch is evaluated, so Canvas's answers come while the rest of the course is evaluated
    and planned, instead of after. Every read starts after the sync's pull has ended, so it
    sees what changed since then, as the re-read after the plan did.

    Keys are read a request's worth of students at a time, `concurrency` reads at once (the
    rest waits for the next batch, or `flush`), so reading early costs no more requests than
    reading at once. With the first changing cell, the custom column's data is read too (the
    plan reads it when it plans a column change, push/_push_plan.py). `finish` gives
    what was read; the cells of the final plan it lacks are read then, and every cell is read
    again when the early reads are older than EARLY_MAX_AGE.
    """

    def __init__(self, http: CanvasClient, course_id: int, column_id: int | None = None) -> None:
        self.http, self.course_id, self.column_id = http, course_id, column_id
        self._column: Future[list[dict[str, Any]]] | None = None
        # A read a request: the client's slots stay busy while the course is evaluated.
        self._pool = ThreadPoolExecutor(
            max_workers=http.concurrency, thread_name_prefix="canvas-sync-reread"
        )
        self._waiting: dict[int, list[CellKey]] = {}  # by student, not yet asked for
        self._reads: list[tuple[list[CellKey], Future[list[Submission]]]] = []
        self._first: float | None = None

    def add(self, keys: Iterable[CellKey]) -> None:
        for key in keys:
            self._waiting.setdefault(key[1], []).append(key)
        if self._waiting and self._column is None and self.column_id is not None:
            # A grade changes, so the column (the counted readings) likely does: its pages,
            # which follow one another, are read now too, not once the plan asks for them.
            read = self.http.column_data
            self._column = self._pool.submit(read, self.course_id, self.column_id)
        assignments = {k[2] for waiting in self._waiting.values() for k in waiting}
        per_request = self.http.grouped_students(len(assignments), trimmed=True)
        students = sorted(self._waiting)
        for start in range(0, len(students) - per_request + 1, per_request):
            chunk = students[start : start + per_request]
            self._read([k for student in chunk for k in self._waiting.pop(student)])

    def flush(self) -> None:
        """Read what waits for more students (the course is evaluated: none will come)."""
        if self._waiting:
            self._read([k for student in sorted(self._waiting) for k in self._waiting[student]])
            self._waiting.clear()

    def _read(self, keys: list[CellKey]) -> None:
        if self._first is None:
            self._first = time.monotonic()
        self._reads.append((keys, self._pool.submit(_reread, self.http, self.course_id, keys)))

    def column_data(self) -> list[dict[str, Any]] | None:
        """The column's data read early, once read; None when it was not (or the read failed)."""
        if self._column is None or self._column.cancelled() or self._column.exception():
            return None
        return self._column.result()

    def finish(self) -> tuple[set[CellKey], list[Submission]]:
        """(the cells read, their rows): once every early read has ended. A read that failed
        reads none (its cells are read again, and fail there if Canvas still cannot answer)."""
        self._pool.shutdown(wait=True)
        read: set[CellKey] = set()
        rows: list[Submission] = []
        if self._first is not None and time.monotonic() - self._first > EARLY_MAX_AGE:
            logger.info("event=push_reread_all course=%s reason=early_read_too_old", self.course_id)
            return read, rows
        for keys, future in self._reads:
            if future.exception() is None:
                read.update(keys)
                rows.extend(future.result())
        return read, rows

    def close(self) -> None:
        """Stop asking (a push that ends before its write): the reads under way end first."""
        self._pool.shutdown(wait=True, cancel_futures=True)


def recheck_plan(
    database: Database,
    http: CanvasClient,
    course_id: int,
    targets: Targets,
    plan: PushPlan,
    cells: dict[tuple[int, int], Submission],
    early: EarlyRead | None = None,
) -> Rechecked:
    """Re-read every cell about to be written; drop the changes whose premise no longer holds.

    The rows are not stored: the read-back after the write stores what it read, and the next
    sync stores any dropped cell. With `early`, the cells it has read are not read again.
    """
    keys = [a.key for a in plan.actions if a.target is not Target.COLUMN]
    read, fresh = early.finish() if early is not None else (set(), [])
    rest = [k for k in keys if k not in read]
    if rest:
        fresh += _reread(http, course_id, rest)
    checked = recheck(plan, cells, fresh)
    for action, why in checked.dropped:
        logger.info(
            "event=push_dropped course=%s student=%s assignment=%s target=%s reason=%r",
            course_id,
            action.student_id,
            action.assignment_id,
            action.target.value,
            why,
        )
    return checked


def journaled_recheck(
    database: Database,
    http: CanvasClient,
    course_id: int,
    targets: Targets,
    plan: PushPlan,
    cells: dict[tuple[int, int], Submission],
    journal: DbJournal,
    early: EarlyRead | None = None,
) -> tuple[Rechecked, dict[CellKey, int]]:
    """`recheck_plan`, with every planned change journaled `planned` meanwhile (in a thread of
    its own: the re-read mostly waits on Canvas, and a first push of a large course journals
    thousands of rows); the checked plan and its journal ids by cell.

    A change the re-read drops is journaled `superseded` (never sent; the next plan decides
    again from the new state), and so is every change when the re-read fails: nothing stays
    `planned` for the next push to settle."""
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="canvas-sync-journal") as pool:
        journaled = pool.submit(journal.planned, plan.actions)
        try:
            checked = recheck_plan(database, http, course_id, targets, plan, cells, early)
        except BaseException as exc:
            if journaled.exception() is None:
                why = f"not sent: the re-read before the write failed ({type(exc).__name__})"
                journal.finished([(i, "superseded", why) for i in journaled.result()])
            raise
        ids = dict(zip((a.key for a in plan.actions), journaled.result(), strict=True))
    if checked.dropped:
        journal.finished(
            [(ids[a.key], "superseded", f"not sent: {why}") for a, why in checked.dropped]
        )
    return checked, {a.key: ids[a.key] for a in checked.plan.actions}


def dropped_line(action: PushAction, why: str) -> str:
    who = action.student_name or f"student {action.student_id}"
    return f"{action.label or action.target.value} for {who}: {why}"
