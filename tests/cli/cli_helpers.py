"""The environment the command-line tests run canvas-sync in."""

from __future__ import annotations

from pathlib import Path

from canvas_sync.settings import shipped_config
from canvas_sync.simulator import Simulator


def cli_env(canvas: Simulator, token: str, database: Path) -> dict[str, str]:
    """canvas-sync pointed at a running simulator, a SQLite file and the shipped config."""
    return {
        "CANVAS_URL": canvas.base_url,
        "CANVAS_TOKEN": token,
        "CANVAS_COURSE_ID": str(canvas.course_id),
        "CANVAS_SYNC_DATABASE_URL": f"sqlite:///{database}",
        "CANVAS_SYNC_CONFIG": str(shipped_config()),
    }
