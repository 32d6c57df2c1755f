"""Apply a push plan: journal, send, wait, verify; and reconcile what a crash left (SPEC §4).

Order, each step committed by the journal before the next starts:

1. every action is journaled `planned`;
2. one bulk `update_grades` request per assignment (the total assignment too) and one bulk
   column-data request; the rows become `sent` with Canvas's Progress id;
3. each Progress is waited on (a `completed` one does not prove every row was written, and a
   `failed` one may still have written some: canvas-api.md §10.11);
4. the touched submissions (and column data) are re-read and each row becomes `confirmed` or
   `failed` with Canvas's answer.

After a crash at any point, `reconcile` (run at the start of every push) waits for Progress
objects still running, re-reads Canvas, and marks each open row `confirmed` (Canvas holds the
value, and with it the comment sent in the same request) or `superseded` (the fresh plan decides
again). Nothing is sent twice and no comment is posted twice.

No SQLAlchemy here: the journal is a `Journal` the service provides.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from canvas_sync.canvas import CanvasClient, parse_submission
from canvas_sync.db.journal import JournalEntry
from canvas_sync.errors import CanvasError, CanvasUnavailable, PushFailed
from canvas_sync.push.plan import PushAction, PushPlan, Target, canvas_value, same_value

__all__ = ["ApplyResult", "Hook", "Journal", "Reconciled", "apply_plan", "reconcile"]

#: Called with "planned", "sent", "waited", "confirmed" after each journal step (tests use it
#: to stop a push between states).
Hook = Callable[[str], None]


class Journal(Protocol):
    """The push journal, each call its own committed transaction."""

    def planned(self, actions: Sequence[PushAction]) -> list[int]: ...

    def sent(self, ids: Sequence[int], progress_id: int | None) -> None: ...

    def finished(self, outcomes: Sequence[tuple[int, str, str | None]]) -> None: ...

    def open(self) -> list[JournalEntry]: ...


@dataclass
class ApplyResult:
    sent: int = 0
    confirmed: int = 0
    failed: int = 0
    unresolved: int = 0  # sent, but Canvas's Progress did not finish in time
    comments: int = 0
    write_requests: int = 0
    progress_polls: int = 0
    problems: list[str] = field(default_factory=list)
    fresh: list[dict[str, Any]] = field(default_factory=list)  # re-read submission JSON


@dataclass(frozen=True)
class Reconciled:
    confirmed: int = 0
    superseded: int = 0
    fresh: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True)
class _Row:
    """A journal row being applied: its id and the action (or reconstructed entry)."""

    id: int
    target: Target
    student_id: int
    assignment_id: int | None
    to_value: str | None
    comment: str | None


def _grade_payload(action: PushAction) -> dict[str, str]:
    payload = {"posted_grade": action.to_value}
    if action.comment:
        payload["text_comment"] = action.comment
    return payload


class _Sender:
    """Sends one push's requests and counts them; the journal is updated after each."""

    def __init__(
        self,
        client: CanvasClient,
        course_id: int,
        journal: Journal,
        timeout: float,
        poll_interval: float,
    ) -> None:
        self.client, self.course_id, self.journal = client, course_id, journal
        self.timeout, self.poll_interval = timeout, poll_interval
        self.result = ApplyResult()

    def post_grades(self, assignment_id: int, rows: Sequence[tuple[int, PushAction]]) -> Any:
        data = {a.student_id: _grade_payload(a) for _, a in rows}
        return self._send(
            [i for i, _ in rows],
            lambda: self.client.bulk_update_grades(self.course_id, assignment_id, data),
        )

    def put_column(self, column_id: int, rows: Sequence[tuple[int, PushAction]]) -> Any:
        body = {
            "column_data": [
                {"column_id": column_id, "user_id": a.student_id, "content": a.to_value}
                for _, a in rows
            ]
        }
        path = f"/courses/{self.course_id}/custom_gradebook_column_data"
        return self._send([i for i, _ in rows], lambda: self.client.put(path, json=body))

    def _send(self, ids: list[int], call: Callable[[], Any]) -> Any:
        self.result.write_requests += 1
        try:
            progress = call()
        except CanvasUnavailable as exc:
            # Canvas may have queued it (a timeout after sending): leave the rows `planned`
            # for the next push to reconcile from Canvas's state instead of guessing.
            self.result.problems.append(str(exc))
            return None
        except CanvasError as exc:
            # A definite refusal (e.g. 400/422/403): nothing was queued.
            self.journal.finished([(i, "failed", str(exc)) for i in ids])
            self.result.failed += len(ids)
            self.result.problems.append(str(exc))
            return None
        progress_id = progress.get("id") if isinstance(progress, dict) else None
        self.journal.sent(ids, progress_id if isinstance(progress_id, int) else None)
        self.result.sent += len(ids)
        return progress

    def wait(self, progress: Any) -> str | None:
        """Wait for one Progress; returns None when completed, else why not ("timeout: ...")."""
        if not isinstance(progress, dict):
            return None  # e.g. a per-user column PUT answers the datum itself
        before = self.client.request_count
        try:
            self.client.wait_progress(
                progress, timeout=self.timeout, poll_interval=self.poll_interval
            )
            return None
        except PushFailed as exc:
            timed_out = " was still " in str(exc)  # wait_progress words a timeout so
            self.result.problems.append(str(exc))
            return ("timeout: " if timed_out else "") + str(exc)
        finally:
            self.result.progress_polls += self.client.request_count - before


