"""Where push writes totals (SPEC §4): the total assignment and the custom gradebook column,
found by name and, when asked (`init --create-targets`, `push`), created once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from canvas_sync.canvas import CanvasClient
from canvas_sync.errors import CanvasUnavailable
from canvas_sync.service.core import make_client
from canvas_sync.settings import Settings

__all__ = ["TOTALS_GROUP", "Targets", "ensure_targets"]

#: Where a new total assignment goes when the course has this group (issue 4).
TOTALS_GROUP = "Course Totals"
_CREATE_ATTEMPTS = 3


@dataclass(frozen=True)
class Targets:
    """The Canvas ids push writes totals to; None when missing (created by `ensure_targets`)."""

    total_assignment_id: int | None
    column_id: int | None
    created: tuple[str, ...] = ()


def _find_targets(
    settings: Settings, client: CanvasClient, known_total: int | None = None
) -> tuple[int | None, int | None]:
    """Ids of the total assignment and the column, by name (plain JSON: cheaper than canvasapi).

    `known_total` (the total assignment as the last sync stored it) saves listing assignments.
    """
    course_id = settings.course_id
    total = known_total or next(
        (
            int(a["id"])
            for a in client.paginate(f"/courses/{course_id}/assignments")
            if a.get("name") == settings.total_assignment and a.get("published", True)
        ),
        None,
    )
    column = next(
        (
            int(c["id"])
            for c in client.custom_columns(course_id)
            if c.get("title") == settings.total_column
        ),
        None,
    )
    return total, column


def ensure_targets(
    settings: Settings,
    *,
    client: CanvasClient | None = None,
    create: bool = True,
    known_total: int | None = None,
    found: Targets | None = None,
) -> Targets:
    """Find (and with `create`, make) the total assignment and the custom column; idempotent.

    The total assignment is worth 100 points, `omit_from_final_grade` (the readings already count
    in the final grade), published (Canvas refuses grades on unpublished assignments), and goes
    into the "Course Totals" group (weight 0, created if missing). Both are found by name first
    (`found`: what a call without `create` has just found, so it is not asked for again).
    """
    http = client or make_client(settings)
    try:
        for attempt in range(1, _CREATE_ATTEMPTS + 1):
            if attempt == 1 and found is not None:
                total_id, column_id = found.total_assignment_id, found.column_id
            else:
                total_id, column_id = _find_targets(settings, http, known_total)
            if not create or (total_id is not None and column_id is not None):
                return Targets(total_id, column_id)
            try:
                return _create_missing(settings, http, total_id, column_id)
            except CanvasUnavailable:
                # The answer to a create may be lost after Canvas made it: find by name again
                # before creating, so nothing is made twice.
                if attempt == _CREATE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")
    finally:
        if client is None:
            http.close()


def _create_missing(
    settings: Settings, http: CanvasClient, total_id: int | None, column_id: int | None
) -> Targets:
    created: list[str] = []
    course = http.canvasapi().get_course(settings.course_id)
    if total_id is None:
        total_id = _create_total(settings, course)
        created.append(f"assignment {settings.total_assignment!r}")
    if column_id is None:
        column = course.create_custom_column(
            column={"title": settings.total_column, "read_only": True}
        )
        column_id = int(column.id)
        created.append(f"column {settings.total_column!r}")
    return Targets(total_id, column_id, tuple(created))


def _create_total(settings: Settings, course: Any) -> int:
    """Publish an existing unpublished total assignment, or create it (canvasapi)."""
    existing = next(
        (a for a in course.get_assignments() if a.name == settings.total_assignment), None
    )
    if existing is not None:
        return int(existing.edit(assignment={"published": True}).id)
    fields: dict[str, Any] = {
        "name": settings.total_assignment,
        "points_possible": 100,
        "grading_type": "points",
        "submission_types": ["none"],
        "omit_from_final_grade": True,
        "published": True,
    }
    fields["assignment_group_id"] = _totals_group(course)
    return int(course.create_assignment(fields).id)


def _totals_group(course: Any) -> int:
    """The id of the "Course Totals" group, created (weight 0) if the course has none.

    The total must never land among the readings: Canvas puts an assignment created without a
    group into the course's top group (canvas-lms app/controllers/assignments_api_controller.rb
    `create`, canvas-api.md §10 item 17), which is often the reading group itself.
    """
    group = next((g for g in course.get_assignment_groups() if g.name == TOTALS_GROUP), None)
    if group is None:
        group = course.create_assignment_group(name=TOTALS_GROUP, group_weight=0)
    return int(group.id)
