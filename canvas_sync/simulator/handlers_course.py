"""Handlers for the course, assignment groups, assignments and overrides (canvas-api.md §4).

Each handler takes the request `Ctx` plus the URL values and returns a werkzeug Response; the
dispatcher holds `state.lock` around it and turns `SimError` into Canvas's error bodies.
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from canvas_sync.simulator.grading import as_bool
from canvas_sync.simulator.records import Assignment, Group, Override
from canvas_sync.simulator.state import SimError
from canvas_sync.simulator.web import (
    Ctx,
    as_int,
    json_response,
    optional_time,
    paginate_numbered,
    str_list,
)

__all__ = ["ROUTES"]

_DATE_KEYS = ("due_at", "unlock_at", "lock_at")


def get_course(ctx: Ctx, course_id: int) -> Response:
    return json_response(ctx.render.course())


def _ordered_assignments(ctx: Ctx) -> list[Assignment]:
    groups = ctx.state.groups
    live = [a for a in ctx.state.assignments.values() if not a.deleted]
    return sorted(live, key=lambda a: (groups[a.group_id].position, a.position, a.id))


def list_groups(ctx: Ctx, course_id: int) -> Response:
    """Groups with `rules` (keys omitted when unset); assignments and overrides when included."""
    include = set(str_list(ctx.params.get("include")))
    groups = sorted(ctx.state.groups.values(), key=lambda g: (g.position, g.id))
    page, links = paginate_numbered(ctx, groups)
    ordered = _ordered_assignments(ctx)
    body = []
    for group in page:
        nested = None
        if "assignments" in include:
            nested = [
                ctx.render.assignment(
                    a, overrides="overrides" in include, all_dates="all_dates" in include
                )
                for a in ordered
                if a.group_id == group.id
            ]
        body.append(ctx.render.group(group, nested))
    return json_response(body, links=links)


def get_group(ctx: Ctx, course_id: int, group_id: int) -> Response:
    include = set(str_list(ctx.params.get("include")))
    group = ctx.state.groups.get(group_id)
    if group is None:
        raise SimError.not_found()
    nested = None
    if "assignments" in include:
        nested = [
            ctx.render.assignment(a, overrides="overrides" in include)
            for a in _ordered_assignments(ctx)
            if a.group_id == group.id
        ]
    return json_response(ctx.render.group(group, nested))


def create_group(ctx: Ctx, course_id: int) -> Response:
    """POST assignment_groups: `name`, `position`, `group_weight`, `rules`.

    canvas-lms app/controllers/assignment_groups_api_controller.rb `create`; the group goes to
    the end of the list (acts_as_list in app/models/assignment_group.rb) unless `position` says.
    """
    params = ctx.params
    state = ctx.state
    last = max((g.position for g in state.groups.values()), default=0)
    weight = str(params.get("group_weight") or 0)
    rules = params.get("rules")
    group = Group(
        id=state.next_id("group", 201),
        name=str(params.get("name") or "Assignments"),
        position=as_int(params.get("position"), last + 1) or last + 1,
        group_weight=float(weight),
        rules=dict(rules) if isinstance(rules, dict) else {},
    )
    state.add_group(group)
    return json_response(ctx.render.group(group, None))


def list_assignments(ctx: Ctx, course_id: int) -> Response:
    include = set(str_list(ctx.params.get("include")))
    rows = _ordered_assignments(ctx)
    wanted = str_list(ctx.params.get("assignment_ids"))
    if len(wanted) > 100:
        raise SimError(400, {"error": "Request contains too many assignment_ids (max 100)"})
    if wanted:
        rows = [a for a in rows if str(a.id) in wanted]
    page, links = paginate_numbered(ctx, rows)
    body = [
        ctx.render.assignment(a, overrides="overrides" in include, all_dates="all_dates" in include)
        for a in page
    ]
    return json_response(body, links=links)


def get_assignment(ctx: Ctx, course_id: int, assignment_id: int) -> Response:
    include = set(str_list(ctx.params.get("include")))
    all_dates = "all_dates" in include or as_bool(ctx.params.get("all_dates")) is True
    assignment = ctx.state.assignment(assignment_id)
    return json_response(
        ctx.render.assignment(assignment, overrides="overrides" in include, all_dates=all_dates)
    )


def _apply_assignment_fields(ctx: Ctx, a: Assignment, fields: dict[str, Any]) -> None:
    if "name" in fields:
        a.name = str(fields["name"])
    if "points_possible" in fields:
        a.points_possible = float(fields["points_possible"] or 0)
    if "published" in fields:
        a.published = bool(as_bool(fields["published"]))
    if "omit_from_final_grade" in fields:
        a.omit_from_final_grade = bool(as_bool(fields["omit_from_final_grade"]))
    if "grading_type" in fields:
        a.grading_type = str(fields["grading_type"])
    if "submission_types" in fields:
        a.submission_types = str_list(fields["submission_types"]) or ["none"]
    if "description" in fields:
        a.description = str(fields["description"] or "")
    if "assignment_group_id" in fields:
        group_id = as_int(fields["assignment_group_id"])
        if group_id not in ctx.state.groups:
            raise SimError(400, {"errors": {"assignment_group_id": [{"message": "invalid"}]}})
        a.group_id = group_id
    for key in _DATE_KEYS:
        if key in fields:
            setattr(a, key, optional_time(fields, key))
    a.updated_at = ctx.state.now()


def create_assignment(ctx: Ctx, course_id: int) -> Response:
    """POST: unpublished unless `published` is given (draft state); placeholders for all.

    Without `assignment[assignment_group_id]` the assignment goes to the course's top group
    (lowest position): canvas-lms app/controllers/assignments_api_controller.rb `create`,
    "Defaults to the top assignment group in the course" (canvas-api.md §10 item 17).
    """
    fields = ctx.params.get("assignment")
    if not isinstance(fields, dict):
        raise SimError(400, {"errors": {"assignment": [{"message": "assignment is required"}]}})
    first_group = min(ctx.state.groups.values(), key=lambda g: (g.position, g.id))
    now = ctx.state.now()
    assignment = Assignment(
        id=ctx.state.next_id("assignment", 3001),
        name=str(fields.get("name") or "Unnamed Assignment"),
        group_id=first_group.id,
        position=0,
        points_possible=0.0,
        submission_types=["none"],
        created_at=now,
        published=False,
    )
    _apply_assignment_fields(ctx, assignment, fields)
    siblings = [
        a.position for a in ctx.state.assignments.values() if a.group_id == assignment.group_id
    ]
    assignment.position = max(siblings, default=0) + 1
    ctx.state.add_assignment(assignment)
    return json_response(ctx.render.assignment(assignment), status=201)


def update_assignment(ctx: Ctx, course_id: int, assignment_id: int) -> Response:
    assignment = ctx.state.assignment(assignment_id)
    fields = ctx.params.get("assignment")
    if isinstance(fields, dict):
        _apply_assignment_fields(ctx, assignment, fields)
    return json_response(ctx.render.assignment(assignment))


def delete_assignment(ctx: Ctx, course_id: int, assignment_id: int) -> Response:
    assignment = ctx.state.assignment(assignment_id)
    assignment.deleted = True
    return json_response(ctx.render.assignment(assignment))


# --------------------------------------------------------------------------- overrides
def _override(ctx: Ctx, assignment_id: int, override_id: int) -> Override:
    ctx.state.assignment(assignment_id)
    found = ctx.state.overrides.get(override_id)
    if found is None or found.assignment_id != assignment_id:
        raise SimError.not_found()
    return found


def _override_fields(ctx: Ctx, override: Override, fields: dict[str, Any]) -> None:
    # A PUT that omits an overridden date removes it (canvas-api.md §4).
    override.dates = {key: optional_time(fields, key) for key in _DATE_KEYS if key in fields}
    if "title" in fields:
        override.title = str(fields["title"])
    if "student_ids" in fields:
        override.student_ids = [int(s) for s in str_list(fields["student_ids"])]
    if "course_section_id" in fields:
        override.section_id = as_int(fields["course_section_id"])


def list_overrides(ctx: Ctx, course_id: int, assignment_id: int) -> Response:
    ctx.state.assignment(assignment_id)
    page, links = paginate_numbered(ctx, ctx.state.overrides_for(assignment_id))
    return json_response([ctx.render.override(o) for o in page], links=links)


def create_override(ctx: Ctx, course_id: int, assignment_id: int) -> Response:
    ctx.state.assignment(assignment_id)
    fields = ctx.params.get("assignment_override")
    if not isinstance(fields, dict):
        raise SimError(400, {"errors": {"assignment_override": "assignment_override required"}})
    if "student_ids" in fields and not fields.get("title"):
        raise SimError(400, {"errors": {"title": [{"message": "title is required"}]}})
    override = Override(
        id=ctx.state.next_id("override", 301),
        assignment_id=assignment_id,
        title=str(fields.get("title") or "Section override"),
    )
    _override_fields(ctx, override, fields)
    ctx.state.overrides[override.id] = override
    ctx.state.refresh_rows(assignment_id)  # SubmissionLifecycleManager runs on the change
    return json_response(ctx.render.override(override), status=201)


def get_override(ctx: Ctx, course_id: int, assignment_id: int, override_id: int) -> Response:
    return json_response(ctx.render.override(_override(ctx, assignment_id, override_id)))


def update_override(ctx: Ctx, course_id: int, assignment_id: int, override_id: int) -> Response:
    override = _override(ctx, assignment_id, override_id)
    fields = ctx.params.get("assignment_override")
    _override_fields(ctx, override, fields if isinstance(fields, dict) else {})
    ctx.state.refresh_rows(assignment_id)
    return json_response(ctx.render.override(override))


def delete_override(ctx: Ctx, course_id: int, assignment_id: int, override_id: int) -> Response:
    override = _override(ctx, assignment_id, override_id)
    del ctx.state.overrides[override.id]
    ctx.state.refresh_rows(assignment_id)
    return json_response(ctx.render.override(override))


_C = "/api/v1/courses/<int:course_id>"
_A = _C + "/assignments/<int:assignment_id>"
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", _C, get_course),
    ("GET", _C + "/assignment_groups", list_groups),
    ("POST", _C + "/assignment_groups", create_group),
    ("GET", _C + "/assignment_groups/<int:group_id>", get_group),
    ("GET", _C + "/assignments", list_assignments),
    ("POST", _C + "/assignments", create_assignment),
    ("GET", _A, get_assignment),
    ("PUT", _A, update_assignment),
    ("DELETE", _A, delete_assignment),
    ("GET", _A + "/overrides", list_overrides),
    ("POST", _A + "/overrides", create_override),
    ("GET", _A + "/overrides/<int:override_id>", get_override),
    ("PUT", _A + "/overrides/<int:override_id>", update_override),
    ("DELETE", _A + "/overrides/<int:override_id>", delete_override),
]
