"""The instructor's push page: the complete plan (paginated, and as CSV), applying it with its
progress and outcome, and the manual overrides with keep / re-apply buttons.

Planning reads Canvas (an incremental sync first, like `push --dry-run`), so the plan is kept
per course in this process until the instructor plans again or applies it. Apply sends exactly
the plan the instructor saw: it re-plans and, if Canvas changed in between (another
fingerprint), writes nothing and shows the new plan instead. It runs in a thread of its own;
the page follows it (each journal step) until the outcome is known.
"""

from __future__ import annotations

import csv
import hashlib
import io
import threading
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, Response, redirect, request
from werkzeug.wrappers import Response as BaseResponse

from canvas_sync import service
from canvas_sync.domain import Kind
from canvas_sync.errors import CanvasSyncError
from canvas_sync.service import accounts, pages
from canvas_sync.settings import Settings
from canvas_sync.web.common import (
    PushJob,
    State,
    audit,
    course,
    course_url,
    form_course,
    int_arg,
    page,
    require,
    state,
    user,
)

__all__ = ["PAGE_SIZE", "blueprint", "fingerprint"]

blueprint = Blueprint("pushing", __name__)
PAGE_SIZE = 50
# Spreadsheets run a cell starting with one of these as a formula (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def fingerprint(plan: Any) -> str:
    """Names one plan by the grades the instructor saw: who, which cell, from what to what,
    commented or not. The custom column's entries are left out: they restate the totals, and
    before a first push creates the column a plan cannot list them (the page says it will be
    created); the total assignment's id is left out for the same reason."""
    rows = [
        (
            a.target.value,
            a.student_id,
            a.assignment_id if a.target.value == "grade" else None,
            a.from_value,
            a.to_value,
            bool(a.comment),
        )
        for a in plan.actions
        if a.target.value != "column"
    ]
    return hashlib.sha256(repr(rows).encode()).hexdigest()[:20]


def _plan(settings: Settings, *, fresh: bool = False) -> tuple[Any, datetime]:
    shared = state()
    with shared.lock:
        cached = shared.plans.get(settings.course_id)
    if cached is not None and not fresh:
        return cached  # type: ignore[no-any-return]
    made = (service.plan_push(settings), datetime.now(UTC))
    with shared.lock:
        shared.plans[settings.course_id] = made
    return made


@blueprint.route("/push")
@require("instructor")
def push_page() -> str:
    settings = course()
    plan, computed_at = _plan(settings)
    number = int_arg("page") or 1
    pages_total = max(1, -(-len(plan.actions) // PAGE_SIZE))
    number = min(number, pages_total)
    shown = plan.actions[(number - 1) * PAGE_SIZE : number * PAGE_SIZE]
    overrides = [
        d
        for d in pages.course_view(settings).discrepancies
        if d.kind is Kind.MANUAL_OVERRIDE and d.state != "resolved"
    ]
    with state().lock:
        job = state().jobs.get(settings.course_id)
    return page(
        "push.html",
        settings,
        plan=plan,
        computed_at=computed_at,
        shown=shown,
        number=number,
        pages_total=pages_total,
        fingerprint=fingerprint(plan),
        overrides=overrides,
        job=job,
    )


@blueprint.route("/push/plan", methods=["POST"])
@require("instructor")
def replan() -> BaseResponse:
    settings = form_course()
    plan, _ = _plan(settings, fresh=True)
    audit("push_planned", f"{len(plan.actions)} changes planned", settings)
    return redirect(course_url("pushing.push_page", settings), 303)


@blueprint.route("/push.csv")
@require("instructor")
def push_csv() -> Response:
    settings = course()
    plan, _ = _plan(settings)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["student_id", "student", "target", "reading", "from", "to", "why", "comment"])
    for a in plan.actions:
        row = [a.student_id, a.student_name, a.target.value, a.label, a.from_value or "",
               a.to_value, a.reason, "yes" if a.comment else ""]  # fmt: skip
        writer.writerow([_defused(str(v)) for v in row])
    name = f"push-plan-{settings.course_id}.csv"
    return Response(
        out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _defused(text: str) -> str:
    return "'" + text if text.startswith(_FORMULA_START) else text


@blueprint.route("/push/apply", methods=["POST"])
@require("instructor")
def apply() -> BaseResponse:
    settings = form_course()
    seen = request.form.get("fingerprint", "")
    plan, _ = _plan(settings)
    shared = state()
    with shared.lock:
        running = shared.jobs.get(settings.course_id)
        if running is None or running.state != "running":
            job = PushJob(datetime.now(UTC), user().name, len(plan.actions))
            shared.jobs[settings.course_id] = job
            worker = threading.Thread(target=_run, args=(settings, seen, job, shared), daemon=True)
            worker.start()
    audit("push_started", f"{len(plan.actions)} changes planned", settings)
    return redirect(course_url("pushing.push_page", settings), 303)


def _run(settings: Settings, seen: str, job: PushJob, shared: State) -> None:
    """The apply itself, in its own thread: re-plan, check it is the plan seen, send."""
    refused = (
        "Canvas changed since the plan was shown, so nothing was written; "
        "review the new plan below and apply again."
    )
    agreed: list[bool] = []

    def confirm(plan: Any) -> bool:
        agreed.append(fingerprint(plan) == seen)
        if agreed[-1]:
            job.steps.append(f"re-planned: {len(plan.actions)} changes, as shown")
        return agreed[-1]

    newer, outcome = None, ("failed", "")
    try:
        # `confirm` only compares the new plan with the one shown (nobody waits on it), so the
        # cells to write are re-read while the plan is made.
        summary = service.push(settings, confirm=confirm, hook=job.steps.append, reread_early=True)
        if agreed and not agreed[-1]:
            newer, outcome = summary.plan, ("refused", refused)
        else:
            outcome = ("done", summary.line())
    except CanvasSyncError as exc:  # written for people; never holds the token
        outcome = ("failed", str(exc))
    except Exception as exc:  # a thread must report, not vanish
        outcome = ("failed", f"unexpected {type(exc).__name__}; see the log")
    accounts.record_action(
        shared.database, settings.course_id, job.by, f"push_{outcome[0]}", outcome[1]
    )
    # The plan shown before is stale now: show the new one if refused, else plan again. This
    # happens before the outcome is published, so a page showing the outcome never shows it.
    with shared.lock:
        if newer is not None:
            shared.plans[settings.course_id] = (newer, datetime.now(UTC))
        else:
            shared.plans.pop(settings.course_id, None)
        job.outcome = outcome[1]
        job.state = outcome[0]
