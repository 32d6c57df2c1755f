"""Handlers for enrollments, users, sections, custom gradebook columns and the late policy
(§5, §8)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Response

from canvas_sync.simulator.grading import as_bool
from canvas_sync.simulator.records import Column, Enrollment, User
from canvas_sync.simulator.state import SimError
from canvas_sync.simulator.web import (
    Ctx,
    as_int,
    json_response,
    paginate_bookmark,
    paginate_numbered,
    str_list,
)

__all__ = ["ROUTES"]

_DEFAULT_STATES = ("active", "invited")
_USER_TYPES = {
    "student": "StudentEnrollment",
    "teacher": "TeacherEnrollment",
    "ta": "TaEnrollment",
    "student_view": "StudentViewEnrollment",
    "observer": "ObserverEnrollment",
    "designer": "DesignerEnrollment",
}


def list_enrollments(ctx: Ctx, course_id: int) -> Response:
    """Bookmark pages. Default states active+invited. The test student's
    StudentViewEnrollment is listed only when `type[]` asks for it (simulator choice)."""
    types = str_list(ctx.params.get("type")) + str_list(ctx.params.get("role"))
    states = tuple(str_list(ctx.params.get("state"))) or _DEFAULT_STATES
    user_id = as_int(ctx.params.get("user_id"))
    rows: list[Enrollment] = []
    for e in sorted(ctx.state.enrollments.values(), key=lambda e: e.id):
        if types and e.type not in types:
            continue
        if not types and e.type == "StudentViewEnrollment":
            continue
        if e.state not in states or (user_id is not None and e.user_id != user_id):
            continue
        rows.append(e)
    page, links = paginate_bookmark(ctx, rows, key=lambda e: [e.id])
    return json_response([ctx.render.enrollment(e) for e in page], links=links)


def list_users(ctx: Ctx, course_id: int) -> Response:
    """Numbered pages without `last`, by sortable_name. The test student is dropped *after*
    paging unless asked for, so a page can come back short (canvas-api.md §5)."""
    include = set(str_list(ctx.params.get("include")))
    types = {_USER_TYPES.get(t, t) for t in str_list(ctx.params.get("enrollment_type"))}
    states = set(str_list(ctx.params.get("enrollment_state"))) or set(_DEFAULT_STATES)
    by_user: dict[int, list[Enrollment]] = {}
    for e in sorted(ctx.state.enrollments.values(), key=lambda e: e.id):
        if (types and e.type not in types) or e.state not in states:
            continue
        by_user.setdefault(e.user_id, []).append(e)
    users = sorted(
        (ctx.state.users[uid] for uid in by_user), key=lambda u: (u.sortable_name.lower(), u.id)
    )
    page, links = paginate_numbered(ctx, users, with_last=False)
    keep_test = "test_student" in include or "StudentViewEnrollment" in types
    body = []
    for user in page:
        if not keep_test and all(e.type == "StudentViewEnrollment" for e in by_user[user.id]):
            continue
        body.append(_user_json(ctx, user, by_user[user.id], "enrollments" in include))
    return json_response(body, links=links)


def list_sections(ctx: Ctx, course_id: int) -> Response:
    """Numbered pages of the course's sections by name, then id (canvas-lms
    app/controllers/sections_controller.rb `index`). `include[]=students` lists each section's
    StudentEnrollments in every state but deleted (`section.enrollments` excludes only deleted
    ones, app/models/course_section.rb), by enrollment id and unpaginated, or null when there
    are none; with `include[]=enrollments` each student carries that one enrollment
    (lib/api/v1/section.rb `section_json`). `total_students` counts active and invited ones."""
    include = set(str_list(ctx.params.get("include")))
    sections = sorted(ctx.state.sections.values(), key=lambda s: (s.name.lower(), s.id))
    page, links = paginate_numbered(ctx, sections)
    body = []
    for section in page:
        entry: dict[str, Any] = {
            "id": section.id,
            "name": section.name,
            "course_id": course_id,
            "nonxlist_course_id": None,
            "start_at": None,
            "end_at": None,
            "restrict_enrollments_to_section_dates": False,
        }
        listed = [
            e
            for e in sorted(ctx.state.enrollments.values(), key=lambda e: e.id)
            if e.section_id == section.id and e.type == "StudentEnrollment" and e.state != "deleted"
        ]
        if "students" in include:
            students = [
                _user_json(ctx, ctx.state.users[e.user_id], [e], "enrollments" in include)
                for e in listed
            ]
            entry["students"] = students or None
        if "total_students" in include:
            entry["total_students"] = sum(1 for e in listed if e.state in _DEFAULT_STATES)
        body.append(entry)
    return json_response(body, links=links)


def _user_json(ctx: Ctx, user: User, enrollments: list[Enrollment], nested: bool) -> Any:
    rows = [ctx.render.enrollment(e, with_user=False) for e in enrollments] if nested else None
    return ctx.render.user(user, rows)


# --------------------------------------------------------------------------- columns
def _column(ctx: Ctx, column_id: int) -> Column:
    found = ctx.state.columns.get(column_id)
    if found is None or found.deleted:
        raise SimError.not_found()
    return found


def list_columns(ctx: Ctx, course_id: int) -> Response:
    hidden = as_bool(ctx.params.get("include_hidden")) is True
    rows = sorted(
        (c for c in ctx.state.columns.values() if not c.deleted and (hidden or not c.hidden)),
        key=lambda c: (c.position, c.id),
    )
    page, links = paginate_numbered(ctx, rows)
    return json_response([ctx.render.column(c) for c in page], links=links)


def _column_fields(column: Column, fields: dict[str, Any]) -> None:
    if "title" in fields:
        column.title = str(fields["title"])
    if "position" in fields:
        column.position = as_int(fields["position"], column.position) or column.position
    for flag in ("hidden", "read_only", "teacher_notes"):
        if flag in fields:
            setattr(column, flag, bool(as_bool(fields[flag])))


def create_column(ctx: Ctx, course_id: int) -> Response:
    fields = ctx.params.get("column")
    if not isinstance(fields, dict) or not fields.get("title"):
        raise SimError(400, {"errors": {"title": [{"message": "title is required"}]}})
    position = max((c.position for c in ctx.state.columns.values()), default=0) + 1
    column = Column(id=ctx.state.next_id("column", 1), title="", position=position)
    _column_fields(column, fields)
    ctx.state.columns[column.id] = column
    return json_response(ctx.render.column(column))


def update_column(ctx: Ctx, course_id: int, column_id: int) -> Response:
    column = _column(ctx, column_id)
    fields = ctx.params.get("column")
    _column_fields(column, fields if isinstance(fields, dict) else {})
    return json_response(ctx.render.column(column))


def delete_column(ctx: Ctx, course_id: int, column_id: int) -> Response:
    column = _column(ctx, column_id)
    column.deleted = True
    return json_response(ctx.render.column(column))


def column_data(ctx: Ctx, course_id: int, column_id: int) -> Response:
    """`[{content, user_id}]` for users with data only."""
    column = _column(ctx, column_id)
    rows = [{"content": v, "user_id": k} for k, v in sorted(column.data.items())]
    page, links = paginate_numbered(ctx, rows)
    return json_response(page, links=links)


def _set_datum(column: Column, user_id: int, content: Any) -> None:
    # Blank content deletes the datum.
    text = "" if content is None else str(content)
    if text:
        column.data[user_id] = text
    else:
        column.data.pop(user_id, None)


def put_datum(ctx: Ctx, course_id: int, column_id: int, user_id: int) -> Response:
    column = _column(ctx, column_id)
    if user_id not in ctx.state.users:
        raise SimError.not_found()
    fields = ctx.params.get("column_data")
    # Canvas reads column_data[content]; canvasapi's update_column_data sends a bare
    # column_data=<text>, so both are accepted.
    content = fields.get("content") if isinstance(fields, dict) else fields
    _set_datum(column, user_id, content)
    return json_response({"content": content or "", "user_id": user_id})


def bulk_column_data(ctx: Ctx, course_id: int) -> Response:
    """`column_data[][column_id|user_id|content]` (or JSON) → Progress; applied on first poll."""
    raw = ctx.params.get("column_data")
    entries = list(raw.values()) if isinstance(raw, dict) else raw
    if not isinstance(entries, list) or not entries:
        raise SimError(400, {"errors": [{"message": "Missing column data parameters"}]})
    state = ctx.state

    def run() -> str | None:
        bad: list[str] = []
        for entry in entries:
            column = state.columns.get(as_int(entry.get("column_id"), -1) or -1)
            user = as_int(entry.get("user_id"))
            if column is None or column.deleted or user not in state.users:
                bad.append(f"{entry.get('column_id')}/{entry.get('user_id')}")
                continue
            _set_datum(column, int(str(user)), entry.get("content"))
        return f"Invalid column data: {', '.join(bad)}" if bad else None

    progress = state.create_progress(ctx.user_id, "custom_columns_update", run)
    return json_response(ctx.render.progress(progress))


# --------------------------------------------------------------------------- late policy
def get_late_policy(ctx: Ctx, course_id: int) -> Response:
    policy = ctx.state.late_policy
    if policy is None:
        raise SimError.not_found()
    return json_response({"late_policy": ctx.render.late_policy(policy)})


def patch_late_policy(ctx: Ctx, course_id: int) -> Response:
    """PATCH answers 204 with no body (canvas-api.md §8)."""
    policy = ctx.state.late_policy
    if policy is None:
        raise SimError.not_found()
    fields = ctx.params.get("late_policy")
    for key, value in (fields if isinstance(fields, dict) else {}).items():
        current = getattr(policy, key, None)
        if isinstance(current, bool):
            setattr(policy, key, bool(as_bool(value)))
        elif isinstance(current, float):
            setattr(policy, key, float(value))
        elif key == "late_submission_interval" and value in ("hour", "day"):
            policy.late_submission_interval = str(value)
    policy.updated_at = ctx.state.now()
    return Response(status=204)


_C = "/api/v1/courses/<int:course_id>"
_COL = _C + "/custom_gradebook_columns"
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", _C + "/enrollments", list_enrollments),
    ("GET", _C + "/users", list_users),
    ("GET", _C + "/search_users", list_users),  # same action; canvasapi's get_users uses it
    ("GET", _C + "/sections", list_sections),
    ("GET", _COL, list_columns),
    ("POST", _COL, create_column),
    ("PUT", _COL + "/<int:column_id>", update_column),
    ("DELETE", _COL + "/<int:column_id>", delete_column),
    ("GET", _COL + "/<int:column_id>/data", column_data),
    ("PUT", _COL + "/<int:column_id>/data/<int:user_id>", put_datum),
    ("PUT", _C + "/custom_gradebook_column_data", bulk_column_data),
    ("GET", _C + "/late_policy", get_late_policy),
    ("PATCH", _C + "/late_policy", patch_late_policy),
]
