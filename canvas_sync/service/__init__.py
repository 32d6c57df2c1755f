"""Use cases: what a person (or the scheduler) asks for, each owning its transactions."""

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
from canvas_sync.service.push import (
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
