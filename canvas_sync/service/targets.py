"""Where push writes totals (SPEC §4): the total assignment and the custom gradebook column,
found by name and, when asked (`init --create-targets`, `push`), created once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
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
    #: The look that found these (`ensure_targets(found=...)` creates from it without asking
    #: again).
    found: _Found | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class _Found:
    """What one look at the course found: ids by name, and where a new total would go."""

    total_id: int | None
    column_id: int | None
    unpublished_total: int | None = None
    totals_group: int | None = None


def _find_targets(
    settings: Settings, client: CanvasClient, known_total: int | None = None
) -> _Found:
    """The total assignment and the column, by name, in plain JSON (cheaper than canvasapi).

    One listing of the assignment groups with their assignments tells the total (published or
    not) and the "Course Totals" group; `known_total` (the total assignment as the last sync
    stored it, published) saves that listing.
    """
    course_id = settings.course_id

    def groups_listing() -> list[dict[str, Any]]:
        path = f"/courses/{course_id}/assignment_groups"
        return list(client.paginate(path, {"include[]": ["assignments"]}))

    calls: list[Callable[[], list[dict[str, Any]]]] = [lambda: client.custom_columns(course_id)]
    if known_total is None:
        calls.append(groups_listing)
    # Both listings at once (the client caps the requests in flight).
    columns, *listed = client.all_together(calls)
    groups = listed[0] if listed else []
    column = next((int(c["id"]) for c in columns if c.get("title") == settings.total_column), None)
    if known_total is not None:
        return _Found(known_total, column)
    named = [
        (a, g)
        for g in groups
        for a in g.get("assignments") or []
        if a.get("name") == settings.total_assignment
    ]
    total = next((int(a["id"]) for a, _ in named if a.get("published", True)), None)
    unpublished = next((int(a["id"]) for a, _ in named), None)
    group = next((int(g["id"]) for g in groups if g.get("name") == TOTALS_GROUP), None)
    return _Found(total, column, unpublished, group)


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
            if attempt == 1 and found is not None and found.found is not None:
                seen = found.found
            else:
                seen = _find_targets(settings, http, known_total)
            if not create or (seen.total_id is not None and seen.column_id is not None):
                return Targets(seen.total_id, seen.column_id, found=seen)
            try:
                return _create_missing(settings, http, seen)
            except CanvasUnavailable:
                # The answer to a create may be lost after Canvas made it: find by name again
                # before creating, so nothing is made twice.
                if attempt == _CREATE_ATTEMPTS:
                    raise
        raise AssertionError("unreachable")
    finally:
        if client is None:
            http.close()


def _create_missing(settings: Settings, http: CanvasClient, seen: _Found) -> Targets:
    """Create what is missing: the total and the column at once (neither needs the other)."""
    calls: list[Callable[[], int]] = []
    if seen.total_id is None:
        calls.append(lambda: _create_total(settings, http, seen))
    if seen.column_id is None:
        calls.append(lambda: _create_column(settings, http))
    made = iter(http.all_together(calls))
    total_id = next(made) if seen.total_id is None else seen.total_id
    column_id = next(made) if seen.column_id is None else seen.column_id
    created = [f"assignment {settings.total_assignment!r}"] if seen.total_id is None else []
    if seen.column_id is None:
        created.append(f"column {settings.total_column!r}")
    return Targets(total_id, column_id, tuple(created))


def _create_column(settings: Settings, http: CanvasClient) -> int:
    column = http.post(
        f"/courses/{settings.course_id}/custom_gradebook_columns",
        json={"column": {"title": settings.total_column, "read_only": True}},
    )
    return int(column["id"])


def _create_total(settings: Settings, http: CanvasClient, seen: _Found) -> int:
    """Publish an existing unpublished total assignment, or create it."""
    course = f"/courses/{settings.course_id}"
    if seen.unpublished_total is not None:
        path = f"{course}/assignments/{seen.unpublished_total}"
        return int(http.put(path, json={"assignment": {"published": True}})["id"])
    fields: dict[str, Any] = {
        "name": settings.total_assignment,
        "points_possible": 100,
        "grading_type": "points",
        "submission_types": ["none"],
        "omit_from_final_grade": True,
        "published": True,
        "assignment_group_id": _totals_group(http, course, seen),
    }
    return int(http.post(f"{course}/assignments", json={"assignment": fields})["id"])


def _totals_group(http: CanvasClient, course: str, seen: _Found) -> int:
    """The id of the "Course Totals" group, created (weight 0) if the course has none.

    The total must never land among the readings: Canvas puts an assignment created without a
    group into the course's top group (canvas-lms app/controllers/assignments_api_controller.rb
    `create`, canvas-api.md §10 item 17), which is often the reading group itself.
    """
    if seen.totals_group is not None:
        return seen.totals_group
    made = http.post(f"{course}/assignment_groups", json={"name": TOTALS_GROUP, "group_weight": 0})
    return int(made["id"])
