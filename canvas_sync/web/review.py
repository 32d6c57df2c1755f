"""What TAs do: the discrepancy list (open by default, errors first, filtered), acknowledging or
resolving one or many with a note, keeping or re-applying a manual override, and exempting a
student's reading from the late rule (TAs only when the instructor allows it:
`web.ta_can_exempt`)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Blueprint, abort, redirect, request
from werkzeug.wrappers import Response

from canvas_sync import report, service
from canvas_sync.domain import DiscrepancyRecord, Kind, Severity
from canvas_sync.service import pages
from canvas_sync.settings import Settings
from canvas_sync.web.common import (
    SEVERITY_ORDER,
    audit,
    course,
    course_url,
    form_course,
    int_arg,
    page,
    reading_labels,
    user,
)

__all__ = ["Filters", "blueprint", "filtered", "read_filters"]

blueprint = Blueprint("review", __name__)
STATES = ("open", "acknowledged", "resolved", "all")


@dataclass(frozen=True)
class Filters:
    severity: str | None
    kind: str | None
    state: str  # one of STATES
    student: int | None
    reading: int | None

    def query(self) -> dict[str, str]:
        values = {
            "severity": self.severity or "",
            "kind": self.kind or "",
            "state": self.state,
            "student": "" if self.student is None else str(self.student),
            "reading": "" if self.reading is None else str(self.reading),
        }
        return {k: v for k, v in values.items() if v}


def _choice(name: str, allowed: set[str], source: dict[str, str] | None = None) -> str | None:
    raw = (request.args if source is None else source).get(name, "")
    if raw == "":
        return None
    if raw not in allowed:
        abort(400, f"Unknown {name} {raw[:40]!r}.")
    return raw


def read_filters(source: dict[str, str] | None = None) -> Filters:
    """The list's filters from the query (or a form's hidden copy); a bad value is a 400."""
    values = request.args if source is None else source
    return Filters(
        severity=_choice("severity", {s.value for s in Severity}, source),
        kind=_choice("kind", {k.value for k in Kind}, source),
        state=_choice("state", set(STATES), source) or "open",
        student=int_arg("student", source=values),
        reading=int_arg("reading", source=values),
    )


def filtered(items: tuple[DiscrepancyRecord, ...], f: Filters) -> list[DiscrepancyRecord]:
    """The discrepancies the filters keep, errors first, then oldest first."""
    kept = [
        d
        for d in items
        if (f.state == "all" or d.state == f.state)
        and (f.severity is None or d.severity.value == f.severity)
        and (f.kind is None or d.kind.value == f.kind)
        and (f.student is None or d.student_id == f.student)
        and (f.reading is None or d.assignment_id == f.reading)
    ]
    return sorted(kept, key=lambda d: (SEVERITY_ORDER[d.severity], d.id))


@blueprint.route("/discrepancies")
def discrepancies() -> str:
    settings = course()
    filters = read_filters()
    view = pages.course_view(settings)
    columns = report.reading_columns(view.report)
    names = {r.student.id: r.student.name for r in view.report.students}
    shorts = reading_labels(columns)
    shown = filtered(view.discrepancies, filters)
    return page(
        "discrepancies.html",
        settings,
        filters=filters,
        items=shown,
        names=names,
        shorts=shorts,
        columns=columns,
        students=view.report.students,
        severities=[s.value for s in Severity],
        kinds=[k.value for k in Kind],
        states=STATES,
    )


def _back(settings: Settings) -> Response:
    """Back to the list with the same filters (rebuilt from known keys, never a raw URL)."""
    filters = read_filters(dict(request.form))
    target = course_url("review.discrepancies", settings)
    query = urlencode(filters.query())
    return redirect(target + ("&" if "?" in target else "?") + query if query else target, 303)


def _ids() -> list[int]:
    raw = request.form.getlist("ids")
    if any(not (r.isascii() and r.isdigit()) or len(r) > 18 for r in raw):
        abort(400, "The ticked discrepancies must be whole numbers.")
    return sorted({int(r) for r in raw})


@blueprint.route("/discrepancies/act", methods=["POST"])
def act() -> Response:
    settings = form_course()
    action = request.form.get("action", "")
    if action not in ("acknowledge", "resolve"):
        abort(400, "Choose Acknowledge or Resolve.")
    ids, note = _ids(), request.form.get("note", "").strip()
    done = pages.resolve_many(
        settings, ids, note=note, acknowledge=action == "acknowledge", by=user().name
    )
    listed = ", ".join(str(d.id) for d in done)
    past = {"acknowledge": "acknowledged", "resolve": "resolved"}[action]
    audit(past, f"discrepancies {listed}: {note}", settings)
    return _back(settings)


@blueprint.route("/discrepancies/<int:discrepancy_id>/override", methods=["POST"])
def override(discrepancy_id: int) -> Response:
    """A manual_override: keep Canvas's value, or let the next push re-apply the policy."""
    settings = form_course()
    choice = request.form.get("choice", "")
    if choice not in ("keep", "reapply"):
        abort(400, "Choose Keep Canvas's value or Re-apply the policy.")
    note = request.form.get("note", "").strip() or f"{choice} from the web app"
    record = service.resolve_override(
        settings, discrepancy_id, keep_canvas=choice == "keep", note=note, by=user().name
    )
    audit(f"override_{choice}", f"discrepancy {record.id}: {note}", settings)
    target = request.form.get("back", "")
    if target == "push":
        return redirect(course_url("pushing.push_page", settings), 303)
    return _back(settings)


@blueprint.route("/students/<int:student_id>/exempt", methods=["POST"])
def exempt(student_id: int) -> Response:
    settings = form_course()
    if user().role != "instructor" and not settings.ta_can_exempt:
        abort(403, "Only the instructor may exempt here (web.ta_can_exempt is off).")
    reading = int_arg("reading", source=request.form)
    reason = request.form.get("reason", "").strip()
    if reading is None:
        abort(400, "Choose a reading to exempt.")
    done = service.add_exemption(
        settings, str(student_id), str(reading), reason=reason, by=user().name
    )
    audit("exempt", f"student {student_id}, {done.reading}: {reason}", settings)
    return redirect(course_url("pages.student", settings, student_id=student_id), 303)