def _read_cells(
    client: CanvasClient, course_id: int, rows: Iterable[_Row], column_id: int | None
) -> tuple[dict[tuple[Target, int, int | None], str | None], list[dict[str, Any]]]:
    """Canvas's current value of each row's cell (one chunked re-read), and the raw rows read."""
    rows = list(rows)
    graded = [r for r in rows if r.target is not Target.COLUMN and r.assignment_id is not None]
    assignments = sorted({r.assignment_id for r in graded if r.assignment_id is not None})
    students = sorted({r.student_id for r in graded})
    raw = client.student_submissions(course_id, assignments, students) if graded else []
    values: dict[tuple[Target, int, int | None], str | None] = {}
    subs = {(s.student_id, s.assignment_id): s for s in map(parse_submission, raw)}
    for r in graded:
        assert r.assignment_id is not None
        values[(r.target, r.student_id, r.assignment_id)] = canvas_value(
            subs.get((r.student_id, r.assignment_id))
        )
    if column_id is not None and any(r.target is Target.COLUMN for r in rows):
        data = {
            int(d["user_id"]): str(d.get("content") or "")
            for d in client.column_data(course_id, column_id)
        }
        for r in rows:
            if r.target is Target.COLUMN:
                values[(r.target, r.student_id, None)] = data.get(r.student_id)
    return values, raw


def _holds(values: dict[tuple[Target, int, int | None], str | None], row: _Row) -> bool:
    return same_value(values.get((row.target, row.student_id, row.assignment_id)), row.to_value)


def apply_plan(
    client: CanvasClient,
    course_id: int,
    plan: PushPlan,
    journal: Journal,
    *,
    column_id: int | None,
    timeout: float = 120.0,
    poll_interval: float = 0.5,
    hook: Hook | None = None,
) -> ApplyResult:
    """Journal, send, wait and verify every action of `plan` (SPEC §4)."""
    step = hook or (lambda _name: None)
    sender = _Sender(client, course_id, journal, timeout, poll_interval)
    ids = journal.planned(plan.actions)
    rows = list(zip(ids, plan.actions, strict=True))
    step("planned")
    pending: list[tuple[Any, list[tuple[int, PushAction]]]] = []
    for assignment_id in sorted(plan.by_assignment()):
        group = [
            (i, a)
            for i, a in rows
            if a.assignment_id == assignment_id and a.target is not Target.COLUMN
        ]
        pending.append((sender.post_grades(assignment_id, group), group))
    columns = [(i, a) for i, a in rows if a.target is Target.COLUMN]
    if columns and column_id is not None:
        pending.append((sender.put_column(column_id, columns), columns))
    step("sent")
    verify: list[tuple[int, PushAction, str | None]] = []
    for progress, group in pending:
        if progress is None:
            continue
        why = sender.wait(progress)
        if why is not None and why.startswith("timeout: "):
            sender.result.unresolved += len(group)  # left `sent`: the next push reconciles
            continue
        verify.extend((i, a, why) for i, a in group)
    step("waited")
    _verify(client, course_id, journal, verify, column_id, sender.result)
    step("confirmed")
    return sender.result


def _verify(
    client: CanvasClient,
    course_id: int,
    journal: Journal,
    verify: Sequence[tuple[int, PushAction, str | None]],
    column_id: int | None,
    result: ApplyResult,
) -> None:
    """Re-read the touched cells; confirmed when Canvas holds the value, else failed."""
    if not verify:
        return
    rows = [
        _Row(i, a.target, a.student_id, a.assignment_id, a.to_value, a.comment)
        for i, a, _ in verify
    ]
    values, raw = _read_cells(client, course_id, rows, column_id)
    result.fresh.extend(raw)
    outcomes: list[tuple[int, str, str | None]] = []
    for row, (_, _, why) in zip(rows, verify, strict=True):
        found = values.get((row.target, row.student_id, row.assignment_id))
        if _holds(values, row):
            outcomes.append((row.id, "confirmed", f"Canvas holds {found}"))
            result.confirmed += 1
            result.comments += 1 if row.comment else 0
        else:
            answer = f"Canvas holds {found or 'nothing'}, not {row.to_value}"
            outcomes.append((row.id, "failed", f"{answer}; {why}" if why else answer))
            result.failed += 1
    journal.finished(outcomes)


def reconcile(
    client: CanvasClient,
    course_id: int,
    journal: Journal,
    *,
    column_id: int | None,
    timeout: float = 120.0,
    poll_interval: float = 0.5,
) -> Reconciled:
    """Settle rows an earlier push left `planned`/`sent`, from Canvas's actual state (SPEC §4).

    A Progress still queued or running is waited for first: otherwise Canvas could apply the old
    request after the fresh plan sent it again, posting its comment twice.
    """
    entries = journal.open()
    if not entries:
        return Reconciled()
    sender = _Sender(client, course_id, journal, timeout, poll_interval)
    for progress_id in sorted({e.progress_id for e in entries if e.progress_id is not None}):
        why = sender.wait({"id": progress_id, "workflow_state": "queued"})
        if why is not None and why.startswith("timeout: "):
            raise PushFailed(
                f"Canvas is still running an earlier push (progress {progress_id}): "
                "run push again once it has finished."
            )
    rows = [
        _Row(e.id, Target(e.target), e.student_id, e.assignment_id, e.to_value, e.comment)
        for e in entries
    ]
    values, raw = _read_cells(client, course_id, rows, column_id)
    outcomes = [
        (r.id, "confirmed", "found in Canvas on reconcile")
        if _holds(values, r)
        else (r.id, "superseded", "not in Canvas on reconcile; planned again")
        for r in rows
    ]
    journal.finished(outcomes)
    confirmed = sum(1 for _, state, _ in outcomes if state == "confirmed")
    return Reconciled(confirmed, len(outcomes) - confirmed, tuple(raw))
