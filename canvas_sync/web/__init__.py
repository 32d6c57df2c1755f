"""The web dashboard (SPEC §9): status of each course and a "Sync now" button."""

from canvas_sync.web.dashboard import Dashboard, serve

__all__ = ["Dashboard", "serve"]
