"""One push's machinery (push/apply.py says the protocol): cells, sending, waiting, settling."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import partial
from typing import Any, Protocol

from canvas_sync.canvas import CanvasClient, parse_time
from canvas_sync.canvas.client import PROGRESS_END_STATES
from canvas_sync.db.journal import JournalEntry
from canvas_sync.errors import CanvasError, CanvasUnavailable
from canvas_sync.push.plan import PushAction, Target, same_value
from canvas_sync.push.readback import Keep, ReadBack, Seen, read_cells

__all__ = ["JOB_BYTES", "ApplyResult", "Journal", "Run", "cell", "logger"]

logger = logging.getLogger("canvas_sync.push")
#: Barriers sent before a push gives up for this run. A barrier changes nothing, so a lost one
#: is simply sent again; against a Canvas failing a quarter of its writes, 3 attempts all fail
#: about once in 60 pushes that need one, 6 about once in 4,000.
BARRIER_ATTEMPTS = 6

#: Largest JSON body of one course-level job. nginx, in front of most Canvas installs, refuses
#: bodies above its default `client_max_body_size` of 1 MB (413). Measured on the CS 598 plan
#: (benchmarks/bench_push.py): a zero is ~31 bytes, a late zero with its comment ~314, a total
#: with its explanation ~2,130; 1,000 students' first push is 2.5 MB (3 jobs, polled together),
#: the 40-student demo 0.1 MB (one job).
JOB_BYTES = 900_000

#: How far before its job was queued a written cell's `graded_at` may read: Canvas's web
#: servers (which stamp the Progress) and job servers (which stamp the grade) keep their own
#: clocks. The same margin as the sync's overlap; a cell outside it is read again unfiltered.
CLOCK_MARGIN = timedelta(minutes=5)


class Journal(Protocol):
    """The push journal, each call its own committed transaction."""

    def planned(self, actions: Sequence[PushAction]) -> list[int]: ...

    def sending(self, ids: Sequence[int]) -> None: ...

    def sent(self, ids: Sequence[int], progress_id: int | None) -> None: ...

    def finished(self, outcomes: Sequence[tuple[int, str, str | None]]) -> None: ...

    def open(self) -> list[JournalEntry]: ...

    def writing(self) -> None:
        """Before a write to Canvas no journal step precedes (a barrier): raises when this push
        may no longer write (the service's journal: the course lock was lost)."""


@dataclass
class ApplyResult:
    sent: int = 0
    confirmed: int = 0
    failed: int = 0
    unresolved: int = 0  # sent, but Canvas's Progress did not finish in time
    comments: int = 0
    write_requests: int = 0
    progress_polls: int = 0
    read_requests: int = 0
    rounds: int = 0
    barriers: int = 0
    problems: list[str] = field(default_factory=list)
    left: list[str] = field(default_factory=list)  # "label for student: Canvas's answer"
    fresh: list[dict[str, Any]] = field(default_factory=list)  # read back (without `keep`)


@dataclass
class Cell:
    """One journal row in this run: what to write, and what is still to do."""

    id: int
    action: PushAction
    grade_left: bool = True
    comment_left: bool = False
    ran: int = 0  # jobs carrying it that Canvas surely ran (Progress ended)
    state: str = "open"  # open | confirmed | failed | unresolved
    answer: str | None = None

    @property
    def graded(self) -> bool:
        return self.action.target is not Target.COLUMN

    def payload(self) -> dict[str, str]:
        data: dict[str, str] = {}
        if self.grade_left:
            data["posted_grade"] = self.action.to_value
        if self.comment_left and self.action.comment:
            data["text_comment"] = self.action.comment
        return data


def cell(row_id: int, action: PushAction) -> Cell:
    return Cell(row_id, action, comment_left=bool(action.comment))


def _jobs(cells: Sequence[Cell]) -> list[list[Cell]]:
    """The cells in as few jobs as fit JOB_BYTES each (JSON size estimated per cell)."""
    jobs: list[list[Cell]] = [[]]
    size = 0
    for c in cells:
        cost = len(json.dumps({str(c.action.student_id): c.payload()})) + 16
        if jobs[-1] and size + cost > JOB_BYTES:
            jobs.append([])
            size = 0
        jobs[-1].append(c)
        size += cost
    return [j for j in jobs if j]


class Run:
    """Sends, waits and settles one push's cells; counts every request."""

    def __init__(
        self,
        client: CanvasClient,
        course_id: int,
        journal: Journal,
        column_id: int | None,
        timeout: float,
        poll_interval: float,
        keep: Keep | None = None,
    ) -> None:
        self.client, self.course_id, self.journal = client, course_id, journal
        self.column_id, self.timeout, self.poll_interval = column_id, timeout, poll_interval
        self.keep = keep  # takes the submission JSON read back, batch by batch
        self.result = ApplyResult()
        self.uncertain = False  # a grade job whose answer was lost may still be queued
        self.jobs: dict[int, list[Cell]] = {}
        self.sent_ids: set[int] = set()
        # When this run's first grade job was queued, by Canvas's clock; None once a grade job
        # went out without its Progress time (the read-back then reads every cell whole).
        self.queued_at: datetime | None = None
        self.queue_times_known = True

    # --- sending ---------------------------------------------------------------------------
    def post(self, cells: Sequence[Cell]) -> list[dict[str, Any]]:
        """Send the cells' grade job(s) and column request; returns the Progress answers.

        Every row carried is journaled `sending` in one transaction first; the requests then
        go out together (the client's `concurrency` at a time): Canvas queues each job on the
        course's strand whatever the order they arrive in."""
        sends: list[tuple[list[Cell], Callable[[], Any]]] = []
        for chunk in _jobs([c for c in cells if c.graded]):
            data: dict[int, dict[int, dict[str, str]]] = {}
            for c in chunk:
                assert c.action.assignment_id is not None
                data.setdefault(c.action.assignment_id, {})[c.action.student_id] = c.payload()
            sends.append(
                (chunk, partial(self.client.bulk_update_course_grades, self.course_id, data))
            )
        columns = [c for c in cells if not c.graded]
        if columns and self.column_id is not None:
            sends.append((columns, partial(self._put_column, columns)))
        if not sends:
            return []
        self.journal.sending([c.id for chunk, _ in sends for c in chunk])
        self.result.write_requests += len(sends)
        answers = self.client.together([call for _, call in sends])
        progresses = [
            self._answered(chunk, answer) for (chunk, _), answer in zip(sends, answers, strict=True)
        ]
        unexpected = [
            a for a in answers if isinstance(a, Exception) and not isinstance(a, CanvasError)
        ]
        if unexpected:
            raise unexpected[0]  # not Canvas's answer (a bug): its rows stay `sending`
        return [p for p in progresses if p is not None]

    def _put_column(self, cells: Sequence[Cell]) -> Any:
        body = {
            "column_data": [
                {
                    "column_id": self.column_id,
                    "user_id": c.action.student_id,
                    "content": c.action.to_value,
                }
                for c in cells
            ]
        }
        return self.client.put(f"/courses/{self.course_id}/custom_gradebook_column_data", json=body)

    def _answered(self, cells: Sequence[Cell], answer: Any) -> dict[str, Any] | None:
        """Journal what Canvas answered to the request carrying `cells` (already `sending`)."""
        ids = [c.id for c in cells]
        graded = any(c.graded for c in cells)
        if isinstance(answer, CanvasUnavailable):
            # Canvas may have queued it: nothing it carried is sent again before a barrier.
            self.uncertain = self.uncertain or graded
            self.queue_times_known = self.queue_times_known and not graded
            self._problem("write_unanswered", str(answer), cells=len(cells))
            return None
        if isinstance(answer, CanvasError):
            # A definite refusal (400/401/422): nothing was queued.
            for c in cells:
                c.state, c.answer = "failed", str(answer)
            self.journal.finished([(i, "failed", str(answer)) for i in ids])
            self.result.failed += len(cells)
            self._problem("write_refused", str(answer), cells=len(cells))
            return None
        if isinstance(answer, Exception):
            return None  # raised by `post` once every answer is journaled
        progress_id = answer.get("id") if isinstance(answer, dict) else None
        if graded:
            self._queued(answer)
        self.journal.sent(ids, progress_id if isinstance(progress_id, int) else None)
        self.sent_ids.update(ids)
        self.result.sent = len(self.sent_ids)  # cells, not sends: a resend counts once
        if isinstance(progress_id, int):
            self.jobs[progress_id] = list(cells)
            return dict(answer)
        return None  # e.g. a per-user column PUT answers the datum itself

    def _queued(self, progress: Any) -> None:
        """Note when Canvas queued a grade job (its Progress's `created_at`)."""
        try:
            at = parse_time(progress.get("created_at")) if isinstance(progress, dict) else None
        except (TypeError, ValueError, AttributeError):
            at = None
        if at is None:
            self.queue_times_known = False
        elif self.queued_at is None or at < self.queued_at:
            self.queued_at = at

    def _problem(self, event: str, text: str, **fields: object) -> None:
        self.result.problems.append(text)
        extra = " ".join(f"{k}={v}" for k, v in fields.items())
        logger.warning("event=push_%s course=%s %s reason=%r", event, self.course_id, extra, text)

    # --- waiting ---------------------------------------------------------------------------
    def wait(self, progresses: Sequence[dict[str, Any]]) -> dict[int, dict[str, Any]]:
        if not progresses:
            return {}
        before = self.client.request_count
        try:
            done = self.client.wait_progresses(
                progresses, timeout=self.timeout, poll_interval=self.poll_interval
            )
        finally:
            self.result.progress_polls += self.client.request_count - before
        for progress_id, answer in done.items():
            cells = self.jobs.pop(progress_id, [])
            state = answer.get("workflow_state")
            if state not in PROGRESS_END_STATES:
                self._problem(
                    "progress_timeout",
                    f"Canvas's bulk update (progress "
                    f"{progress_id}) was still {state} after {self.timeout:g} s",
                    cells=len(cells),
                )
                for c in cells:
                    c.state = "unresolved"  # left `sent`: its job may still run
                continue
            for c in cells:
                c.ran += state != "canceled"
                if state == "failed":
                    c.answer = str(answer.get("message") or "Canvas's job failed")
        return done

    def barrier(self, hint: Cell) -> bool:
        """Make sure every earlier job of the course has run (see the module docstring)."""
        assert hint.action.assignment_id is not None
        grade_data: dict[int, dict[int, dict[str, str]]] = {
            hint.action.assignment_id: {hint.action.student_id: {}}
        }
        for _ in range(BARRIER_ATTEMPTS):
            self.journal.writing()
            self.result.write_requests += 1
            self.result.barriers += 1
            try:
                progress = self.client.bulk_update_course_grades(self.course_id, grade_data)
            except CanvasUnavailable as exc:
                self._problem("barrier_unanswered", str(exc))
                continue  # a lost barrier changes nothing: send another
            except CanvasError as exc:
                self._problem("barrier_refused", str(exc))
                return False
            answer = self.wait([progress]).get(int(progress["id"]), progress)
            if answer.get("workflow_state") in PROGRESS_END_STATES:
                self.uncertain = False
                logger.info(
                    "event=push_barrier course=%s progress=%s", self.course_id, progress.get("id")
                )
                return True
            return False
        return False

    # --- settling --------------------------------------------------------------------------
    def read(self, cells: Sequence[Cell]) -> ReadBack:
        """Read back the cells: only rows graded since this run's jobs were queued when
        every grade job's Progress said when (push/readback.py reads the rest unfiltered)."""
        keys = [c.action.key for c in cells]
        since = None
        if self.queued_at is not None and self.queue_times_known:
            since = self.queued_at - CLOCK_MARGIN
        back = read_cells(
            self.client, self.course_id, keys, self.column_id, keep=self.keep, graded_since=since
        )
        self.result.read_requests += back.requests
        self.result.fresh.extend(back.raw)
        return back

    def settle(self, cells: Sequence[Cell], back: ReadBack, last: bool) -> list[Cell]:
        """Confirm what Canvas holds; return what to send again (premise still holding)."""
        outcomes: list[tuple[int, str, str | None]] = []
        again = []
        for c in cells:
            verdict = _verdict(c, back.cells.get(c.action.key), last)
            if verdict is None:
                again.append(c)
                continue
            c.state, c.answer = verdict
            outcomes.append((c.id, c.state, c.answer))
            if c.state == "confirmed":
                self.result.confirmed += 1
                self.result.comments += 1 if c.action.comment else 0
            else:
                self.result.failed += 1
        self.journal.finished(outcomes)
        return again


def _verdict(c: Cell, seen: Seen | None, last: bool) -> tuple[str, str] | None:
    """(state, answer) when settled, None when the cell should be sent again."""
    action = c.action
    if seen is None:
        return "failed", "Canvas returned no submission for this cell"
    holds = same_value(seen.value, action.to_value) and not seen.excused
    c.grade_left = not holds
    c.comment_left = bool(action.comment) and action.comment not in seen.comments
    if holds and not c.comment_left:
        return "confirmed", f"Canvas holds {seen.value}"
    premise = same_value(seen.value, action.from_value) and not seen.excused
    if not holds and not premise:
        shown = "excused" if seen.excused else (seen.value or "nothing")
        return "failed", f"changed in Canvas meanwhile: it holds {shown}; left alone"
    if last or c.ran >= 2:
        why = f"; {c.answer}" if c.answer else ""
        if holds:
            return "failed", f"Canvas holds {seen.value} but not the comment{why}"
        return "failed", f"Canvas holds {seen.value or 'nothing'}, not {action.to_value}{why}"
    return None
