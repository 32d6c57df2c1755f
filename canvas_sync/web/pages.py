"""Read-only pages: the course overview, the student grid and one student, runs, activity,
and what each discrepancy kind means; and the instructor's "Sync now"."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, request
from werkzeug.wrappers import Response

from canvas_sync import report, service
from canvas_sync.domain import Severity, Status
from canvas_sync.service import accounts, pages
from canvas_sync.web.common import (
    KIND_MEANING,
    audit,
    course,
    course_url,
    form_course,
    page,
    reading_labels,
    require,
    state,
    user,
)

__all__ = ["blueprint"]

blueprint = Blueprint("pages", __name__)
#: The daemon's jobs (scheduler/): periodic, after a due time, and a trigger it took.
_DAEMON_JOBS = ("interval", "after_due", "request")


def _health(item: service.CourseStatus) -> tuple[str, str]:
    """The daemon's health: (css class, words). A failing job shows as failing."""
    scheduled = [r for r in item.runs if r.trigger in _DAEMON_JOBS and r.status != "running"]
    if scheduled and scheduled[0].status == "failed":
        return "bad", f"failing: the last scheduled run failed ({scheduled[0].error or 'error'})"
    if not item.daemons:
        return "warn", "no daemon is running for this course"
    return "good", "running: " + ", ".join(item.daemons)


@blueprint.route("/")
def overview() -> str:
    settings = course()
    view = pages.course_view(settings)
    status = service.status([settings], runs=5).courses[0]
    at_risk = [
        (r, sum(1 for x in r.readings if x.status is Status.PENDING))
        for r in view.report.students
        if r.at_risk
    ]
    open_by = {s: 0 for s in Severity}
    for d in view.discrepancies:
        if d.state == "open":
            open_by[d.severity] += 1
    actions = accounts.list_actions(state().database, settings.course_id, limit=8)
    return page(
        "overview.html",
        settings,
        view=view,
        status=status,
        health=_health(status),
        at_risk=at_risk,
        open_by=open_by,
        actions=actions,
    )


@blueprint.route("/students")
def students() -> str:
    settings = course()
    view = pages.course_view(settings)
    columns = report.reading_columns(view.report)
    rows = report.grid_rows(view.report.students, columns, settings.zone)
    return page(
        "students.html",
        settings,
        view=view,
        columns=columns,
        rows=rows,
        link=lambda sid: course_url("pages.student", settings, student_id=sid),
        labels=reading_labels(columns),
    )


@blueprint.route("/students/<int:student_id>")
def student(student_id: int) -> str:
    settings = course()
    view = pages.course_view(settings)
    found = next((r for r in view.report.students if r.student.id == student_id), None)
    if found is None:
        abort(404, f"No student {student_id} in this course.")
    exemptions = {e.assignment_id: e.reason for e in view.exemptions if e.student_id == student_id}
    readings = [
        (
            r,
            view.submissions.get((student_id, r.assignment_id)),
            pages.counted_why(r, view.report.policy.required, view.report.policy.selection),
            pages.our_comments(view.submissions.get((student_id, r.assignment_id))),
            exemptions.get(r.assignment_id),
        )
        for r in found.readings
    ]
    items = [d for d in view.discrepancies if d.student_id == student_id]
    may_exempt = settings.ta_can_exempt or user().role == "instructor"
    return page(
        "student.html",
        settings,
        result=found,
        readings=readings,
        items=items,
        may_exempt=may_exempt,
        label=report.status_label,
    )


@blueprint.route("/runs")
def runs() -> str:
    settings = course()
    status = service.status([settings], runs=50).courses[0]
    return page("runs.html", settings, status=status)


@blueprint.route("/activity")
def activity() -> str:
    settings = course()
    actions = accounts.list_actions(state().database, settings.course_id, limit=500)
    return page("activity.html", settings, actions=actions)


@blueprint.route("/kinds")
def kinds() -> str:
    return page("kinds.html", course(), meanings=KIND_MEANING)


@blueprint.route("/sync", methods=["POST"])
@require("instructor")
def sync_now() -> Response:
    """Queue a trigger for the running daemon, like `canvas-sync trigger --no-wait`."""
    settings = form_course()
    full = request.form.get("full") == "1"
    outcome = service.trigger(settings, full=full, wait=False, by=f"web:{user().name}")
    audit("sync_requested", f"request {outcome.request_id}" + (" (full)" if full else ""), settings)
    return redirect(course_url("pages.runs", settings, requested=outcome.request_id), code=303)
