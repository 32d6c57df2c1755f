"""`push` holds the course's lock for its whole run (issue 11), on SQLite and PostgreSQL.

Two pushes at once (a TA's terminal and the daemon's push.auto, two clicks in the web app) would
otherwise plan the same changes and send them twice, posting a comment twice. A push that loses
the lock (PostgreSQL backend terminated, SQLite lease taken over) stops before its next write to
Canvas, and the next push settles what was sent, as after a crash.
"""

from __future__ import annotations

import dataclasses
import socket
import threading
from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
import test_push
from test_lock_loss import LOCK_BACKENDS, _terminate
from test_push import MARKER, assert_canvas_matches_policy, run_push, writes

from canvas_sync import service
from canvas_sync.errors import LockLost, LockTimeout
from canvas_sync.settings import Settings
from canvas_sync.simulator import TOTAL_ASSIGNMENT_ID, Simulator

# test_push.py's fixtures: a fresh simulator and a clone of a synced database of each kind.
sim = test_push.sim
baseline = test_push.baseline
settings = test_push.settings


class _Push:
    """A push in a thread; keeps its summary or what it raised."""

    def __init__(self, settings: Settings, hook: Callable[[str], None] | None = None) -> None:
        self.summary: service.PushSummary | None = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._run, args=(settings, hook), daemon=True)
        self.thread.start()

    def _run(self, settings: Settings, hook: Callable[[str], None] | None) -> None:
        try:
            self.summary = run_push(settings, hook=hook)
        except BaseException as exc:  # kept for the test to inspect
            self.error = exc

    def join(self) -> None:
        self.thread.join(timeout=120)
        assert not self.thread.is_alive(), "the push never finished"


def _assert_no_comment_twice(sim: Simulator) -> None:
    for (aid, uid), sub in sim.state.submissions.items():
        texts = [c.comment for c in sub.comments if c.comment.endswith(MARKER)]
        assert len(texts) == len(set(texts)), (aid, uid)
        if aid != TOTAL_ASSIGNMENT_ID:
            assert len(texts) <= 1, (aid, uid)


def test_two_pushes_at_once_send_each_change_once(sim: Simulator, settings: Settings) -> None:
    """The first push stops between planning and sending; a second is refused naming host:pid,
    a third waits for the course and then finds nothing left to send."""
    planned, go_on = threading.Event(), threading.Event()

    def pause(step: str) -> None:
        if step == "planned":
            planned.set()
            assert go_on.wait(timeout=60)

    first = _Push(settings, pause)
    assert planned.wait(timeout=60), first.error
    with pytest.raises(LockTimeout) as refused:
        run_push(dataclasses.replace(settings, lock_wait_seconds=0.3))
    holder = f"{socket.gethostname()}:"
    assert holder in str(refused.value) and "\n" not in str(refused.value)
    third = _Push(dataclasses.replace(settings, lock_wait_seconds=60.0))
    go_on.set()
    first.join()
    third.join()
    assert first.error is None and third.error is None, (first.error, third.error)
    assert first.summary is not None and first.summary.confirmed > 200
    assert third.summary is not None and third.summary.planned == 0
    posts = [p for m, p in writes(sim) if m == "POST" and p.endswith("/update_grades")]
    assert len(posts) == 1  # one course-level job: nobody sent the plan twice
    assert_canvas_matches_policy(sim, settings)
    _assert_no_comment_twice(sim)


def _lose_lock(url: str) -> None:
    """PostgreSQL: terminate the backend holding the advisory lock. SQLite: another process
    takes the lease over (what a takeover after an expired lease does to the row)."""
    if url.startswith("postgresql"):
        assert _terminate(url, LOCK_BACKENDS) == 1
        return
    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            taken = connection.execute(
                # ... and has since ended, its lease run out, so the next push may go ahead.
                sa.text(
                    "UPDATE sync_locks SET holder = 'other-host:1', "
                    "lease_until = '2000-01-01 00:00:00.000000'"
                )
            ).rowcount
    finally:
        engine.dispose()
    assert taken == 1


@pytest.mark.parametrize("stage", ["planned", "sent"])
def test_push_that_loses_its_lock_stops_before_its_next_write(
    sim: Simulator, settings: Settings, stage: str
) -> None:
    seen: dict[str, Any] = {}

    def lose(step: str) -> None:
        if step == stage and not seen:
            _lose_lock(settings.database_url)
            seen["writes"] = len(writes(sim))

    with pytest.raises(LockLost) as lost:
        run_push(settings, hook=lose)
    assert "lock" in str(lost.value) and "\n" not in str(lost.value)
    assert lost.value.exit_code == 1
    assert len(writes(sim)) == seen["writes"]  # nothing sent after the loss
    rerun = run_push(settings)
    assert rerun.failed == 0
    if stage == "sent":  # the job ran in Canvas: the journal settles it, nothing is resent
        assert rerun.reconciled.confirmed > 200 and rerun.planned == 0
    assert_canvas_matches_policy(sim, settings)
    _assert_no_comment_twice(sim)
    assert run_push(settings).planned == 0
