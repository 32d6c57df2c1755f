"""Apply a push plan: journal, send one course-level job, settle every outcome in the run.

One run, each journal step committed before the next starts (states: db/journal.py):

1. every action is journaled `planned`;
2. grade and total changes go in ONE course-level `update_grades` job (split only above
   JOB_BYTES of JSON), the column in one bulk request; rows are `sending` before the request
   goes out and `sent` with the Progress id when Canvas answers;
3. the Progress objects are polled together with backoff (completed, failed and canceled end
   the wait, app/models/progress.rb);
4. the written cells are read back (push/readback.py) and settled: `confirmed` when Canvas holds
   the value and the comment text; sent again, only what did not take effect and only while
   Canvas still holds the value the plan started from; `failed` when Canvas keeps refusing
   (after MAX_ROUNDS rounds, or twice for a cell whose job surely ran), each round logged.

Exactly one comment, whatever happens (the README says why this design). A comment travels in
the same job entry as its grade, and a job entry's effect is visible by reading the submission
back. A write whose answer was lost (lost response, 5xx, reset, timeout, or a SIGKILL between
the POST and the journal) may still sit in Canvas's queue and run later, so nothing it carried
is sent again until a *barrier* has run: a no-op course-level job (one student entry with no
grade and no comment, which `process_bulk_update` skips). canvas-lms runs a course's bulk
updates one at a time in queue order (app/models/submission.rb `queue_bulk_update`, n_strand
["submissions_bulk_update", course]), so when the barrier's Progress has ended, every earlier
job of the course has run and the read-back is the truth. The column has no comments and its
content is idempotent: it is simply sent again when missing.

`reconcile` (start of every push) settles what a killed push left open the same way: it waits
for the Progress ids it knows, runs a barrier when a request may have been sent unanswered, reads
back, and marks each open row `confirmed` or `superseded` (the fresh plan decides again).

No SQLAlchemy here: the journal is a `Journal` the service provides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from canvas_sync.canvas import CanvasClient
from canvas_sync.canvas.client import PROGRESS_END_STATES
from canvas_sync.db.journal import JournalEntry
from canvas_sync.errors import PushFailed
from canvas_sync.push._run import JOB_BYTES, ApplyResult, Journal, Run, cell, logger
from canvas_sync.push.plan import CellKey, PushAction, PushPlan, Target, same_value
from canvas_sync.push.readback import Keep

__all__ = [
    "JOB_BYTES",
    "MAX_ROUNDS",
    "ApplyResult",
    "Hook",
    "Journal",
    "Reconciled",
    "apply_plan",
    "reconcile",
]

#: Called with "planned", "sent", "waited", "confirmed" after each journal step (tests use it
#: to stop a push between states).
Hook = Callable[[str], None]
#: Send rounds per push: the first send, then resends of what did not take effect.
MAX_ROUNDS = 4


@dataclass(frozen=True)
class Reconciled:
    confirmed: int = 0
    superseded: int = 0
    fresh: tuple[dict[str, Any], ...] = ()


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
    max_rounds: int = MAX_ROUNDS,
    keep: Keep | None = None,
    journaled: Mapping[CellKey, int] | None = None,
) -> ApplyResult:
    """Journal, send, wait, read back and settle every action of `plan` (module docstring).

    `keep` takes the submission JSON read back as it arrives (else it is in `fresh`);
    `journaled`: the journal ids of every action by cell, when they are already `planned`."""
    step = hook or (lambda _name: None)
    run = Run(client, course_id, journal, column_id, timeout, poll_interval, keep)
    if journaled is None:
        ids = journal.planned(plan.actions)
    else:
        ids = [journaled[a.key] for a in plan.actions]
    cells = [cell(i, a) for i, a in zip(ids, plan.actions, strict=True)]
    step("planned")
    todo = [c for c in cells if c.graded or column_id is not None]
    for round_no in range(1, max_rounds + 1):
        run.result.rounds = round_no
        progresses = run.post(todo)
        step("sent")
        run.wait(progresses)
        step("waited")
        if run.uncertain:
            run.barrier(next(c for c in cells if c.graded))
        if run.uncertain:
            break  # not even a barrier answered: rows stay `sending` for the next push
        open_cells = [c for c in cells if c.state == "open"]
        if not open_cells:
            break
        todo = run.settle(open_cells, run.read(open_cells), last=round_no == max_rounds)
        if not todo:
            break
        logger.info(
            "event=push_round course=%s round=%s resend=%s comments=%s",
            course_id,
            round_no + 1,
            len(todo),
            sum(1 for c in todo if c.comment_left),
        )
    run.result.unresolved = sum(1 for c in cells if c.state in ("open", "unresolved"))
    for c in cells:
        if c.state != "confirmed":
            who = c.action.student_name or f"student {c.action.student_id}"
            what = c.action.label or c.action.target.value
            run.result.left.append(f"{what} for {who}: {c.answer or 'no answer from Canvas'}")
    step("confirmed")
    return run.result


def _action(entry: JournalEntry) -> PushAction:
    return PushAction(
        Target(entry.target),
        entry.student_id,
        entry.assignment_id,
        entry.from_value,
        entry.to_value or "",
        entry.comment,
        entry.reason,
    )


def reconcile(
    client: CanvasClient,
    course_id: int,
    journal: Journal,
    *,
    column_id: int | None,
    timeout: float = 120.0,
    poll_interval: float = 0.5,
    keep: Keep | None = None,
) -> Reconciled:
    """Settle rows an earlier push left `planned`/`sending`/`sent`, from Canvas's state.

    Canvas may still run the old job after the fresh plan sent its cells again, posting the
    comment twice; so the known Progress objects are waited for first, and a barrier job runs
    when a request may have reached Canvas without its answer being journaled.
    """
    entries = journal.open()
    if not entries:
        return Reconciled()
    run = Run(client, course_id, journal, column_id, timeout, poll_interval, keep)
    cells = [cell(e.id, _action(e)) for e in entries]
    known = sorted({e.progress_id for e in entries if e.progress_id is not None})
    done = run.wait([{"id": p, "workflow_state": "queued"} for p in known])
    for progress_id, answer in done.items():
        if answer.get("workflow_state") not in PROGRESS_END_STATES:
            raise PushFailed(
                f"Canvas is still running an earlier push (progress {progress_id}): "
                "run push again once it has finished."
            )
    maybe_sent = [
        c for e, c in zip(entries, cells, strict=True) if c.graded and e.state == "sending"
    ]
    if maybe_sent and not run.barrier(maybe_sent[0]):
        raise PushFailed(
            "Canvas did not confirm that an earlier push's update has run: run push again."
        )
    back = run.read(cells)
    outcomes = []
    for c in cells:
        seen = back.cells.get(c.action.key)
        holds = (
            seen is not None
            and same_value(seen.value, c.action.to_value)
            and not seen.excused
            and (not c.action.comment or c.action.comment in seen.comments)
        )
        outcomes.append(
            (c.id, "confirmed", "found in Canvas on reconcile")
            if holds
            else (c.id, "superseded", "not in Canvas on reconcile; planned again")
        )
    journal.finished(outcomes)
    confirmed = sum(1 for _, state, _ in outcomes if state == "confirmed")
    return Reconciled(confirmed, len(outcomes) - confirmed, back.raw)
