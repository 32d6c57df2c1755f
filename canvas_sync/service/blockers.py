"""What stops a push before it plans anything: facts that would make its grades wrong.

A `pool_mismatch` (the pool is not the configured readings) would put a wrong total in every
student's gradebook; push refuses until it is fixed. One sentence, exit code 2.
"""

from __future__ import annotations

from collections.abc import Iterable

from canvas_sync.domain import Finding, Kind
from canvas_sync.errors import UsageError
from canvas_sync.settings import Settings

__all__ = ["refuse_blocked_push"]


def refuse_blocked_push(settings: Settings, findings: Iterable[Finding]) -> None:
    """Raise UsageError (exit 2) naming what to fix when a finding forbids pushing."""
    kinds = {f.kind: f for f in findings}
    pool = kinds.get(Kind.POOL_MISMATCH)
    if pool is not None:
        raise UsageError(
            f"Push refused: {pool.message.removeprefix('Pool mismatch: ').rstrip('.')} "
            "(pool_mismatch); push runs again once the next sync finds exactly the configured "
            "readings."
        )
