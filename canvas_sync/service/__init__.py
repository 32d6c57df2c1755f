"""Use cases: what a person (or the scheduler) asks for, each owning its transactions.

The names below are imported on first use (PEP 562): a command imports only the use cases it
calls, so `canvas-sync user ...` does not load the sync and push machinery, nor a sync the web
app's accounts.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from canvas_sync.db.records import RunRecord
    from canvas_sync.db.requests import SyncRequest
    from canvas_sync.service import accounts, pages, setup
    from canvas_sync.service.core import (
        Evaluation,
        SyncSummary,
        evaluate,
        make_client,
        open_database,
        sync,
        upgrade_database,
    )
    from canvas_sync.service.daemon import Stopping, after_due_times, due_instants
    from canvas_sync.service.pushing import (
        PushSummary,
        auto_push,
        plan_push,
        push,
        resolve_override,
    )
    from canvas_sync.service.review import (
        DiscrepancyList,
        Exemption,
        add_exemption,
        build_report,
        list_discrepancies,
        resolve_discrepancy,
        review_discrepancies,
    )
    from canvas_sync.service.targets import Targets, ensure_targets
    from canvas_sync.service.triggers import (
        CourseStatus,
        NextRun,
        RunOutcome,
        StatusView,
        status,
        trigger,
    )

#: Where each public name lives.
_HOMES = {
    "RunRecord": "canvas_sync.db.records",
    "SyncRequest": "canvas_sync.db.requests",
    **dict.fromkeys(
        (
            "Evaluation",
            "SyncSummary",
            "evaluate",
            "make_client",
            "open_database",
            "sync",
            "upgrade_database",
        ),
        "canvas_sync.service.core",
    ),
    **dict.fromkeys(("Stopping", "after_due_times", "due_instants"), "canvas_sync.service.daemon"),
    **dict.fromkeys(
        ("PushSummary", "auto_push", "plan_push", "push", "resolve_override"),
        "canvas_sync.service.pushing",
    ),
    **dict.fromkeys(
        (
            "DiscrepancyList",
            "Exemption",
            "add_exemption",
            "build_report",
            "list_discrepancies",
            "resolve_discrepancy",
            "review_discrepancies",
        ),
        "canvas_sync.service.review",
    ),
    **dict.fromkeys(("Targets", "ensure_targets"), "canvas_sync.service.targets"),
    **dict.fromkeys(
        ("CourseStatus", "NextRun", "RunOutcome", "StatusView", "status", "trigger"),
        "canvas_sync.service.triggers",
    ),
}
_SUBMODULES = ("accounts", "pages", "setup")

__all__ = [
    "CourseStatus",
    "DiscrepancyList",
    "Evaluation",
    "Exemption",
    "NextRun",
    "PushSummary",
    "RunOutcome",
    "RunRecord",
    "StatusView",
    "Stopping",
    "SyncRequest",
    "SyncSummary",
    "Targets",
    "accounts",
    "add_exemption",
    "after_due_times",
    "auto_push",
    "build_report",
    "due_instants",
    "ensure_targets",
    "evaluate",
    "list_discrepancies",
    "make_client",
    "open_database",
    "pages",
    "plan_push",
    "push",
    "resolve_discrepancy",
    "resolve_override",
    "review_discrepancies",
    "setup",
    "status",
    "sync",
    "trigger",
    "upgrade_database",
]


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"canvas_sync.service.{name}")
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'canvas_sync.service' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
