"""What every view shares: the app's state, the course a request is about, the signed-in user,
strict query values (a bad one answers 400, never 500), and the audit trail."""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import wraps
from typing import Any, TypeVar, cast

from flask import abort, current_app, g, render_template, request, url_for

from canvas_sync import report
from canvas_sync.domain import Kind, Severity
from canvas_sync.service import accounts
from canvas_sync.settings import Settings

__all__ = [
    "KIND_MEANING",
    "State",
    "audit",
    "course",
    "course_url",
    "form_course",
    "int_arg",
    "page",
    "reading_labels",
    "require",
    "state",
    "user",
]

F = TypeVar("F", bound=Callable[..., Any])

#: What each kind means, one click from every discrepancy (the /kinds page).
KIND_MEANING: Mapping[Kind, str] = {
    Kind.LATE_GRADED: "A late submission has a non-zero Canvas score; push will set it to 0.",
    Kind.MISSING_UNGRADED: "A missing reading has no Canvas score; push will write 0.",
    Kind.LATE_RESUBMISSION: "An on-time attempt exists but the graded attempt is late.",
    Kind.SCORE_OUT_OF_RANGE: "The score is outside 0..points possible, or not a rubric step.",
    Kind.RUBRIC_MISMATCH: "The rubric items (P1–P5, each 0/1/2) do not add up to the score.",
    Kind.UNGRADED: "An on-time submission is still ungraded days after its due date.",
    Kind.GRADED_WITHOUT_SUBMISSION: "A score exists with no submission (graded on paper?).",
    Kind.OVER_SUBMITTED: "The student submitted more summaries than the number that count.",
    Kind.AT_RISK: "The student can no longer reach the required number of on-time summaries.",
    Kind.MANUAL_OVERRIDE: "A grade canvas-sync wrote was changed in Canvas by someone else; "
    "push leaves it alone until someone keeps the Canvas value or re-applies the policy.",
    Kind.TOTAL_MISMATCH: "Canvas's total assignment or column differs from the computed total.",
    Kind.DUE_DATE_MISMATCH: "The reading's Canvas due date differs from the syllabus date.",
    Kind.GROUP_RULE_MISMATCH: "The Canvas assignment group's drop rules disagree with the "
    "required-of-pool rule.",
    Kind.ASSIGNMENT_MISSING: "A configured reading has no matching Canvas assignment.",
    Kind.LATE_POLICY_CONFLICT: "Canvas's own Late Policy also deducts points, so late work "
    "would be penalised twice.",
}
SEVERITY_ORDER = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass
class PushJob:
    """An apply running in this process: its steps so far and, at the end, its outcome."""

    started_at: datetime
    by: str
    planned: int
    steps: list[str] = field(default_factory=list)
    state: str = "running"  # running | done | failed | refused
    outcome: str = ""


@dataclass
class State:
    """The app's courses, the accounts database, and per-process push plans and jobs."""

    courses: dict[int, Settings]
    database: accounts.Database
    allowed_hosts: tuple[str, ...]
    plans: dict[int, Any] = field(default_factory=dict)  # course id -> (plan, computed_at)
    jobs: dict[int, PushJob] = field(default_factory=dict)  # course id -> its latest apply
    lock: threading.Lock = field(default_factory=threading.Lock)


def reading_labels(columns: Sequence[report.ReadingColumn]) -> dict[int, str]:
    """A short, distinct label per reading: "Summary: LoRA: ..." titles all shorten to
    "Summary", so the rest of the title names them ("LoRA")."""
    labels = {c.assignment_id: c.short for c in columns}
    for c in columns:
        head, _, rest = c.name.partition(":")
        if rest.strip() and c.short.startswith(report.short_reading_name(head)):
            labels[c.assignment_id] = report.short_reading_name(rest)
    if len(set(labels.values())) < len(labels):  # still alike: the report's own labels
        return {c.assignment_id: c.short for c in columns}
    return labels


def state() -> State:
    return cast(State, current_app.extensions["canvas_sync"])


def int_arg(name: str, *, source: Mapping[str, str] | None = None) -> int | None:
    """An optional whole-number query or form value; anything else is a 400."""
    raw = (request.args if source is None else source).get(name, "")
    if raw == "":
        return None
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        abort(400, f"The value of {name!r} must be a whole number.")
    return int(raw)


def course() -> Settings:
    """The course of this request (`?course=ID`, default the config's first); unknown is 400."""
    courses = state().courses
    wanted = int_arg("course")
    if wanted is None:
        return next(iter(courses.values()))
    if wanted not in courses:
        abort(400, f"Course {wanted} is not served here.")
    return courses[wanted]


def form_course() -> Settings:
    """The course a form is about (its `course` field, default the config's first)."""
    courses = state().courses
    wanted = int_arg("course", source=request.form)
    if wanted is None:
        return next(iter(courses.values()))
    if wanted not in courses:
        abort(400, f"Course {wanted} is not served here.")
    return courses[wanted]


def user() -> accounts.User:
    found = g.get("user")
    assert found is not None, "views run only for a signed-in user"
    return cast(accounts.User, found)


def require(role: str) -> Callable[[F], F]:
    """Only users with `role` (the instructor) may use the view; others get 403."""

    def decorate(view: F) -> F:
        @wraps(view)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if user().role != role:
                abort(403, "Only the instructor may do this.")
            return view(*args, **kwargs)

        return cast(F, wrapper)

    return decorate


def audit(action: str, detail: str, settings: Settings | None = None) -> None:
    """Record who did what, in which course, now."""
    course_id = settings.course_id if settings is not None else None
    accounts.record_action(state().database, course_id, user().name, action, detail)


def course_url(endpoint: str, settings: Settings, **values: Any) -> str:
    """A link inside the app that keeps the course."""
    if len(state().courses) > 1:
        values["course"] = settings.course_id
    return url_for(endpoint, **values)


def page(template: str, settings: Settings, **context: Any) -> str:
    """Render a page with what the layout needs (user, courses, the current course)."""
    return render_template(
        template,
        me=user(),
        settings=settings,
        courses=list(state().courses.values()),
        curl=lambda endpoint, **values: course_url(endpoint, settings, **values),
        **context,
    )
