"""Grade writes through the API: single PUT and the bulk `update_grades` job (canvas-api.md §7).

Rules mirrored from canvas-lms `SubmissionsApiController#update` and
`Submission.process_bulk_update`: excusing clears the score and status; a teacher-set
`late_policy_status` other than `late` drops `seconds_late_override`; the bulk job skips unchanged
scores and fails its Progress naming unknown students while still writing the others. The course
rubric is not "use for grading": a rubric assessment never changes the score (that is what lets
`rubric_mismatch` exist).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from canvas_sync.simulator.records import Assignment, Submission
from canvas_sync.simulator.state import CanvasState, SimError
from canvas_sync.simulator.tardiness import is_late, points_deducted, seconds_late

__all__ = [
    "LATE_POLICY_STATUSES",
    "apply_update",
    "as_bool",
    "bulk_job",
    "parse_posted_grade",
]

LATE_POLICY_STATUSES = ("late", "missing", "extended", "none")
_TRUE = {"1", "t", "true", "yes", "on"}
_FALSE = {"0", "f", "false", "no", "off", ""}


def as_bool(value: Any) -> bool | None:
    """Canvas booleans: true/false, t/f, 1/0, yes/no (canvas-api.md §1)."""
    if isinstance(value, bool):
        return value
    if value is None:
        return None
    text = str(value).strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    return None


def parse_posted_grade(raw: Any, assignment: Assignment) -> float | None:
    """`posted_grade` → points: "8", "13.5" (extra credit), "40%", pass/complete, fail/..."""
    if raw is None or str(raw).strip() == "":
        return None
    text = str(raw).strip()
    possible = assignment.points_possible
    lowered = text.lower()
    if lowered in ("pass", "complete"):
        return possible
    if lowered in ("fail", "incomplete"):
        return 0.0
    try:
        value = float(text[:-1]) * possible / 100 if text.endswith("%") else float(text)
    except ValueError:
        # Letter grades need a grading scheme; this course has none.
        raise SimError(400, {"error": f"invalid grade: {text}"}) from None
    if assignment.grading_type == "pass_fail" and value not in (0.0, possible):
        raise SimError(400, {"error": f"invalid grade: {text}"})
    return value


def _apply_status(sub: Submission, data: Mapping[str, Any], now: datetime) -> None:
    """A teacher-set `late_policy_status`; changing it moves `graded_at`.

    canvas-lms app/models/submission.rb `infer_values`:
    `if (workflow_state_changed? && graded?) || late_policy_status_changed?` then
    `self.graded_at = Time.zone.now`; setting a status also un-excuses.
    """
    if "late_policy_status" in data:
        status = str(data["late_policy_status"] or "").strip() or None
        if status is not None and status not in LATE_POLICY_STATUSES:
            raise SimError(400, {"error": f"invalid late_policy_status: {status}"})
        if status != sub.late_policy_status:
            sub.graded_at = now
        sub.late_policy_status = status
        if status:
            sub.excused = False
            sub.custom_grade_status_id = None

    if data.get("seconds_late_override") not in (None, ""):
        sub.seconds_late_override = int(float(data["seconds_late_override"]))
    if sub.late_policy_status != "late":
        sub.seconds_late_override = None


def apply_update(
    state: CanvasState,
    assignment: Assignment,
    sub: Submission,
    grader_id: int,
    data: Mapping[str, Any],
    *,
    skip_unchanged: bool = False,
) -> bool:
    """Apply one student's grade data; returns whether the score (or excusal) changed."""
    now = state.now()
    changed = False
    excuse = as_bool(data.get("excuse")) if "excuse" in data else None
    if excuse is True:
        changed = not sub.excused
        sub.excused, sub.entered_score = True, None
        sub.late_policy_status = sub.seconds_late_override = sub.custom_grade_status_id = None
        sub.grader_id, sub.graded_at = grader_id, now
    elif excuse is False:
        # Un-excusing gives no score: `did_grade` stays false, `graded_at` does not move
        # (canvas-lms app/models/abstract_assignment.rb `save_grade_to_submission`).
        sub.excused = False
    if "posted_grade" in data and excuse is not True:
        score = parse_posted_grade(data["posted_grade"], assignment)
        # The bulk job compares the resulting score, after the Late Policy deduction, with the
        # current one (canvas-lms app/models/submission.rb `process_bulk_update`, canvas-api.md
        # §10 item 21): with a 100% deduction, 0 over an entered 8 is "unchanged" and skipped.
        unchanged = (
            _after_deduction(state, assignment, sub, score)
            == _after_deduction(state, assignment, sub, sub.entered_score)
            and not sub.excused
            and sub.grader_id is not None
        )
        if not (skip_unchanged and unchanged):
            state.write_score(sub, score, grader_id, now)
            changed = changed or not unchanged
    _apply_status(sub, data, now)
    rubric = data.get("rubric_assessment")
    if isinstance(rubric, Mapping) and rubric:
        sub.rubric_assessment = state.rubric_points(assignment, rubric)
    text = data.get("text_comment")
    if text:
        state.add_comment(sub, grader_id, str(text), now)
    return changed


def _after_deduction(
    state: CanvasState, assignment: Assignment, sub: Submission, entered: float | None
) -> float | None:
    """The `score` Canvas would hold for `entered`: minus the Late Policy deduction, which
    applies to API-written grades too (app/models/submission.rb `apply_late_policy`)."""
    if entered is None:
        return None
    submitted = sub.submitted_at
    late_seconds = seconds_late(sub, state.due_for(assignment, sub.user_id), state.now(), submitted)
    late = is_late(sub, late_seconds, submitted)
    deducted = points_deducted(state.late_policy, assignment, entered, late_seconds if late else 0)
    return round(entered - (deducted or 0.0), 2)


def bulk_job(
    state: CanvasState, grader_id: int, grade_data: Mapping[int, Mapping[str, Any]]
) -> Callable[[], str | None]:
    """The delayed job behind `update_grades`; returns the Progress failure message, if any."""

    def run() -> str | None:
        missing: list[str] = []
        errors: list[str] = []
        for assignment_id, per_user in grade_data.items():
            assignment = state.assignments[assignment_id]
            for key, data in per_user.items():
                user = state.user_by_key(str(key))
                sub = state.submissions.get((assignment_id, user.id)) if user else None
                if sub is None:
                    missing.append(str(key))
                    continue
                payload = data if isinstance(data, Mapping) else {}
                try:
                    apply_update(state, assignment, sub, grader_id, payload, skip_unchanged=True)
                except SimError as exc:
                    errors.append(str(exc.body))
        if missing:
            return "Couldn't find User(s) with API ids " + ", ".join(f"'{k}'" for k in missing)
        return "; ".join(errors) or None

    return run
