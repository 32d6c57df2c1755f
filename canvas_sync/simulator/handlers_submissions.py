"""Handlers for submissions, grading and Progress (canvas-api.md §6, §7)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from werkzeug.wrappers import Response

from canvas_sync.simulator.fields import Fields
from canvas_sync.simulator.grading import apply_update, as_bool, bulk_job
from canvas_sync.simulator.records import Assignment, Submission
from canvas_sync.simulator.render import iso
from canvas_sync.simulator.state import SimError
from canvas_sync.simulator.web import (
    Ctx,
    as_int,
    json_response,
    paginate_bookmark,
    paginate_numbered,
    parse_time,
    str_list,
)

__all__ = ["ROUTES"]

MAX_STUDENT_IDS = 100
_WORKFLOW_STATES = ("submitted", "unsubmitted", "graded", "pending_review")


def _students(ctx: Ctx) -> list[int]:
    """`student_ids[]`: ids or `all` (every non-deleted student enrollment, test student too)."""
    wanted = str_list(ctx.params.get("student_ids"))
    # 100 in current Canvas; 50 on an older one (`state.api_limit`, canvas-api.md §10.24).
    if len(wanted) > min(MAX_STUDENT_IDS, ctx.state.api_limit):
        raise SimError(400, {"error": "too many students"})
    state_filter = ctx.params.get("enrollment_state")
    states: tuple[str, ...] | None = None
    if state_filter not in (None, ""):
        if state_filter not in ("active", "concluded"):
            raise SimError(400, {"error": "invalid enrollment_state"})
        states = ("active",) if state_filter == "active" else ("completed",)
    enrolled = {e.user_id for e in ctx.state.student_enrollments(states)}
    if "all" in wanted:
        return sorted(enrolled)
    ids = {as_int(w) for w in wanted}
    return sorted(uid for uid in enrolled if uid in ids)


def _assignments(ctx: Ctx) -> list[Assignment]:
    """Only published assignments are searched; asking for any other one is a 403."""
    live = {a.id: a for a in ctx.state.assignments.values() if not a.deleted}
    wanted = str_list(ctx.params.get("assignment_ids"))
    if not wanted:
        return [a for a in sorted(live.values(), key=lambda a: a.id) if a.published]
    chosen = []
    for raw in wanted:
        found = live.get(as_int(raw, -1) or -1)
        if found is None or not found.published:
            raise SimError(403, {"error": "invalid assignment ids requested"})
        chosen.append(found)
    return chosen


def _since(ctx: Ctx, key: str) -> datetime | None:
    raw = ctx.params.get(key)
    if raw in (None, ""):
        return None
    parsed = parse_time(raw)
    if parsed is None:
        raise SimError(400, {"errors": {key: f"Invalid datetime for {key}"}})
    return parsed


def _filtered(ctx: Ctx, rows: list[Submission]) -> list[Submission]:
    """since-filters are strict `>` and drop null timestamps (gotcha 8)."""
    submitted = _since(ctx, "submitted_since")
    graded = _since(ctx, "graded_since")
    workflow = ctx.params.get("workflow_state")
    if workflow not in (None, "") and workflow not in _WORKFLOW_STATES:
        raise SimError(400, {"error": "invalid workflow_state"})
    out = []
    for sub in rows:
        if submitted and (sub.submitted_at is None or not sub.submitted_at > submitted):
            continue
        if graded and (sub.graded_at is None or not sub.graded_at > graded):
            continue
        if workflow and sub.workflow_state != workflow:
            continue
        out.append(sub)
    return out


def _order_key(order: str) -> Callable[[Submission], list[Any]]:
    if order == "graded_at":
        return lambda s: [iso(s.graded_at) or "", s.id]
    return lambda s: [s.id]


def for_students(ctx: Ctx, course_id: int) -> Response:
    """`GET /courses/:id/students/submissions` — bookmark pages unless descending or grouped."""
    include = set(str_list(ctx.params.get("include")))
    students = _students(ctx)
    assignments = _assignments(ctx)
    rows = [
        ctx.state.submissions[(a.id, uid)]
        for a in assignments
        for uid in students
        if (a.id, uid) in ctx.state.submissions
    ]
    rows = _filtered(ctx, rows)
    if as_bool(ctx.params.get("grouped")) is True:
        return _grouped(ctx, students, rows, include)
    key = _order_key(str(ctx.params.get("order") or "id"))
    rows.sort(key=key)
    if ctx.params.get("order_direction") == "descending":
        rows.reverse()
        page, links = paginate_numbered(ctx, rows)
    else:
        page, links = paginate_bookmark(ctx, rows, key)
    fields = Fields.of(ctx.params)
    return json_response([ctx.render.submission(s, include, fields) for s in page], links=links)


def _grouped(ctx: Ctx, students: list[int], rows: list[Submission], include: set[str]) -> Response:
    """`grouped=true`: numbered pages over students (by id), each with its submissions; Canvas
    adds `has_postable_comments` to every submission (submissions_api_controller.rb
    `for_students`, lib/api/v1/submission.rb)."""
    include = include | {"has_postable_comments"}
    page, links = paginate_numbered(ctx, students)
    fields = Fields.of(ctx.params)
    by_student: dict[int, list[Submission]] = {}
    for sub in rows:
        by_student.setdefault(sub.user_id, []).append(sub)
    body = []
    for uid in page:
        user = ctx.state.users[uid]
        entry: dict[str, Any] = {
            "user_id": uid,
            "section_id": next(iter(ctx.state.section_ids(uid)), None),
            "sis_user_id": user.sis_user_id,
            "integration_id": None,
            "submissions": [
                ctx.render.submission(s, include, fields) for s in by_student.get(uid, ())
            ],
        }
        if "total_scores" in include:
            # Course score computation is out of scope for the simulator.
            for field in ("current_score", "final_score", "current_grade", "final_grade"):
                entry[f"computed_{field}"] = None
        body.append(entry)
    return json_response(body, links=links)


def list_for_assignment(ctx: Ctx, course_id: int, assignment_id: int) -> Response:
    """Numbered by user_id, every student row (test student included)."""
    include = set(str_list(ctx.params.get("include")))
    ctx.state.assignment(assignment_id)
    enrolled = {e.user_id for e in ctx.state.student_enrollments()}
    rows = sorted(
        (
            s
            for (aid, uid), s in ctx.state.submissions.items()
            if aid == assignment_id and uid in enrolled
        ),
        key=lambda s: s.user_id,
    )
    page, links = paginate_numbered(ctx, rows)
    fields = Fields.of(ctx.params)
    return json_response([ctx.render.submission(s, include, fields) for s in page], links=links)


def _student_row(ctx: Ctx, assignment_id: int, user_key: str) -> tuple[Assignment, Submission]:
    assignment = ctx.state.assignment(assignment_id)
    user = ctx.state.user_by_key(user_key)
    if user is None:
        raise SimError.not_found()
    return assignment, ctx.state.submission(assignment_id, user.id)


def get_submission(ctx: Ctx, course_id: int, assignment_id: int, user_key: str) -> Response:
    include = set(str_list(ctx.params.get("include")))
    _, sub = _student_row(ctx, assignment_id, user_key)
    return json_response(ctx.render.submission(sub, include, Fields.of(ctx.params)))


def put_submission(ctx: Ctx, course_id: int, assignment_id: int, user_key: str) -> Response:
    """Single grade/comment write; refused (401) on an unpublished assignment."""
    assignment, sub = _student_row(ctx, assignment_id, user_key)
    if not assignment.published:
        raise SimError.unauthorized()
    data: dict[str, Any] = {}
    fields = ctx.params.get("submission")
    if isinstance(fields, dict):
        data.update(
            {
                k: fields[k]
                for k in ("posted_grade", "excuse", "late_policy_status", "seconds_late_override")
                if k in fields
            }
        )
    comment = ctx.params.get("comment")
    if isinstance(comment, dict) and comment.get("text_comment"):
        data["text_comment"] = comment["text_comment"]
    if isinstance(ctx.params.get("rubric_assessment"), dict):
        data["rubric_assessment"] = ctx.params["rubric_assessment"]
    apply_update(ctx.state, assignment, sub, ctx.user_id, data)
    body = ctx.render.submission(sub, {"submission_comments"})
    body["all_submissions"] = [dict(body)]
    return json_response(body)


def _grade_data(ctx: Ctx) -> dict[str, Any]:
    data = ctx.params.get("grade_data")
    if not isinstance(data, dict) or not data:
        raise SimError(400, {"error": "'grade_data' parameter required"})
    return data


def _queue(ctx: Ctx, per_assignment: dict[int, dict[str, Any]]) -> Response:
    for assignment_id in per_assignment:
        if not ctx.state.assignments[assignment_id].published:
            raise SimError.unauthorized()
    job = bulk_job(ctx.state, ctx.user_id, per_assignment)
    progress = ctx.state.create_progress(ctx.user_id, "submissions_update", job)
    return json_response(ctx.render.progress(progress))


def bulk_assignment(ctx: Ctx, course_id: int, assignment_id: int) -> Response:
    """`grade_data[<student>][posted_grade]` → Progress (grades land on the first poll)."""
    data = _grade_data(ctx)
    ctx.state.assignment(assignment_id)
    return _queue(ctx, {assignment_id: data})


def bulk_course(ctx: Ctx, course_id: int) -> Response:
    """`grade_data[<assignment>][<student>][posted_grade]` → Progress."""
    data = _grade_data(ctx)
    per_assignment: dict[int, dict[str, Any]] = {}
    unknown = []
    for raw_id, per_user in data.items():
        assignment_id = as_int(raw_id, -1) or -1
        found = ctx.state.assignments.get(assignment_id)
        if found is None or found.deleted or not isinstance(per_user, dict):
            unknown.append(str(raw_id))
            continue
        per_assignment[assignment_id] = per_user
    if unknown:
        raise SimError(
            400, {"error": f"Some assignments could not be found: ({', '.join(unknown)})"}
        )
    return _queue(ctx, per_assignment)


def get_progress(ctx: Ctx, progress_id: int) -> Response:
    """Each poll advances the job one step: queued → running → completed|failed."""
    return json_response(ctx.render.progress(ctx.state.poll_progress(progress_id)))


_C = "/api/v1/courses/<int:course_id>"
_S = _C + "/assignments/<int:assignment_id>/submissions"
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", _C + "/students/submissions", for_students),
    ("POST", _C + "/submissions/update_grades", bulk_course),
    ("GET", _S, list_for_assignment),
    ("POST", _S + "/update_grades", bulk_assignment),
    ("GET", _S + "/<user_key>", get_submission),
    ("PUT", _S + "/<user_key>", put_submission),
    ("GET", "/api/v1/progress/<int:progress_id>", get_progress),
]
