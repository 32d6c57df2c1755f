"""Helpers shared by the integration tests (a uniquely named module so it cannot shadow others)."""

from __future__ import annotations

from canvas_sync.simulator import Simulator


def canvas_env(canvas: Simulator, token: str, database_url: str) -> dict[str, str]:
    """The environment that points canvas-sync at a running simulator and a database."""
    return {
        "CANVAS_URL": canvas.base_url,
        "CANVAS_TOKEN": token,
        "CANVAS_COURSE_ID": str(canvas.course_id),
        "CANVAS_SYNC_DATABASE_URL": database_url,
    }
