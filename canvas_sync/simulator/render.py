"""JSON shapes exactly as Canvas renders them (canvas-api.md §4-§8).

Times are ISO 8601 UTC with `Z` and whole seconds (§9). Keys a Canvas teacher token would see are
always present (null when unset); optional blocks appear only when included.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from canvas_sync.simulator.fields import Fields
from canvas_sync.simulator.records import (
    Assignment,
    Attempt,
    Column,
    Comment,
    Enrollment,
    Group,
    LatePolicy,
    Override,
    Progress,
    Submission,
    User,
)
from canvas_sync.simulator.state import CanvasState
from canvas_sync.simulator.tardiness import (
    format_grade,
    is_late,
    is_missing,
    points_deducted,
    seconds_late,
)

__all__ = ["Renderer", "iso"]

Json = dict[str, Any]


def iso(value: datetime | None) -> str | None:
    """Canvas time encoding: UTC, whole seconds, trailing Z."""
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="seconds") + "Z"


class Renderer:
    """Turns records into Canvas JSON; needs the state (due dates, users) and the base URL."""

    def __init__(self, state: CanvasState, base_url: str) -> None:
        self.state = state
        self.base = base_url
        #: Submissions and enrollments rendered for this request: the throttle charges by the
        #: work done.
        self.rows_rendered = 0
        self.course_url = f"{base_url}/courses/{state.course.id}"

    # ----------------------------------------------------------------- course level
    def course(self) -> Json:
        c = self.state.course
        return {
            "id": c.id,
            "name": c.name,
            "course_code": c.course_code,
            "workflow_state": "available",
            "account_id": 1,
            "root_account_id": 1,
            "enrollment_term_id": 1,
            "time_zone": c.time_zone,
            "start_at": iso(c.start_at),
            "end_at": iso(c.end_at),
            "created_at": iso(c.start_at),
            "default_view": "modules",
            "is_public": False,
            "apply_assignment_group_weights": True,
            "grading_standard_id": None,
            "uuid": hashlib.sha1(str(c.id).encode()).hexdigest()[:40],
        }

    def group(self, group: Group, assignments: list[Json] | None) -> Json:
        body: Json = {
            "id": group.id,
            "name": group.name,
            "position": group.position,
            "group_weight": group.group_weight,
            "sis_source_id": None,
            "integration_data": {},
            "rules": dict(group.rules),
        }
        if assignments is not None:
            body["assignments"] = assignments
        return body

    def assignment(self, a: Assignment, overrides: bool = False, all_dates: bool = False) -> Json:
        own = self.state.overrides_for(a.id)
        body: Json = {
            "id": a.id,
            "name": a.name,
            "description": a.description,
            "course_id": self.state.course.id,
            "assignment_group_id": a.group_id,
            "position": a.position,
            "points_possible": a.points_possible,
            "grading_type": a.grading_type,
            "submission_types": list(a.submission_types),
            "due_at": iso(a.due_at),
            "unlock_at": iso(a.unlock_at),
            "lock_at": iso(a.lock_at),
            "created_at": iso(a.created_at),
            "updated_at": iso(a.updated_at),
            "published": a.published,
            "workflow_state": "published" if a.published else "unpublished",
            "omit_from_final_grade": a.omit_from_final_grade,
            "hide_in_gradebook": False,
            "post_manually": False,
            "allowed_attempts": -1,
            "only_visible_to_overrides": a.only_visible_to_overrides,
            "has_overrides": bool(own),
            "grading_standard_id": None,
            "html_url": f"{self.course_url}/assignments/{a.id}",
        }
        if a.rubric is not None:
            body["rubric"] = a.rubric
            body["use_rubric_for_grading"] = False
            body["rubric_settings"] = {
                "points_possible": sum(c["points"] for c in a.rubric),
                "free_form_criterion_comments": False,
            }
        if overrides:
            body["overrides"] = [self.override(o) for o in own]
        if all_dates:
            body["all_dates"] = self._all_dates(a, own)
        return body

    def _all_dates(self, a: Assignment, own: list[Override]) -> list[Json]:
        dates: list[Json] = [
            {
                "base": True,
                "due_at": iso(a.due_at),
                "unlock_at": iso(a.unlock_at),
                "lock_at": iso(a.lock_at),
            }
        ]
        for o in own:
            dates.append(
                {
                    "id": o.id,
                    "title": o.title,
                    "due_at": iso(o.dates.get("due_at", a.due_at)),
                    "unlock_at": iso(o.dates.get("unlock_at", a.unlock_at)),
                    "lock_at": iso(o.dates.get("lock_at", a.lock_at)),
                }
            )
        return dates

    def override(self, o: Override) -> Json:
        body: Json = {"id": o.id, "assignment_id": o.assignment_id, "title": o.title}
        if o.student_ids:
            body["student_ids"] = list(o.student_ids)
        if o.section_id is not None:
            body["course_section_id"] = o.section_id
        if o.course:
            body["course_id"] = self.state.course.id
        if o.unassign_item:
            body["unassign_item"] = True
        # Date keys appear only when the override overrides them (canvas-api.md §4).
        for key, value in o.dates.items():
            body[key] = iso(value)
        if "due_at" in o.dates:
            body["all_day"] = False
            body["all_day_date"] = None
        return body

    # ----------------------------------------------------------------- people
    def user(self, u: User, enrollments: list[Json] | None = None) -> Json:
        body: Json = {
            "id": u.id,
            "name": u.name,
            "created_at": iso(u.created_at),
            "sortable_name": u.sortable_name,
            "short_name": u.short_name,
            "sis_user_id": u.sis_user_id,
            "integration_id": None,
            "login_id": u.login_id,
        }
        if enrollments is not None:
            body["enrollments"] = enrollments
        return body

    def enrollment(self, e: Enrollment, with_user: bool = True) -> Json:
        self.rows_rendered += 1
        body: Json = {
            "id": e.id,
            "user_id": e.user_id,
            "course_id": self.state.course.id,
            "course_section_id": e.section_id,
            "type": e.type,
            "role": "StudentEnrollment" if e.type == "StudentViewEnrollment" else e.type,
            "role_id": {"TeacherEnrollment": 4, "TaEnrollment": 5}.get(e.type, 3),
            "enrollment_state": e.state,
            "created_at": iso(e.created_at),
            "updated_at": iso(e.created_at),
            "start_at": None,
            "end_at": None,
            "root_account_id": 1,
            "associated_user_id": None,
            "limit_privileges_to_course_section": False,
            "last_activity_at": None,
            "html_url": f"{self.course_url}/users/{e.user_id}",
        }
        if e.type in ("StudentEnrollment", "StudentViewEnrollment"):
            body["grades"] = {
                "html_url": f"{self.course_url}/grades/{e.user_id}",
                "current_score": None,
                "final_score": None,
                "current_grade": None,
                "final_grade": None,
            }
        if with_user:
            body["user"] = self.user(self.state.users[e.user_id])
        return body

    # ----------------------------------------------------------------- submissions
    def submission(self, sub: Submission, include: set[str], fields: Fields | None = None) -> Json:
        """One submission; `include` takes Canvas's include[] names, `fields` the request's
        response_fields[] / exclude_response_fields[] (applied to each history entry too)."""
        fields = fields or Fields()
        self.rows_rendered += 1
        assignment = self.state.assignments[sub.assignment_id]
        body = fields.apply(self._submission_core(sub, assignment, sub.latest, current=True))
        if "submission_history" in include:
            attempts: list[Attempt | None] = [*sub.attempts] or [None]
            body["submission_history"] = [
                fields.apply(self._submission_core(sub, assignment, a, current=a is sub.latest))
                for a in attempts
            ]
        if "has_postable_comments" in include:
            # app/models/submission.rb `postable_comments?`: an instructor's comment that is
            # hidden until the submission is posted.
            body["has_postable_comments"] = sub.posted_at is None and any(
                c.author_id != sub.user_id for c in sub.comments
            )
        if "submission_comments" in include:
            body["submission_comments"] = [self.comment(c) for c in sub.comments]
        if "rubric_assessment" in include and sub.rubric_assessment is not None:
            body["rubric_assessment"] = {k: dict(v) for k, v in sub.rubric_assessment.items()}
        if "assignment" in include:
            body["assignment"] = self.assignment(assignment)
        if "user" in include:
            body["user"] = self.user(self.state.users[sub.user_id])
        # Not Canvas: a test hook that sends unusable values (a broken record from a patched
        # or proxied Canvas); `...` removes the key.
        for key, value in self.state.record_faults.get(
            (sub.assignment_id, sub.user_id), {}
        ).items():
            if value is ...:
                body.pop(key, None)
            else:
                body[key] = value
        return body

    def _submission_core(
        self, sub: Submission, a: Assignment, attempt: Attempt | None, current: bool
    ) -> Json:
        due = self.state.due_for(a, sub.user_id)
        submitted_at = attempt.submitted_at if attempt else None
        if current:
            entered, graded_at, grader_id = sub.entered_score, sub.graded_at, sub.grader_id
        else:
            assert attempt is not None
            entered, graded_at, grader_id = (
                attempt.entered_score,
                attempt.graded_at,
                attempt.grader_id,
            )
        late_seconds = seconds_late(sub, due, self.state.now(), submitted_at)
        late = is_late(sub, late_seconds, submitted_at)
        deducted = points_deducted(self.state.late_policy, a, entered, late_seconds if late else 0)
        score = None if entered is None else round(entered - (deducted or 0.0), 2)
        number = attempt.number if attempt else None
        return {
            "id": sub.id,
            "user_id": sub.user_id,
            "assignment_id": a.id,
            "body": attempt.body if attempt else None,
            "url": None,
            "submitted_at": iso(submitted_at),
            "attempt": number,
            "submission_type": attempt.submission_type if attempt else None,
            "workflow_state": sub.workflow_state if current else "submitted",
            "score": score,
            "grade": format_grade(score, a),
            "entered_score": entered,
            "entered_grade": format_grade(entered, a),
            "grade_matches_current_submission": sub.grade_matches_current_submission,
            "graded_at": iso(graded_at),
            "grader_id": grader_id,
            "posted_at": iso(sub.posted_at),
            "excused": sub.excused,
            "late": late,
            "missing": is_missing(sub, a, late_seconds, submitted_at),
            "seconds_late": late_seconds,
            "late_policy_status": sub.late_policy_status,
            "points_deducted": deducted,
            "cached_due_date": iso(due),
            "grading_period_id": None,
            "extra_attempts": None,
            "redo_request": False,
            "custom_grade_status_id": sub.custom_grade_status_id,
            "sticker": None,
            "anonymous_id": hashlib.sha1(str(sub.id).encode()).hexdigest()[:5],
            "preview_url": (
                f"{self.course_url}/assignments/{a.id}/submissions/{sub.user_id}"
                f"?preview=1&version={number or 0}"
            ),
        }

    def comment(self, c: Comment) -> Json:
        return {
            "id": c.id,
            "author_id": c.author_id,
            "author_name": c.author_name,
            "comment": c.comment,
            "created_at": iso(c.created_at),
            "edited_at": None,
            "attempt": c.attempt,
            "avatar_path": f"/images/users/{c.author_id}",
            "author": {
                "id": c.author_id,
                "display_name": c.author_name,
                "avatar_image_url": f"{self.base}/images/messages/avatar-50.png",
                "html_url": f"{self.course_url}/users/{c.author_id}",
                "pronouns": None,
            },
        }

    # ----------------------------------------------------------------- misc
    def progress(self, p: Progress) -> Json:
        body: Json = {
            "id": p.id,
            "context_id": self.state.course.id,
            "context_type": "Course",
            "user_id": p.user_id,
            "tag": p.tag,
            "completion": p.completion,
            "workflow_state": p.workflow_state,
            "created_at": iso(p.created_at),
            "updated_at": iso(p.updated_at),
            "message": p.message,
            "url": f"{self.base}/api/v1/progress/{p.id}",
        }
        if p.workflow_state in ("completed", "failed", "canceled"):
            body["results"] = None
        return body

    def column(self, c: Column) -> Json:
        return {
            "id": c.id,
            "title": c.title,
            "position": c.position,
            "hidden": c.hidden,
            "read_only": c.read_only,
            "teacher_notes": c.teacher_notes,
        }

    def late_policy(self, p: LatePolicy) -> Json:
        return {
            "id": p.id,
            "course_id": p.course_id,
            "missing_submission_deduction_enabled": p.missing_submission_deduction_enabled,
            "missing_submission_deduction": p.missing_submission_deduction,
            "late_submission_deduction_enabled": p.late_submission_deduction_enabled,
            "late_submission_deduction": p.late_submission_deduction,
            "late_submission_interval": p.late_submission_interval,
            "late_submission_minimum_percent_enabled": p.late_submission_minimum_percent_enabled,
            "late_submission_minimum_percent": p.late_submission_minimum_percent,
            "created_at": iso(p.created_at),
            "updated_at": iso(p.updated_at),
        }
