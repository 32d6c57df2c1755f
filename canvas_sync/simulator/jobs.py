"""Canvas's job queue behind Progress objects: per-course strands run in order (canvas-api.md §7).

canvas-lms queues a bulk grade update with `progress.process_job(..., n_strand:
["submissions_bulk_update", context.global_id])` (app/models/submission.rb `queue_bulk_update`):
every bulk update of one course runs on one strand, one job at a time, in the order they were
queued; the POST only creates the Progress (`queued`). app/models/progress.rb knows the states
queued, running, waiting_for_external_tool, completed, failed, canceled; a canceled Progress's
job does not run (Progress#perform returns when the Progress is no longer queued/running).

Two modes, chosen by `job_delay`:

- `None` (default, deterministic for tests): jobs advance only when polled. A poll of a queued
  Progress first runs every earlier queued job of its strand (strand order holds even when a
  client never polled those), then its own job: queued → running (the writes land) → completed
  or failed, one step per poll.
- seconds (Canvas-like): a worker thread runs each strand's jobs in order, each no sooner than
  `job_delay` seconds after it was queued, whether anyone polls or not. `hold()` keeps every job
  queued until `release()` (tests use it to run a job only after a client restarted).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import datetime

from canvas_sync.simulator.records import Progress

__all__ = ["END_STATES", "JobQueue"]

END_STATES = ("completed", "failed", "canceled")


class JobQueue:
    """The Progress objects of one simulated Canvas and the strands that run their jobs."""

    def __init__(
        self,
        lock: threading.RLock,
        now: Callable[[], datetime],
        next_id: Callable[[], int],
        job_delay: float | None = None,
    ) -> None:
        self.lock, self.now, self._next_id = lock, now, next_id
        self.job_delay = job_delay
        self.progresses: dict[int, Progress] = {}
        self._queued_at: dict[int, float] = {}
        self._held = False
        self._stopping = False
        self._wake = threading.Condition(lock)
        self._worker: threading.Thread | None = None
        self.runs: list[int] = []  # Progress ids in the order their jobs ran (tests read it)

    def create(self, user_id: int, tag: str, job: Callable[[], str | None]) -> Progress:
        """Queue `job` on the strand `tag` and return its `queued` Progress."""
        with self.lock:
            now = self.now()
            progress = Progress(
                id=self._next_id(), user_id=user_id, tag=tag, created_at=now, updated_at=now
            )
            progress.job = job
            self.progresses[progress.id] = progress
            self._queued_at[progress.id] = time.monotonic()
            if self.job_delay is not None:
                self._ensure_worker()
                self._wake.notify_all()
            return progress

    def poll(self, progress_id: int) -> Progress | None:
        """`GET /progress/:id`: the Progress (advanced one step in poll mode), None if unknown."""
        with self.lock:
            progress = self.progresses.get(progress_id)
            if progress is None:
                return None
            progress.polls += 1
            if self.job_delay is not None:
                return progress
            progress.updated_at = self.now()
            if progress.workflow_state == "queued":
                for earlier in self._strand(progress.tag):
                    if earlier.id >= progress.id:
                        break
                    self._run(earlier, finish=True)
                self._run(progress, finish=False)
            elif progress.workflow_state == "running":
                self._finish(progress)
            return progress

    def cancel(self, progress_id: int) -> Progress:
        """Cancel a Progress still queued (as an admin or `POST /progress/:id/cancel` would)."""
        with self.lock:
            progress = self.progresses[progress_id]
            if progress.workflow_state == "queued":
                progress.workflow_state, progress.job = "canceled", None
                progress.updated_at = self.now()
            return progress

    def hold(self) -> None:
        """Keep every job queued (background mode) until `release()`."""
        with self.lock:
            self._held = True

    def release(self) -> None:
        with self.lock:
            self._held = False
            self._wake.notify_all()

    def stop(self) -> None:
        """End the background worker (the simulator stops); queued jobs stay queued."""
        with self.lock:
            self._stopping = True
            self._wake.notify_all()
            worker = self._worker
        if worker is not None:
            worker.join(timeout=5)
        self._worker = None

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait (background mode) until no job is queued or running; True when drained."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if not any(p.workflow_state in ("queued", "running") for p in self._pending()):
                    return True
            time.sleep(0.01)
        return False

    # ----------------------------------------------------------------- internals
    def _pending(self) -> list[Progress]:
        return [p for p in self.progresses.values() if p.workflow_state not in END_STATES]

    def _strand(self, tag: str) -> list[Progress]:
        return sorted(
            (p for p in self.progresses.values() if p.tag == tag and p.workflow_state == "queued"),
            key=lambda p: p.id,
        )

    def _run(self, progress: Progress, *, finish: bool) -> None:
        progress.failure = progress.job() if progress.job else None
        progress.job = None
        progress.workflow_state, progress.completion = "running", 50.0
        progress.updated_at = self.now()
        self.runs.append(progress.id)
        if finish:
            self._finish(progress)

    def _finish(self, progress: Progress) -> None:
        if progress.failure:
            progress.workflow_state, progress.message = "failed", progress.failure
        else:
            progress.workflow_state, progress.completion = "completed", 100.0
        progress.updated_at = self.now()

    def _ensure_worker(self) -> None:
        self._stopping = False
        if self._worker is None or not self._worker.is_alive():
            self._worker = threading.Thread(target=self._work, name="canvas-jobs", daemon=True)
            self._worker.start()

    def _next_due(self) -> tuple[Progress | None, float]:
        """The first queued job of each strand that may run now, else how long to wait."""
        wait = 0.5
        for tag in sorted({p.tag for p in self._pending()}):
            strand = self._strand(tag)
            if not strand:
                continue
            first = strand[0]
            due = self._queued_at[first.id] + (self.job_delay or 0.0) - time.monotonic()
            if due <= 0 and not self._held:
                return first, 0.0
            wait = min(wait, max(due, 0.01))
        return None, wait

    def _work(self) -> None:
        with self.lock:
            while not self._stopping:
                job, wait = self._next_due()
                if job is None:
                    self._wake.wait(wait)
                    continue
                self._run(job, finish=True)
