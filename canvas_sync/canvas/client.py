"""CanvasClient: the Canvas endpoints canvas-sync uses (SPEC §4, §8; canvas-api.md §4-§8).

Built on `HttpCore` (`_http.py`), the only code that speaks HTTP to Canvas: every call here is
throttled, retried and error-translated there. See `_http.py` for the retry rule, including why
a write that timed out after sending is never retried.
"""

from __future__ import annotations

import time
from collections.abc import Generator, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, TypeVar

from canvas_sync.canvas import _translate as tr
from canvas_sync.canvas._http import PER_PAGE, HttpCore, Params
from canvas_sync.canvas._limits import LimitExceeded
from canvas_sync.errors import CanvasError, IncompleteListing, NotFound, PushFailed

__all__ = [
    "ASSIGNMENT_CHUNK",
    "GROUPED_ROWS",
    "GROUPED_TRIMMED_ROWS",
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
#: Submissions one grouped request may carry (`grouped=true`: numbered pages over students, each
#: with all its submissions of the asked assignments; canvas-lms submissions_api_controller.rb
#: `for_students`). Canvas's own gradebook asks 10 students a request for every assignment of
#: the course (ui/shared/grading/PerformanceControls: submissionsChunkSize 10): 500 rows keeps a
#: request of the same order, so a chunk is 500 // assignments students (<= the id limit).
GROUPED_ROWS = 500
#: The same for a read trimmed to a few fields (`response_fields[]`, no history or rubric):
#: a row is a tenth of the bytes, so a request may carry 100 students x 20 assignments.
GROUPED_TRIMMED_ROWS = 2000
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


#: Page sizes Canvas may really use for `per_page=100`: 100, or 50 on an older Canvas whose
#: maximum came from a setting (canvas-api.md §10 item 24). A list whose length is a multiple
#: of these may have ended on a full page, so its completeness is checked (`_listing`).
_PAGE_SIZE_UNIT = 50


def _all_students(params: Mapping[str, Any]) -> bool:
    return params.get("student_ids[]") == ["all"]


def _chunks(items: Sequence[T], size: int) -> list[list[T]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def _too_many_students(error: CanvasError) -> bool:
    """Canvas's 400 `{"error": "too many students"}` for a long `student_ids[]` list."""
    return type(error) is CanvasError and "too many students" in error.message


def _grouped_rows(entries: Sequence[Any], path: str) -> list[dict[str, Any]]:
    """The submissions of a grouped answer, `[{user_id, section_id, submissions: [...]}]`,
    as the plain list would give them (canvas-lms submissions_api_controller.rb `for_students`)."""
    rows: list[dict[str, Any]] = []
    for entry in entries:
        submissions = entry.get("submissions") if isinstance(entry, dict) else None
        if not isinstance(submissions, list):
            raise CanvasError(
                f"Canvas answered GET {path} (grouped) with an entry that has no submissions list."
            )
        rows += submissions
    return rows


class CanvasClient(HttpCore):
    """Throttled, retrying, error-translating Canvas REST client (SPEC §8).

    Constructor (from HttpCore): `CanvasClient(base_url, token, *, timeout=60.0,
    max_attempts=6, concurrency=2, backoff_base=0.5, backoff_max=30.0, limits=Limits(),
    transport=None, sleep=time.sleep, on_event=None)`; `base_url` without `/api/v1`;
    `timeout` is per network operation, `limits` the whole request's deadline and the caps.

    Example::

        with CanvasClient("https://canvas.example.edu", Secret(token)) as canvas:
            course = canvas.get_course(598)
    """

    #: `student_ids[]` per request: 100, or what a 400 "too many students" taught this client.
    _student_limit: int = MAX_STUDENT_IDS

    @property
    def student_limit(self) -> int:
        return self._student_limit

    def grouped_students(self, assignments: int, *, trimmed: bool = False) -> int:
        """Students per grouped `students/submissions` request for that many assignments."""
        rows = GROUPED_TRIMMED_ROWS if trimmed else GROUPED_ROWS
        return max(1, min(self.student_limit, rows // max(1, assignments)))

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
        return self._listing(f"/courses/{course_id}/assignment_groups", params)

    def enrollments(self, course_id: int) -> list[dict[str, Any]]:
        """Student and test-student enrollments in every state; filtering is the policy's job."""
        params: Params = {
            "type[]": ["StudentEnrollment", "StudentViewEnrollment"],
            "state[]": list(_ALL_ENROLLMENT_STATES),
        }
        rows = self._listing(f"/courses/{course_id}/enrollments", params)
        self._course_people[course_id] = len(rows)
        return rows

    def section_enrollments(self, course_id: int) -> list[dict[str, Any]] | None:
        """Every StudentEnrollment that is not deleted, as `enrollments` rows (with `user`), in
        one request for up to 100 sections; None when the answer lacks them.

        `GET /courses/:id/sections?include[]=students&include[]=enrollments` lists each
        section's `section.enrollments` of type StudentEnrollment, every state but deleted and
        unpaginated, each student with its enrollment (canvas-lms
        app/controllers/sections_controller.rb `index`, lib/api/v1/section.rb,
        app/models/course_section.rb). Not listed: deleted enrollments and the test student.
        A caller without the roster right gets sections without students (the includes are
        dropped), an older Canvas students without enrollments: both are None here, and so is
        an answer past the size or time caps (the enrollments' pages each stay small).
        """
        params: Params = {"include[]": ["students", "enrollments"]}
        rows: list[dict[str, Any]] = []
        try:
            sections = self._listing(f"/courses/{course_id}/sections", params)
        except LimitExceeded:
            return None
        for section in sections:
            if not isinstance(section, dict) or "students" not in section:
                return None
            students = section["students"]
            if students is None:
                continue  # Canvas sends null for a section without students
            if not isinstance(students, list):
                return None
            for student in students:
                enrollments = student.get("enrollments") if isinstance(student, dict) else None
                if not isinstance(enrollments, list) or not enrollments:
                    return None
                if not all(isinstance(e, dict) for e in enrollments):
                    return None
                user = {k: v for k, v in student.items() if k != "enrollments"}
                rows += [{**e, "user": user} for e in enrollments]
        self._course_people[course_id] = len(rows)
        return rows

    def student_submissions(
        self,
        course_id: int,
        assignment_ids: Sequence[int],
        student_ids: Sequence[int] | None = None,
        *,
        submitted_since: datetime | None = None,
        graded_since: datetime | None = None,
        include: Sequence[str] = _SUBMISSION_INCLUDES,
        fields: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """Submissions with history, comments and rubric assessments (canvas-api.md §6).

        `include=()` asks for the bare rows (a third of the bytes): enough to check a value,
        not to store (the database keeps the history). `fields` asks only for those
        attributes (`response_fields[]`, and no `preview_url`: canvas-lms lib/api/v1/
        submission.rb `submission_attempt_json`); the include[] blocks come whole.

        `student_ids=None` asks for `all` (test student and inactive enrollments included).
        Requests are split into <=100 students x <=ASSIGNMENT_CHUNK assignments; the chunks run
        on up to `concurrency` threads, the bookmark pages inside one chunk sequentially.
        """
        return self.submissions_in_groups(
            course_id,
            [(assignment_ids, student_ids)],
            submitted_since=submitted_since,
            graded_since=graded_since,
            include=include,
            fields=fields,
        )

    def submissions_in_groups(
        self,
        course_id: int,
        groups: Sequence[tuple[Sequence[int], Sequence[int] | None]],
        *,
        submitted_since: datetime | None = None,
        graded_since: datetime | None = None,
        include: Sequence[str] = _SUBMISSION_INCLUDES,
        fields: Sequence[str] | None = None,
    ) -> list[dict[str, Any]]:
        """`student_submissions` for several (assignments, students) groups at once: every
        group's requests share one pool of `concurrency` threads (rows in group order)."""
        return [
            row
            for batch in self.submission_batches(
                course_id,
                groups,
                submitted_since=submitted_since,
                graded_since=graded_since,
                include=include,
                fields=fields,
            )
            for row in batch
        ]

    def submission_batches(
        self,
        course_id: int,
        groups: Sequence[tuple[Sequence[int], Sequence[int] | None]],
        *,
        submitted_since: datetime | None = None,
        graded_since: datetime | None = None,
        include: Sequence[str] = _SUBMISSION_INCLUDES,
        fields: Sequence[str] | None = None,
        students_if_many: Sequence[int] | None = None,
    ) -> Iterator[list[dict[str, Any]]]:
        """`submissions_in_groups` one request's rows at a time (each a complete listing of
        one chunk of students and assignments), fetched at most `concurrency` chunks ahead:
        a caller that stores each batch before the next holds a bounded part of the course.

        A since-query of all students (`None`) is one listing whose pages follow each other.
        With `students_if_many`, one that runs to more pages than the rounds of reading it
        grouped by those students (a chunk a request, `concurrency` at a time) is asked again
        so (the same filters: Canvas applies `submitted_since`/`graded_since` to grouped reads
        too, submissions_api_controller.rb `for_students`): right after a push its window holds
        every grade the push wrote."""
        base: dict[str, tr.ParamValue] = {
            "include[]": list(include),
            "submitted_since": submitted_since,
            "graded_since": graded_since,
        }
        if fields is not None:
            base["response_fields[]"] = list(fields)
            base["exclude_response_fields[]"] = ["preview_url"]
        jobs = [
            job
            for assignment_ids, student_ids in groups
            if assignment_ids and (student_ids is None or student_ids)
            for job in self._submission_jobs(course_id, base, assignment_ids, student_ids)
        ]
        path = f"/courses/{course_id}/students/submissions"
        if not any(_all_students(params) for params, _ in jobs):
            yield from self._imap(lambda job: self._chunk_listing(path, job[0], job[1]), jobs)
            return
        for params, max_items in jobs:
            if not _all_students(params):
                yield self._chunk_listing(path, params, max_items)
                continue
            # A since-query's rows, a page at a time: right after a push its overlap window
            # holds every grade the push wrote (tens of thousands of rows with their history),
            # which must not be held at once.
            assignments = params["assignment_ids[]"]
            assert isinstance(assignments, list)
            grouped = (
                []
                if students_if_many is None
                else self._submission_jobs(course_id, base, assignments, students_if_many)
            )
            # The pages are followed while they have cost fewer rounds than the grouped read
            # takes; past that, the grouped read is at most as long again (ski rental).
            patience = -(-len(grouped) // self._concurrency)
            pages = self._listing_pages(path, params, max_items=max_items)
            for read, page in enumerate(pages, start=1):
                full = len(page) >= PER_PAGE  # counted first: a consumer may empty the batch
                yield page
                if grouped and full and read >= patience:
                    pages.close()
                    yield from self._imap(
                        lambda job: self._chunk_listing(path, job[0], job[1]), grouped
                    )
                    break

    def _submission_jobs(
        self,
        course_id: int,
        base: dict[str, tr.ParamValue],
        assignment_ids: Sequence[int],
        student_ids: Sequence[int] | None,
    ) -> list[tuple[dict[str, tr.ParamValue], int | None]]:
        jobs: list[tuple[dict[str, tr.ParamValue], int | None]] = []
        for assignments in _chunks(list(assignment_ids), ASSIGNMENT_CHUNK):
            if student_ids is None:
                # `all`: the rows themselves are paged (only the since-queries ask this, and
                # they return few rows; a grouped `all` would send an entry per student).
                params = {**base, "student_ids[]": ["all"], "assignment_ids[]": assignments}
                jobs.append((params, self._rows(course_id, ["all"], assignments)))
                continue
            # Named students: grouped, one request per chunk of students, each answer one
            # entry per student with all its rows (one page: the chunk is <= per_page).
            size = self.grouped_students(len(assignments), trimmed="response_fields[]" in base)
            for chunk in _chunks(list(student_ids), size):
                params = {
                    **base,
                    "student_ids[]": list(chunk),
                    "assignment_ids[]": assignments,
                    "grouped": True,
                }
                jobs.append((params, len(chunk)))
        return jobs

    def _chunk_listing(
        self, path: str, params: dict[str, tr.ParamValue], max_items: int | None
    ) -> list[dict[str, Any]]:
        """One chunk's rows; a 400 "too many students" (an older Canvas allows 50 ids, not
        100: canvas-api.md §10 item 24) halves the chunk and asks for each half."""
        # Named students: at most one row (grouped: one entry) per student and assignment, so
        # `max_items` are the whole list (no completeness probe needed); `all` is bounded by a
        # count only.
        named = params.get("student_ids[]") != ["all"]
        try:
            items = self._listing(
                path, params, max_items=max_items, complete_at=max_items if named else None
            )
            return _grouped_rows(items, path) if params.get("grouped") is True else items
        except CanvasError as error:
            students = params["student_ids[]"]
            if not _too_many_students(error) or not isinstance(students, list):
                raise
            if len(students) < 2:
                raise
            half = len(students) // 2
            # Later requests of this client start at the size that Canvas accepts.
            self._student_limit = min(self.student_limit, half)
            grouped = params.get("grouped") is True
            rows: list[dict[str, Any]] = []
            for part in (students[:half], students[half:]):
                if grouped:
                    bound: int | None = len(part)
                else:
                    bound = (
                        None if max_items is None else max_items * len(part) // len(students) + 1
                    )
                rows += self._chunk_listing(path, {**params, "student_ids[]": part}, bound)
            return rows

    def _listing(
        self,
        path: str,
        params: Params,
        *,
        max_items: int | None = None,
        complete_at: int | None = None,
    ) -> list[Any]:
        """Every row of a list endpoint, checked to be complete (surely so at `complete_at`
        rows, the most the list can hold).

        A list that ends without `rel="next"` on a page that may be full (its length a multiple
        of a page size Canvas uses) may have been cut short: a proxy that strips the `Link`
        header makes every list look one page long. One probe with `per_page=1` tells: Canvas
        always links a next page when one exists (canvas-lms lib/api.rb), so a probe without
        one means the links are lost and the list cannot be trusted (IncompleteListing).
        """
        return [
            row
            for page in self._listing_pages(
                path, params, max_items=max_items, complete_at=complete_at
            )
            for row in page
        ]

    def _listing_pages(
        self,
        path: str,
        params: Params,
        *,
        max_items: int | None = None,
        complete_at: int | None = None,
    ) -> Generator[list[Any], None, None]:
        """`_listing` a page at a time; the check that the list is complete comes after its
        last page (a caller that keeps pages must drop them when it raises)."""
        count = 0
        for page in self.pages(path, params, max_items=max_items):
            count += len(page)
            yield page
        if not count or count % _PAGE_SIZE_UNIT:
            return
        if complete_at is not None and count >= complete_at:
            return
        probe = self.send("GET", path, params=tr.encode_params({**params, "per_page": 1}))
        if "next" not in probe.links:
            raise IncompleteListing(
                f"Canvas ended GET {path} after {count} rows with no link to the next "
                "page although more exist (a proxy may be removing the Link header): let "
                "Link headers through, then sync again."
            )

    def _rows(
        self, course_id: int, chunk: Sequence[int | str], assignments: Sequence[int]
    ) -> int | None:
        """At most one row per student and assignment (None: `all` before any enrollments)."""
        people = self._course_people.get(course_id) if chunk == ["all"] else len(chunk)
        return None if people is None else people * len(assignments)

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
        return self._listing(f"/courses/{course_id}/custom_gradebook_columns", params)

    def column_data(self, course_id: int, column_id: int) -> list[dict[str, Any]]:
        """`[{user_id, content}]` of one column (only users with content)."""
        path = f"/courses/{course_id}/custom_gradebook_columns/{column_id}/data"
        return self._listing(path, {"include_hidden": True})

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

        Each round polls every unfinished one (`concurrency` at a time), then sleeps; the sleep
        doubles from `poll_interval` up to MAX_POLL_INTERVAL. Returns the last answer of each
        by id: its `workflow_state` is completed, failed or canceled, or anything else on
        timeout (the caller decides; a failed job may still have written rows, canvas-api.md
        §10.11).
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
            for progress_id, answer in zip(
                open_ids, self._map(self.progress, open_ids), strict=True
            ):
                current[progress_id] = answer

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
