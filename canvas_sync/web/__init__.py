"""The review web app (Flask): TAs and the instructor sign in, review and resolve discrepancies,
look at students and runs; the instructor also pushes and triggers syncs."""

from canvas_sync.web.app import LOOPBACK_NAMES, MAX_BODY, create_app, serve

__all__ = ["LOOPBACK_NAMES", "MAX_BODY", "create_app", "serve"]
