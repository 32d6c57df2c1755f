"""`canvas-sync daemon`: APScheduler 3.x in the foreground (SPEC §9). Only `scheduler/` imports it.

Per course: an interval sync (first one a second after start), one sync `after_due_minutes` after
each distinct effective due instant (re-planned after every sync, since extensions move them),
and a short poll job that claims `canvas-sync trigger` requests from the database. Coalescing,
one instance per job and a misfire grace keep a sleeping laptop or a long sync from piling runs
up. SIGTERM/SIGINT: stop scheduling, let a running sync reach its next step (where it rolls back
and is recorded `interrupted`), and exit 0 within 10 s whatever happens.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from types import FrameType
from typing import Any

# APScheduler 3.x ships no type information.
from apscheduler.executors.pool import ThreadPoolExecutor  # type: ignore[import-untyped]
from apscheduler.schedulers.background import (  # type: ignore[import-untyped]
    BackgroundScheduler,
)

from canvas_sync import service
from canvas_sync.service import daemon as jobs
from canvas_sync.service.unstartable import NO_TOKEN, check_runnable, without_token
from canvas_sync.settings import Settings

__all__ = ["Daemon", "run_daemon"]

logger = logging.getLogger("canvas_sync.scheduler")

#: A missed after-deadline run still happens if the machine wakes within this window.
AFTER_DUE_GRACE_SECONDS = 6 * 3600
#: Stop budget: runs get this long to reach a step boundary before the process cleans up alone.
STOP_GRACE_SECONDS = 6.0


class Daemon:
    """The scheduler for one or more courses, in a process that may share the database."""

    def __init__(
        self,
        settings_list: Sequence[Settings],
        *,
        holder: str | None = None,
        poll_seconds: float = 1.0,
        heartbeat_seconds: float = 10.0,
        stop_grace: float = STOP_GRACE_SECONDS,
        exit_hard: Callable[[int], None] = os._exit,
    ) -> None:
        self.settings = {s.course_id: s for s in settings_list}
        self.holder = holder or f"{jobs.default_holder()}"
        self.poll_seconds = poll_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.stop_grace = stop_grace
        self.stopping = threading.Event()
        self.started_at = datetime.now(UTC)
        self._exit_hard = exit_hard
        self._active = 0
        self._idle = threading.Condition()
        workers = max(4, 2 * len(self.settings) + 2)
        self.scheduler = BackgroundScheduler(
            timezone=UTC,
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 60},
        )

    # --- planning -------------------------------------------------------------------------

    def plan(self, now: datetime | None = None) -> None:
        """Add every job (before or after `start`)."""
        moment = now or datetime.now(UTC)
        for course_id, settings in self.settings.items():
            interval = settings.interval_minutes * 60
            self.scheduler.add_job(
                self._sync_job,
                "interval",
                seconds=interval,
                args=[course_id, "interval"],
                id=f"interval:{course_id}",
                next_run_time=moment + timedelta(seconds=1),
                # A laptop that slept through several intervals runs once on waking, not N times.
                misfire_grace_time=max(60, int(interval)),
                replace_existing=True,
            )
            self.plan_after_due(course_id, moment)
        self.scheduler.add_job(
            self._poll_job, "interval", seconds=self.poll_seconds, id="poll", replace_existing=True
        )
        self.scheduler.add_job(
            self._heartbeat_job,
            "interval",
            seconds=self.heartbeat_seconds,
            id="heartbeat",
            replace_existing=True,
        )

    def plan_after_due(self, course_id: int, now: datetime | None = None) -> list[datetime]:
        """(Re)plan the course's after-deadline runs from the due dates in the database."""
        settings = self.settings[course_id]
        moment = now or datetime.now(UTC)
        wanted = jobs.after_due_times(
            jobs.due_instants(settings), settings.after_due_minutes, moment
        )
        ids = {f"due:{course_id}:{at:%Y%m%dT%H%M%S}": at for at in wanted}
        for job in self.scheduler.get_jobs():
            if job.id.startswith(f"due:{course_id}:") and job.id not in ids:
                job.remove()
        for job_id, at in ids.items():
            if self.scheduler.get_job(job_id) is None:
                self.scheduler.add_job(
                    self._sync_job,
                    "date",
                    run_date=at,
                    args=[course_id, "after_due"],
                    id=job_id,
                    misfire_grace_time=AFTER_DUE_GRACE_SECONDS,
                )
        return wanted

    def next_runs(self) -> list[tuple[int, datetime, str]]:
        """(course, when, kind) of every scheduled sync, soonest first."""
        found = []
        for job in self.scheduler.get_jobs():
            kind, _, rest = job.id.partition(":")
            when = getattr(job, "next_run_time", None)
            if kind in {"interval", "due"} and when is not None:
                course_id = int(rest.split(":")[0])
                found.append((course_id, when, "after_due" if kind == "due" else kind))
        return sorted(found, key=lambda item: item[1])

    # --- jobs -----------------------------------------------------------------------------

    def _tracked(self, work: Callable[[], None]) -> None:
        """Run a job, counting it as active so a stop can wait for it; log what escapes."""
        if self.stopping.is_set():
            return
        with self._idle:
            self._active += 1
        try:
            work()
        except jobs.Stopping:
            pass  # already recorded as interrupted by sync()
        except Exception as exc:
            jobs.log_event("job_failed", logging.ERROR, error=f"{type(exc).__name__}: {exc}")
        finally:
            with self._idle:
                self._active -= 1
                self._idle.notify_all()

    def _sync_job(self, course_id: int, trigger: str) -> None:
        settings = self.settings[course_id]

        def work() -> None:
            try:
                jobs.run_sync_job(
                    settings,
                    trigger,
                    stopping=self.stopping,
                    # A run by anyone (manual sync, another daemon) in the last half interval
                    # makes this one redundant.
                    skip_if_recent=settings.interval_minutes * 30
                    if trigger == "interval"
                    else None,
                )
            finally:
                if not self.stopping.is_set():
                    self.plan_after_due(course_id)
                    self._heartbeat_job()

        self._tracked(work)

    def _request_job(self, course_id: int, request: Any) -> None:
        def work() -> None:
            try:
                jobs.run_request(self.settings[course_id], request, stopping=self.stopping)
            finally:
                if not self.stopping.is_set():
                    self.plan_after_due(course_id)

        self._tracked(work)

    def _poll_job(self) -> None:
        def work() -> None:
            for settings, request in jobs.claim_requests(list(self.settings.values()), self.holder):
                self.scheduler.add_job(
                    self._request_job,
                    "date",
                    run_date=datetime.now(UTC),
                    args=[settings.course_id, request],
                    id=f"request:{request.id}",
                    misfire_grace_time=None,
                )

        self._tracked(work)

    def _heartbeat_job(self) -> None:
        if self.stopping.is_set():
            return
        try:
            jobs.record_daemon(
                list(self.settings.values()),
                self.holder,
                started_at=self.started_at,
                next_runs=self.next_runs(),
            )
        except Exception as exc:  # a busy database must not kill the daemon; next beat retries
            jobs.log_event("heartbeat_failed", logging.WARNING, error=type(exc).__name__)

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self.plan()
        self.scheduler.start()
        self._heartbeat_job()
        courses = ",".join(str(c) for c in self.settings)
        jobs.log_event("daemon_started", holder=self.holder, courses=courses)
        for blocked in without_token(list(self.settings.values())):
            jobs.log_event(
                "course_cannot_run", logging.ERROR, course=blocked.course_id, error=NO_TOKEN
            )

    def stop(self, *_signal: object) -> None:
        """Signal-safe: only sets a flag; the main loop does the work."""
        self.stopping.set()

    def wait_idle(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        with self._idle:
            while self._active:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._idle.wait(left)
        return True

    def shutdown(self) -> int:
        """Stop scheduling, let runs reach a step boundary, clean up; always exit code 0."""
        jobs.log_event("daemon_stopping", holder=self.holder)
        self.scheduler.shutdown(wait=False)
        settings = list(self.settings.values())
        if self.wait_idle(self.stop_grace):
            jobs.unregister_daemon(settings, self.holder)
            jobs.log_event("daemon_stopped", holder=self.holder)
            return 0
        # A run is stuck inside one long Canvas request. Its transaction is uncommitted and dies
        # with the process; record it interrupted and free its lock ourselves, then leave.
        jobs.log_event("daemon_abandoning", logging.WARNING, holder=self.holder)
        cleanup = threading.Thread(target=jobs.abandon, args=(settings, self.holder), daemon=True)
        cleanup.start()
        cleanup.join(timeout=2.5)
        jobs.log_event("daemon_stopped", holder=self.holder, abandoned=True)
        logging.shutdown()
        self._exit_hard(0)
        return 0

    def run(self) -> int:
        """Foreground: start, sleep until SIGTERM/SIGINT (or `stop()`), shut down."""
        if threading.current_thread() is threading.main_thread():
            signal.signal(signal.SIGTERM, self._on_signal)
            signal.signal(signal.SIGINT, self._on_signal)
        self.start()
        while not self.stopping.wait(0.5):
            pass
        return self.shutdown()

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self.stopping.set()


def run_daemon(settings_list: Sequence[Settings], **options: Any) -> int:
    """Run the daemon for these courses until SIGTERM/SIGINT; returns the exit code (0).

    Refuses to start (ConfigError, exit 2) when no course has a token: nothing could ever run.
    """
    check_runnable(settings_list)
    for settings in settings_list:
        service.open_database(settings).dispose()  # migrate once, before jobs race to do it
    return Daemon(settings_list, **options).run()
