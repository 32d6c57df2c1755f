"""`init`: write a course config by discovering its readings in Canvas (SPEC §5, §7).

canvasapi's objects do the discovery (STYLE 2), on the client's own transport, so throttling,
retries and error translation are the same as for every other request.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from canvas_sync.canvas import CanvasClient
from canvas_sync.domain import Secret
from canvas_sync.errors import UsageError
from canvas_sync.sync import normalize_title

__all__ = [
    "DiscoveredCourse",
    "discover_course",
    "due_time_warnings",
    "render_config",
    "write_config",
]

DEFAULT_GROUP = "Reading Summaries"


@dataclass(frozen=True)
class DiscoveredReading:
    assignment_id: int
    title: str
    due_at: datetime | None


@dataclass(frozen=True)
class DiscoveredCourse:
    course_id: int
    name: str
    time_zone: str
    group: str | None
    readings: tuple[DiscoveredReading, ...]


def _title(name: str) -> str:
    """'Summary: LoRA: Low-Rank …' → 'LoRA: Low-Rank …' (the paper's title)."""
    head, _, rest = name.partition(":")
    return (
        rest.strip() if rest and normalize_title(head) in ("summary", "reading summary") else name
    )


def _parse_time(value: Any) -> datetime | None:
    if not value:
        return None
    return datetime.fromisoformat(str(value).replace("Z", "+00:00"))


def discover_course(
    base_url: str, token: Secret, course_id: int, *, group_name: str = DEFAULT_GROUP
) -> DiscoveredCourse:
    with CanvasClient(base_url, token) as client:
        course = client.canvasapi().get_course(course_id)
        groups = list(course.get_assignment_groups(include=["assignments"]))
    group = next((g for g in groups if g.name.strip().lower() == group_name.lower()), None)
    if group is None:
        names = ", ".join(sorted(repr(g.name) for g in groups)) or "none"
        raise UsageError(
            f"Course {course_id} has no assignment group {group_name!r} (it has {names}); "
            "pass --group NAME."
        )
    readings = tuple(
        DiscoveredReading(int(a["id"]), _title(str(a["name"])), _parse_time(a.get("due_at")))
        for a in sorted(group.assignments, key=lambda a: (a.get("due_at") or "~", a["id"]))
    )
    return DiscoveredCourse(
        course_id=course_id,
        name=str(course.name),
        time_zone=str(getattr(course, "time_zone", None) or "UTC"),
        group=str(group.name),
        readings=readings,
    )


def _usual_due_time(found: DiscoveredCourse) -> str:
    zone = ZoneInfo(found.time_zone)
    local_times = Counter(
        r.due_at.astimezone(zone).strftime("%H:%M:%S") for r in found.readings if r.due_at
    )
    return local_times.most_common(1)[0][0] if local_times else "23:59:59"


def _intended_due(due_at: datetime, zone: ZoneInfo, usual: str) -> datetime:
    """The due instant meant: an hour off the usual local time is taken as a date set across a
    DST change (11:59 PM CST copied past 2026-03-08 is 12:59 AM CDT the next day)."""
    for shift in (timedelta(hours=-1), timedelta(hours=1)):
        if (due_at + shift).astimezone(zone).strftime("%H:%M:%S") == usual:
            return due_at + shift
    return due_at


def _local(moment: datetime, zone: ZoneInfo) -> str:
    local = moment.astimezone(zone)
    return f"{local:%a %b} {local.day}, {local.year} {local:%H:%M %Z}"


def due_time_warnings(found: DiscoveredCourse) -> list[str]:
    """One sentence per reading whose Canvas due time is not the usual one, naming the reading,
    Canvas's date and the date the config assumes, so the instructor checks both."""
    zone, usual = ZoneInfo(found.time_zone), _usual_due_time(found)
    warnings = []
    for i, r in enumerate(found.readings, start=1):
        if r.due_at is None or r.due_at.astimezone(zone).strftime("%H:%M:%S") == usual:
            continue
        meant = _intended_due(r.due_at, zone, usual)
        label = f"R{i:02d} {r.title!r}"
        if meant != r.due_at:
            warnings.append(
                f"{label}: Canvas's due date {_local(r.due_at, zone)} is an hour off the usual "
                f"{usual[:5]}, as when a date is copied across a DST change; the config assumes "
                f"{_local(meant, zone)} (lecture {_lecture(meant, zone)}): check both."
            )
        else:
            warnings.append(
                f"{label}: Canvas's due date {_local(r.due_at, zone)} is not at the usual "
                f"{usual[:5]}; the config assumes lecture {_lecture(meant, zone)}: check it."
            )
    return warnings


def _lecture(due_at: datetime, zone: ZoneInfo) -> str:
    return (due_at.astimezone(zone).date() + timedelta(days=1)).isoformat()


def render_config(found: DiscoveredCourse, canvas_url: str) -> str:
    """A config shaped like config/cs598-s26.toml; lecture = the day after the local due date
    (of the intended due instant, when Canvas's is an hour off by DST: `due_time_warnings`)."""
    zone = ZoneInfo(found.time_zone)
    due_time = _usual_due_time(found)
    lines = [
        f"# {found.name}: written by 'canvas-sync init' from Canvas; review before use.",
        "# CANVAS_URL, CANVAS_TOKEN, CANVAS_COURSE_ID and CANVAS_SYNC_DATABASE_URL override it.",
        "",
        "[canvas]",
        f"url = {json.dumps(canvas_url)}",
        f"course_id = {found.course_id}",
        "",
        "[course]",
        f"name = {json.dumps(found.name)}",
        f"time_zone = {json.dumps(found.time_zone)}",
        "",
        "[policy]",
        f"required = {min(14, len(found.readings)) or 1}",
        "points_per_summary = 10",
        'selection = "best"',
        "weight = 20",
        "grace_seconds = 0",
        "",
        "[readings]",
        f"group = {json.dumps(found.group or DEFAULT_GROUP)}",
        "match_titles = true",
        f"due_time = {json.dumps(due_time)}",
        "",
    ]
    for reading in found.readings:
        lines += ["[[readings.list]]", f"title = {json.dumps(reading.title)}"]
        if reading.due_at is not None:
            lecture = _lecture(_intended_due(reading.due_at, zone, due_time), zone)
            lines.append(f"lecture = {lecture}")
        else:
            lines.append("# no due date in Canvas: set the lecture date")
            lines.append("lecture = 2026-01-01")
        lines.append("")
    return "\n".join(lines)


def write_config(
    path: Path, base_url: str, token: Secret, course_id: int, *, group: str, force: bool
) -> DiscoveredCourse:
    if path.exists() and not force:
        raise UsageError(f"{path} already exists; pass --force to overwrite it.")
    found = discover_course(base_url, token, course_id, group_name=group)
    path.write_text(render_config(found, base_url), encoding="utf-8")
    return found
