"""Use cases: what a person (or the scheduler) asks for, each owning its transactions."""

from canvas_sync.service.core import (
    Evaluation,
    SyncSummary,
    add_exemption,
    build_report,
    evaluate,
    list_discrepancies,
    make_client,
    open_database,
    resolve_discrepancy,
    sync,
    upgrade_database,
)

__all__ = [
    "Evaluation",
    "SyncSummary",
    "add_exemption",
    "build_report",
    "evaluate",
    "list_discrepancies",
    "make_client",
    "open_database",
    "resolve_discrepancy",
    "sync",
    "upgrade_database",
]
