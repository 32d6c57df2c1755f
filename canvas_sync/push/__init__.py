"""Pushing grades back to Canvas (SPEC §4): a pure plan, then a journaled apply."""

from canvas_sync.push.apply import ApplyResult, Hook, Journal, Reconciled, apply_plan, reconcile
from canvas_sync.push.plan import (
    CellKey,
    ManualOverride,
    PlanInputs,
    PushAction,
    PushPlan,
    Target,
    Written,
    build_plan,
    canvas_value,
    same_value,
)
from canvas_sync.push.texts import MARKER, column_text, local_time, total_comment, total_text

__all__ = [
    "MARKER",
    "ApplyResult",
    "CellKey",
    "Hook",
    "Journal",
    "ManualOverride",
    "PlanInputs",
    "PushAction",
    "PushPlan",
    "Reconciled",
    "Target",
    "Written",
    "apply_plan",
    "build_plan",
    "canvas_value",
    "column_text",
    "local_time",
    "reconcile",
    "same_value",
    "total_comment",
    "total_text",
]
