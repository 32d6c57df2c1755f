"""One exception tree for the whole service.

Every class carries the exit code the CLI uses (SPEC §5: 1 failure, 2 usage/config error) and a
one-sentence message that names what to fix. Messages never contain the Canvas token.
"""

from __future__ import annotations

__all__ = [
    "AuthFailed",
    "CanvasError",
    "CanvasSyncError",
    "CanvasUnavailable",
    "ConfigError",
    "DatabaseUnavailable",
    "Forbidden",
    "IncompleteListing",
    "LockLost",
    "LockTimeout",
    "NotFound",
    "PushFailed",
    "RateLimited",
    "UsageError",
]


class CanvasSyncError(Exception):
    """Root of every error this service raises on purpose."""

    exit_code = 1

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(CanvasSyncError):
    """A config file, environment variable or option is wrong (exit 2)."""

    exit_code = 2


class UsageError(CanvasSyncError):
    """A command was called with an unknown id or a bad combination of options (exit 2)."""

    exit_code = 2


class CanvasError(CanvasSyncError):
    """Canvas answered something this service cannot use."""


class AuthFailed(CanvasError):
    """401 from Canvas: the token is wrong, expired or revoked."""

    exit_code = 2


class NotFound(CanvasError):
    """404 from Canvas: the course or object does not exist (or is deleted)."""

    exit_code = 2


class Forbidden(CanvasError):
    """403 (without the rate-limit text): the token's user may not do this."""

    exit_code = 2


class RateLimited(CanvasError):
    """403 "Rate Limit Exceeded" or 429: Canvas throttled this token; retried with backoff."""


class CanvasUnavailable(CanvasError):
    """5xx, timeout, connection failure or a non-JSON answer; retried with backoff."""


class IncompleteListing(CanvasError):
    """A Canvas list ended before its last row (no `rel="next"` link where more rows exist)."""


class PushFailed(CanvasSyncError):
    """A grade push did not complete (Progress failed or timed out, or verification failed)."""


class LockTimeout(CanvasSyncError):
    """Another process holds the course's sync lock past the wait limit."""


class LockLost(CanvasSyncError):
    """The course's sync lock was lost (its database session ended) before the run committed."""


class DatabaseUnavailable(CanvasSyncError):
    """The database closed the connection or failed mid-run; the transaction was rolled back."""
