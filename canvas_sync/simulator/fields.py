"""`response_fields[]` and `exclude_response_fields[]` of the submission endpoints, as
canvas-lms applies them (lib/api/v1/submission.rb `submission_attempt_json`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["SUBMISSION_JSON_FIELDS", "SUBMISSION_JSON_METHODS", "Fields"]

Json = dict[str, Any]

# canvas-lms lib/api/v1/submission.rb `submission_attempt_json`: the attributes and methods a
# submission (and each submission_history entry) renders, which `response_fields[]` intersects
# and `exclude_response_fields[]` subtracts. `preview_url` goes only with
# exclude_response_fields[]=preview_url; `anonymous_id` (added by `submission_json`) and the
# include[] blocks (history, comments, rubric) are not affected by either list.
SUBMISSION_JSON_FIELDS = frozenset(
    [
        "id",
        "user_id",
        "url",
        "score",
        "grade",
        "excused",
        "attempt",
        "submission_type",
        "submitted_at",
        "body",
        "assignment_id",
        "graded_at",
        "grade_matches_current_submission",
        "grader_id",
        "workflow_state",
        "late_policy_status",
        "points_deducted",
        "grading_period_id",
        "cached_due_date",
        "extra_attempts",
        "posted_at",
        "redo_request",
        "sticker",
        "custom_grade_status_id",
    ]
)
SUBMISSION_JSON_METHODS = frozenset(
    ["late", "missing", "seconds_late", "entered_grade", "entered_score"]
)


@dataclass(frozen=True)
class Fields:
    """A request's `response_fields[]` (None: not given) and `exclude_response_fields[]`."""

    only: frozenset[str] | None = None
    exclude: frozenset[str] = frozenset()

    @classmethod
    def of(cls, params: Mapping[str, Any]) -> Fields:
        only = _names(params.get("response_fields"))
        return cls(
            None if only is None else frozenset(only),
            frozenset(_names(params.get("exclude_response_fields")) or ()),
        )

    def apply(self, body: Json) -> Json:
        """The attempt JSON as Canvas trims it (keys outside both lists always stay)."""
        if self.only is None and not self.exclude:
            return body
        return {key: value for key, value in body.items() if self._keeps(key)}

    def _keeps(self, key: str) -> bool:
        if key == "preview_url":
            return key not in self.exclude
        if key in SUBMISSION_JSON_FIELDS or key in SUBMISSION_JSON_METHODS:
            return (self.only is None or key in self.only) and key not in self.exclude
        return True


def _names(value: Any) -> list[str] | None:
    if value is None:
        return None
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]
