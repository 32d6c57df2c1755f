"""What stops a push before it plans anything: facts that would make its grades wrong.

A `pool_mismatch` (the pool is not the configured readings) would put a wrong total in every
student's gradebook; push refuses until it is fixed. A `late_policy_conflict` (Canvas's own
Late Policy deducts from late work, API-written grades included, canvas-api.md §10 item 4)
would penalise late work twice; push refuses unless `push.allow_canvas_late_policy` is set.
One sentence, exit code 2. A dry run is not refused: it shows the plan with that sentence as a
note, so the instructor sees both what push would write and what stops it.
"""

from __future__ import annotations

from collections.abc import Iterable

from canvas_sync.domain import Finding, Kind
from canvas_sync.settings import Settings

__all__ = ["BLOCKING_KINDS", "blocking_reason"]

#: The kinds of finding that can forbid a push (both are course-level facts).
BLOCKING_KINDS = frozenset({Kind.POOL_MISMATCH, Kind.LATE_POLICY_CONFLICT})


def blocking_reason(settings: Settings, findings: Iterable[Finding]) -> str | None:
    """The one sentence saying why push must not write, or None when nothing forbids it."""
    kinds = {f.kind: f for f in findings}
    pool = kinds.get(Kind.POOL_MISMATCH)
    if pool is not None:
        return (
            f"Push refused: {pool.message.removeprefix('Pool mismatch: ').rstrip('.')} "
            "(pool_mismatch); push runs again once the next sync finds exactly the configured "
            "readings."
        )
    late = kinds.get(Kind.LATE_POLICY_CONFLICT)
    if late is not None and not settings.allow_canvas_late_policy:
        return (
            f"Push refused: the course's Canvas Late Policy also deducts from late work "
            f"({late.canvas_value}), so late summaries would be penalised twice; turn off "
            "'Automatically apply deduction to late submissions' in the Canvas Gradebook "
            "settings (Late Policies tab), or set push.allow_canvas_late_policy = true to keep "
            "both."
        )
    return None
