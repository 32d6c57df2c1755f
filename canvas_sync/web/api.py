"""The JSON API behind the pages, for scripts: the same sign-in (the session, or a per-user API
token sent as `Authorization: Bearer cs_...`) and the same roles.

Writes (POST) take only the API token: a browser's cookie never authorises them, so another web
site cannot make a signed-in browser post here (no CSRF form token is needed).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, g, jsonify, request
from flask.typing import ResponseReturnValue

from canvas_sync import report, service
from canvas_sync.domain import DiscrepancyRecord, Severity
from canvas_sync.service import pages
from canvas_sync.web.common import audit, course, user
from canvas_sync.web.review import filtered, read_filters

__all__ = ["blueprint"]

blueprint = Blueprint("api", __name__)


def _utc(moment: datetime | None) -> str | None:
    return None if moment is None else f"{moment.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"


def _discrepancy(d: DiscrepancyRecord) -> dict[str, Any]:
    return {
        "id": d.id,
        "kind": d.kind.value,
        "severity": d.severity.value,
        "state": d.state,
        "student_id": d.student_id,
        "assignment_id": d.assignment_id,
        "canvas_value": d.canvas_value,
        "expected_value": d.expected_value,
        "message": d.message,
        "changed_by": d.resolved_by,
        "note": d.note,
    }


@blueprint.route("/me")
def me() -> ResponseReturnValue:
    return jsonify(name=user().name, role=user().role)


@blueprint.route("/report")
def full_report() -> ResponseReturnValue:
    """The report JSON of `canvas-sync report --format json`."""
    return jsonify(report.report_to_dict(pages.course_view(course()).report))


@blueprint.route("/overview")
def overview() -> ResponseReturnValue:
    """What the overview page shows: open discrepancies by severity, who is at risk."""
    view = pages.course_view(course())
    opened = [d for d in view.discrepancies if d.state == "open"]
    return jsonify(
        open_by_severity={s.value: sum(d.severity is s for d in opened) for s in Severity},
        at_risk=[
            {"id": r.student.id, "name": r.student.name, "on_time_count": r.on_time_count}
            for r in view.report.students
            if r.at_risk
        ],
        last_full_pull=_utc(view.last_full_pull),
    )


@blueprint.route("/students/<int:student_id>")
def student(student_id: int) -> ResponseReturnValue:
    """One student's readings with why each counts or not (the student page)."""
    view = pages.course_view(course())
    found = next((r for r in view.report.students if r.student.id == student_id), None)
    if found is None:
        abort(404, f"No student {student_id} in this course.")
    policy = view.report.policy
    return jsonify(
        id=student_id,
        name=found.student.name,
        points=found.points,
        possible=found.possible,
        at_risk=found.at_risk,
        readings=[
            {
                "assignment_id": r.assignment_id,
                "name": r.name,
                "status": r.status.value,
                "canvas_score": r.canvas_score,
                "policy_score": r.policy_score,
                "counted": r.counted,
                "why": pages.counted_why(r, policy.required, policy.selection),
                "due_at": _utc(r.due_at),
                "submitted_at": _utc(r.submitted_at),
                "exempted": r.exempted,
            }
            for r in found.readings
        ],
    )


@blueprint.route("/discrepancies")
def discrepancies() -> ResponseReturnValue:
    items = filtered(pages.course_view(course()).discrepancies, read_filters())
    return jsonify(discrepancies=[_discrepancy(d) for d in items])


@blueprint.route("/runs")
def runs() -> ResponseReturnValue:
    status = service.status([course()], runs=50).courses[0]
    return jsonify(
        runs=[
            {
                "id": r.id,
                "trigger": r.trigger,
                "mode": r.mode,
                "status": r.status,
                "started_at": _utc(r.started_at),
                "finished_at": _utc(r.finished_at),
                "requests": r.requests,
                "changed": r.changed,
                "error": r.error,
            }
            for r in status.runs
        ]
    )


@blueprint.route("/discrepancies/<int:discrepancy_id>", methods=["POST"])
def resolve(discrepancy_id: int) -> ResponseReturnValue:
    """`{"state": "acknowledged" | "resolved", "note": "..."}` with an API token."""
    if not g.get("by_token"):
        abort(403, "Writes through the API need an API token (Authorization: Bearer ...).")
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or body.get("state") not in ("acknowledged", "resolved"):
        abort(400, 'Send JSON {"state": "acknowledged" or "resolved", "note": "why"}.')
    note = body.get("note")
    if not isinstance(note, str) or not note.strip():
        abort(400, "A note saying why is needed.")
    settings = course()
    [done] = pages.resolve_many(
        settings,
        [discrepancy_id],
        note=note.strip(),
        acknowledge=body["state"] == "acknowledged",
        by=user().name,
    )
    audit(body["state"], f"discrepancies {done.id}: {note.strip()} (API)", settings)
    return jsonify(_discrepancy(done))
