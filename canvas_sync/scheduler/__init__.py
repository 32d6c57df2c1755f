"""The daemon's scheduler (SPEC §9): the only package that imports APScheduler."""

from canvas_sync.scheduler.daemon import Daemon, run_daemon
from canvas_sync.scheduler.logs import configure_logging

__all__ = ["Daemon", "configure_logging", "run_daemon"]
