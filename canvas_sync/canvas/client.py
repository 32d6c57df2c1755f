"""CanvasClient: the Canvas endpoints canvas-sync uses (SPEC §4, §8; canvas-api.md §4-§8).

Built on `HttpCore` (`_http.py`), the only code that speaks HTTP to Canvas: every call here is
throttled, retried and error-translated there. See `_http.py` for the retry rule, including why
a write that timed out after sending is never retried.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from canvas_sync.canvas import _translate as tr
from canvas_sync.canvas._http import PER_PAGE, HttpCore, Params
from canvas_sync.errors import NotFound, PushFailed

__all__ = [
    "ASSIGNMENT_CHUNK",
    "MAX_STUDENT_IDS",
    "PER_PAGE",
    "PROGRESS_END_STATES",
    "CanvasClient",
    "Params",
]

T = TypeVar("T")

#: `students/submissions` answers 400 "too many students" above 100 `student_ids[]`.
MAX_STUDENT_IDS = 100
#: Assignments per `students/submissions` request: the multi-assignment list is known to time
#: out on very large courses (SPEC §8), so keep each request's scope small.
ASSIGNMENT_CHUNK = 20
#: app/models/progress.rb: queued, running, waiting_for_external_tool, completed, failed,
#: canceled; only these three end a wait.
PROGRESS_END_STATES = ("completed", "failed", "canceled")
#: Longest sleep between two rounds of Progress polls (the backoff doubles up to it).
MAX_POLL_INTERVAL = 4.0
_SUBMISSION_INCLUDES = ("submission_history", "submission_comments", "rubric_assessment")
_ALL_ENROLLMENT_STATES = (
    "active",
    "invited",
    "creation_pending",
    "deleted",
    "rejected",
    "completed",
    "inactive",
)


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


class CanvasClient(HttpCore):
    """Throttled, retrying, error-translating Canvas REST client (SPEC §8).

    Constructor (from HttpCore): `CanvasClient(base_url, token, *, timeout=60.0,
    max_attempts=6, concurrency=2, backoff_base=0.5, backoff_max=30.0, transport=None,
    sleep=time.sleep, on_event=None)`; `base_url` without `/api/v1`.

    Example::

        with CanvasClient("https://canvas.example.edu", Secret(token)) as canvas:
            course = canvas.get_course(598)
    """

    def get_course(self, course_id: int) -> dict[str, Any]:
        """`GET /courses/:id` (canvas-api.md §4)."""
        return self._expect(self.get(f"/courses/{course_id}"), dict, f"course {course_id}")

    def assignment_groups(self, course_id: int) -> list[dict[str, Any]]:
        """Groups with their assignments and overrides, in one paged call (canvas-api.md §4).

        `override_assignment_dates=false` keeps `due_at` the base date rather than the caller's
        view; per-student dates come from overrides and `cached_due_date`.
        """
        params: Params = {
            "include[]": ["assignments", "overrides"],
            "override_assignment_dates": False,
        }
        return list(self.paginate(f"/courses/{course_id}/assignment_groups", params))

    def enrollments(self, course_id: int) -> list[dict[str, Any]]:
        """Student and test-student enrollments in every state; filtering is the policy's job."""
        params: Params = {
            "type[]": ["StudentEnrollment", "StudentViewEnrollment"],
            "state[]": list(_ALL_ENROLLMENT_STATES),
        }
        return list(self.paginate(f"/courses/{course_id}/enrollments", params))

    def student_submissions(
        self,
        course_id: int,
        assignment_ids: Sequence[int],
        student_ids: Sequence[int] | None = None,
        *,
        submitted_since: datetime | None = None,
        graded_since: datetime | None = None,
        include: Sequence[str] = _SUBMISSION_INCLUDES,
    ) -> list[dict[str, Any]]:
        """Submissions with history, comments and rubric assessments (canvas-api.md §6).

        `include=()` asks for the bare rows (a third of the bytes): enough to check a value,
        not to store (the database keeps the history).

        `student_ids=None` asks for `all` (test student and inactive enrollments included).
        Requests are split into <=100 students x <=ASSIGNMENT_CHUNK assignments; the chunks run
        on up to `concurrency` threads, the bookmark pages inside one chunk sequentially.
        """
        if not assignment_ids or (student_ids is not None and not student_ids):
            return []
        base: dict[str, tr.ParamValue] = {
            "include[]": list(include),
            "submitted_since": submitted_since,
            "graded_since": graded_since,
        }
        students: list[list[int | str]] = (
            [["all"]] if student_ids is None else _chunks(list(student_ids), MAX_STUDENT_IDS)
        )
        jobs = [
            {**base, "student_ids[]": chunk, "assignment_ids[]": assignments}
            for assignments in _chunks(list(assignment_ids), ASSIGNMENT_CHUNK)
            for chunk in students
        ]
        path = f"/courses/{course_id}/students/submissions"
        pages = self._map(lambda params: list(self.paginate(path, params)), jobs)
        return [row for page in pages for row in page]

    def late_policy(self, course_id: int) -> dict[str, Any] | None:
        """The course Late Policy, or None when the course has none (Canvas answers 404)."""
        try:
            body = self.get(f"/courses/{course_id}/late_policy")
        except NotFound:
            return None
        body = self._expect(body, dict, f"late policy of course {course_id}")
        inner = body.get("late_policy", body)
        return self._expect(inner, dict, f"late policy of course {course_id}")

    def custom_columns(self, course_id: int) -> list[dict[str, Any]]:
        """Custom gradebook columns, hidden ones too (so we never create a duplicate)."""
        params: Params = {"include_hidden": True}
        return list(self.paginate(f"/courses/{course_id}/custom_gradebook_columns", params))

    def column_data(self, course_id: int, column_id: int) -> list[dict[str, Any]]:
        """`[{user_id, content}]` of one column (only users with content)."""
        path = f"/courses/{course_id}/custom_gradebook_columns/{column_id}/data"
        return list(self.paginate(path, {"include_hidden": True}))

    def bulk_update_grades(
        self, course_id: int, assignment_id: int, grade_data: Mapping[int, Mapping[str, Any]]
    ) -> dict[str, Any]:
        """Queue one assignment's grade/comment writes; returns Canvas's Progress (SPEC §4).

        Body: `{"grade_data": {"<user_id>": {"posted_grade": "0", "text_comment": "..."}}}`.
        Not retried after a post-send timeout (see module docstring).
        """
        if not grade_data:
            raise ValueError("bulk_update_grades needs at least one student's grade data.")
        body = {"grade_data": {str(uid): dict(values) for uid, values in grade_data.items()}}
        path = f"/courses/{course_id}/assignments/{assignment_id}/submissions/update_grades"
        return self._expect(self.post(path, json=body), dict, f"POST {path}")

    def bulk_update_course_grades(
        self,
        course_id: int,
        grade_data: Mapping[int, Mapping[int, Mapping[str, Any]]],
    ) -> dict[str, Any]:
        """Queue one course-level job for many assignments; returns its Progress (§7).

        `POST /courses/:id/submissions/update_grades` with `{"grade_data": {"<assignment_id>":
        {"<user_id>": {"posted_grade": "0", "text_comment": "..."}}}}`
        (app/controllers/submissions_api_controller.rb `bulk_update`). An empty per-student
        entry changes nothing; not retried after a post-send failure (see `_http.py`).
        """
        if not grade_data or not all(grade_data.values()):
            raise ValueError("bulk_update_course_grades needs grade data for each assignment.")
        body = {
            "grade_data": {
                str(aid): {str(uid): dict(v) for uid, v in per_user.items()}
                for aid, per_user in grade_data.items()
            }
        }
        path = f"/courses/{course_id}/submissions/update_grades"
        return self._expect(self.post(path, json=body), dict, f"POST {path}")

    def progress(self, progress_id: int) -> dict[str, Any]:
        """`GET /progress/:id`."""
        return self._expect(self.get(f"/progress/{progress_id}"), dict, f"progress {progress_id}")

    def wait_progresses(
        self,
        progresses: Sequence[Mapping[str, Any]],
        *,
        timeout: float = 120.0,
        poll_interval: float = 0.5,
    ) -> dict[int, dict[str, Any]]:
        """Poll several Progress objects together until each ended or `timeout` passed.

        Each round polls every unfinished one, then sleeps; the sleep doubles from
        `poll_interval` up to MAX_POLL_INTERVAL. Returns the last answer of each by id: its
        `workflow_state` is completed, failed or canceled, or anything else on timeout (the
        caller decides; a failed job may still have written rows, canvas-api.md §10.11).
        """
        current = {int(p["id"]): dict(p) for p in progresses}
        interval, waited, started = poll_interval, 0.0, time.monotonic()
        while True:
            open_ids = [
                i for i, p in current.items() if p.get("workflow_state") not in PROGRESS_END_STATES
            ]
            if not open_ids or waited >= timeout:
                return current
            self._sleep(interval)
            waited = max(waited + interval, time.monotonic() - started)
            interval = min(interval * 2, max(MAX_POLL_INTERVAL, poll_interval))
            for progress_id in open_ids:
                current[progress_id] = self.progress(progress_id)

    def wait_progress(
        self, progress: Mapping[str, Any], *, timeout: float = 120.0, poll_interval: float = 0.5
    ) -> dict[str, Any]:
        """Wait for one Progress: returned when completed, else PushFailed (failed, canceled,
        or still running after `timeout`). A failed one may still have written some grades."""
        progress_id = int(progress["id"])
        current = self.wait_progresses([progress], timeout=timeout, poll_interval=poll_interval)
        answer = current[progress_id]
        state = answer.get("workflow_state")
        if state == "completed":
            return answer
        if state == "failed":
            reason = str(answer.get("message") or "no reason given").rstrip(".")
            raise PushFailed(
                f"Canvas's bulk grade update (progress {progress_id}) failed: {reason}; "
                "some grades may be written, run push again to re-read and reconcile."
            )
        if state == "canceled":
            raise PushFailed(
                f"Canvas's bulk grade update (progress {progress_id}) was canceled: "
                "run push again; it re-reads Canvas first."
            )
        raise PushFailed(
            f"Canvas's bulk grade update (progress {progress_id}) was still {state} "
            f"after {timeout:g} s: run push again later; it re-reads Canvas first."
        )

    def canvasapi(self) -> Any:
        """A `canvasapi.Canvas` whose requests session is mounted on this client (STYLE 2)."""
        from canvas_sync.canvas.adapter import mount_canvasapi

        return mount_canvasapi(self, self._token)
