"""THE NAIVE BASELINE: the script an instructor writes with canvasapi (not canvas-sync).

This file is deliberately NOT how canvas-sync works. It is the comparison point of
`bench_sync.py`: the loop a careful instructor would write with canvasapi, the field's standard
client, from its documentation:

- pull: the course, its assignment groups and assignments, the students (`course.get_users`),
  then **one `assignment.get_submissions(...)` listing per reading** (with history, comments and
  rubric), every time: the script keeps no watermarks, so every "sync" downloads everything;
- "database": the pulled course is written to a JSON file (what such a script keeps);
- policy: late → 0, missing past due → 0, the best 14 of 19 → a total percent;
- push: pull everything, then **one `submission.edit(...)` per grade** (with the comment in the
  same call), one per student's total, and one `update_column_data` per column entry; only
  values that differ from Canvas's are written, so a second push writes nothing;
- throttling: canvasapi does not retry, so on a "Rate Limit Exceeded" 403 the script sleeps and
  tries the call again (a whole listing starts over).

It imports nothing from canvas_sync, so its memory and start-up are its own.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from canvasapi import Canvas
from canvasapi.custom_gradebook_columns import ColumnData
from canvasapi.exceptions import Forbidden

# What the instructor hard-codes from the syllabus and the course's Canvas setup.
READING_GROUP = "Reading Summaries"
TOTAL_ASSIGNMENT = "Reading Summaries Total"
TOTAL_COLUMN = "Counted reading summaries"
REQUIRED, POINTS = 14, 10.0
INCLUDE = ["submission_history", "submission_comments", "rubric_assessment"]
RETRY_SLEEP_S, RETRIES = 2.0, 30

T = TypeVar("T")


@dataclass
class Timers:
    db_s: float = 0.0
    policy_s: float = 0.0
    edits: int = 0
    retries: int = 0


@dataclass
class Pulled:
    course: Any
    readings: list[Any]
    total: Any
    students: list[Any]
    # (assignment id, user id) → canvasapi Submission
    submissions: dict[tuple[int, int], Any] = field(default_factory=dict)


def retry(call: Callable[[], T], timers: Timers) -> T:
    """canvasapi raises on a throttling 403; the instructor's fix is to wait and try again.

    (canvasapi 3.x raises a plain `Forbidden` with Canvas's "Rate Limit Exceeded" text for a
    403, its `RateLimitExceeded` subclass only for a 429.)
    """
    for _ in range(RETRIES):
        try:
            return call()
        except Forbidden as exc:
            if "Rate Limit Exceeded" not in str(exc):
                raise
            timers.retries += 1
            time.sleep(RETRY_SLEEP_S)
    return call()


def pull(canvas: Canvas, course_id: int, timers: Timers) -> Pulled:
    course = retry(lambda: canvas.get_course(course_id), timers)
    groups = retry(lambda: list(course.get_assignment_groups()), timers)
    group_id = next(g.id for g in groups if g.name == READING_GROUP)
    assignments = retry(lambda: list(course.get_assignments()), timers)
    readings = [a for a in assignments if a.assignment_group_id == group_id and a.published]
    total = next(a for a in assignments if a.name == TOTAL_ASSIGNMENT)
    students = retry(
        lambda: list(
            course.get_users(enrollment_type=["student"], enrollment_state=["active", "completed"])
        ),
        timers,
    )
    pulled = Pulled(course, readings, total, students)
    for assignment in [*readings, total]:
        rows = retry(lambda a=assignment: list(a.get_submissions(include=INCLUDE)), timers)
        for sub in rows:
            pulled.submissions[(assignment.id, sub.user_id)] = sub
    return pulled


def save(pulled: Pulled, path: Path, timers: Timers) -> None:
    started = time.perf_counter()
    rows = [
        {k: v for k, v in vars(sub).items() if not k.startswith("_")}
        for sub in pulled.submissions.values()
    ]
    path.write_text(json.dumps(rows, default=str), encoding="utf-8")
    timers.db_s += time.perf_counter() - started


def _due(sub: Any) -> datetime | None:
    raw = getattr(sub, "cached_due_date", None)
    return datetime.fromisoformat(raw.replace("Z", "+00:00")) if raw else None


def target_score(sub: Any, now: datetime) -> tuple[float | None, str | None]:
    """(the score the syllabus gives, a comment) — None when the policy leaves it alone."""
    if sub.excused or sub.late_policy_status in ("none", "extended"):
        return sub.score, None
    if sub.submitted_at and sub.late:
        return 0.0, f"Submitted {sub.submitted_at}, due {sub.cached_due_date}: late work gets 0."
    due = _due(sub)
    if not sub.submitted_at and sub.score is None and due is not None and due < now:
        return 0.0, None
    return sub.score, None


def plan(pulled: Pulled, now: datetime, timers: Timers) -> list[tuple[Any, Any, str | None]]:
    """(submission, new value, comment) for every cell whose Canvas value differs."""
    started = time.perf_counter()
    changes: list[tuple[Any, Any, str | None]] = []
    for student in pulled.students:
        scores: list[tuple[float, str]] = []
        for reading in pulled.readings:
            sub = pulled.submissions.get((reading.id, student.id))
            if sub is None or sub.excused:
                continue
            score, comment = target_score(sub, now)
            if score is not None and score != sub.score:
                changes.append((sub, score, comment))
            if score is not None:
                scores.append((score, reading.name))
        best = sorted(scores, key=lambda s: -s[0])[:REQUIRED]
        percent = round(100 * sum(s for s, _ in best) / (REQUIRED * POINTS), 2)
        total = pulled.submissions.get((pulled.total.id, student.id))
        if total is not None and total.score != percent:
            changes.append((total, percent, None))
        column = "Counted: " + ", ".join(name for _, name in best)
        changes.append((("column", student.id), column, None))
    timers.policy_s += time.perf_counter() - started
    return changes


def _column(pulled: Pulled, timers: Timers) -> tuple[Any, dict[int, Any]]:
    columns = retry(lambda: list(pulled.course.get_custom_columns()), timers)
    column = next((c for c in columns if c.title == TOTAL_COLUMN), None)
    if column is None:
        column = retry(
            lambda: pulled.course.create_custom_column(column={"title": TOTAL_COLUMN}), timers
        )
    entries = retry(lambda: list(column.get_column_entries()), timers)
    return column, {e.user_id: e for e in entries}


def push(pulled: Pulled, now: datetime, timers: Timers) -> None:
    """One request per changed grade, total and column entry, one after another."""
    changes = plan(pulled, now, timers)
    column, entries = _column(pulled, timers)
    for target, value, comment in changes:
        if isinstance(target, tuple):
            entry = entries.get(target[1])
            if entry is not None and getattr(entry, "content", None) == value:
                continue
            if entry is None:
                attrs = {"course_id": pulled.course.id, "user_id": target[1]}
                entry = ColumnData(column._requester, {**attrs, "gradebook_column_id": column.id})
            retry(lambda e=entry, v=value: e.update_column_data(v), timers)
        else:
            grade: dict[str, Any] = {"submission": {"posted_grade": value}}
            if comment:
                grade["comment"] = {"text_comment": comment}
            retry(lambda t=target, g=grade: t.edit(**g), timers)
        timers.edits += 1


def run(scenario: str, url: str, token: str, course_id: int, state_dir: Path) -> dict[str, Any]:
    """One benchmark scenario; sync scenarios pull and save, push scenarios pull and push."""
    timers = Timers()
    canvas = Canvas(url, token)
    now = datetime.now(UTC)
    pulled = pull(canvas, course_id, timers)
    if scenario in ("push", "noop_push"):
        push(pulled, now, timers)
    else:
        save(pulled, state_dir / "naive-course.json", timers)
        plan(pulled, now, timers)
    return {
        "db_s": timers.db_s,
        "policy_s": timers.policy_s,
        "detail": {"edits": timers.edits, "throttle_retries": timers.retries},
    }
