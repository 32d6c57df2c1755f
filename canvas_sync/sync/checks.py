"""Canvas records the database cannot take, found before they are stored (issue: bad records).

One unusable record never aborts a sync: it is skipped and reported as an `unusable_record`
error naming the student, assignment, field and value (escaped and shortened), and since its
row is then absent, its cell is unknown to the policy (never zeroed). Text PostgreSQL refuses
(a NUL character, in a column or in JSON) is stored with U+FFFD in its place; names longer than
their column are shortened; every other record is stored as Canvas sent it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from canvas_sync.canvas import parse_assignment, parse_submission, parse_time
from canvas_sync.domain import Finding, Kind, Submission

__all__ = [
    "MAX_ID",
    "NAME_LENGTH",
    "PARSE_ERRORS",
    "clean_text",
    "submission_problem",
    "unusable",
    "usable_enrollments",
    "usable_groups",
    "usable_read",
    "usable_rows",
    "usable_submissions",
    "valid_id",
]

#: What parsing a row's nested parts (history, rubric, comments) raises when they are malformed:
#: the field checks do not cover those.
PARSE_ERRORS = (KeyError, TypeError, ValueError, OverflowError, AttributeError)
#: Canvas ids are signed 64-bit integers (canvas-api.md §9); the database columns are BIGINT.
MAX_ID = 2**63 - 1
#: Longest user or assignment name the database keeps (db/models.py `String(400)`).
NAME_LENGTH = 400
_NUL = "\x00"
_NUL_ESCAPE = "\\u0000"
_NUL_BYTES = _NUL_ESCAPE.encode()
_ID_FIELDS = ("id", "user_id", "assignment_id")
_NUMBER_FIELDS = ("score", "entered_score", "seconds_late")
_TIME_FIELDS = ("submitted_at", "cached_due_date", "graded_at")
# Short enumerations and grades (db/models.py column lengths): longer text is not Canvas's.
_TEXT_LIMITS = {"grade": 64, "workflow_state": 32, "submission_type": 64, "late_policy_status": 32}
_SHOWN = 60

Json = Mapping[str, Any]


def clean_text(value: Any) -> Any:
    """`value` (a JSON tree) with every NUL character replaced by U+FFFD.

    PostgreSQL refuses NUL in text columns and in JSON strings alike; nothing else is changed.
    """
    if isinstance(value, str):
        return value.replace(_NUL, "\ufffd") if _NUL in value else value
    if isinstance(value, dict):
        return {clean_text(k): clean_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [clean_text(v) for v in value]
    return value


def _has_nul(value: Any) -> bool:
    """Whether a JSON tree holds a NUL anywhere (keys too). JSON writes NUL as the escape
    `\\u0000`, so its C encoder answers in one pass where walking the tree in Python took a
    fifth of a full sync; an escaped backslash before "u0000" also matches, and only costs a
    needless clean."""
    try:
        return _NUL_BYTES in orjson.dumps(value, default=str)
    except TypeError:  # an integer past 64 bits, a key that is not a string
        return _NUL_ESCAPE in json.dumps(value, default=str)


def valid_id(value: Any) -> int | None:
    """A Canvas id (an int or a digit string, 1..2**63-1), or None when it is not one."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    else:
        return None
    return number if 0 < number <= MAX_ID else None


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 1] + "…"


def _bad_number(value: Any) -> bool:
    if value is None or value == "":
        return False
    if isinstance(value, bool):
        return True
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError):
        return True


def _bad_time(value: Any) -> bool:
    if value is None or value == "":
        return False
    try:
        parse_time(value)
    except (TypeError, ValueError, AttributeError):
        return True
    return False


def submission_problem(raw: Json) -> tuple[str, Any] | None:
    """The first (field, value) of a submission row the service cannot use, or None."""
    for name in _ID_FIELDS:
        if valid_id(raw.get(name)) is None:
            return name, raw.get(name)
    if raw.get("grader_id") is not None and valid_id(abs_id(raw.get("grader_id"))) is None:
        return "grader_id", raw.get("grader_id")
    for name in _NUMBER_FIELDS:
        if _bad_number(raw.get(name)):
            return name, raw.get(name)
    for name in _TIME_FIELDS:
        if _bad_time(raw.get(name)):
            return name, raw.get(name)
    for name, limit in _TEXT_LIMITS.items():
        value = raw.get(name)
        if value is not None and (not isinstance(value, str) or len(value) > limit):
            return name, value
    return None


def abs_id(value: Any) -> Any:
    """Grader ids are negative for autograders (canvas-api.md §6): check the magnitude."""
    if isinstance(value, int) and not isinstance(value, bool):
        return abs(value)
    if isinstance(value, str) and value.startswith("-"):
        return value[1:]
    return value


def unusable(what: str, raw: Json, field: str, value: Any) -> Finding:
    """The `unusable_record` finding for one skipped record: `raw`'s `id`, `user_id` and
    `assignment_id` name the record, its student and its assignment when they are usable."""
    student = valid_id(raw.get("user_id"))
    assignment = valid_id(raw.get("assignment_id"))
    record = valid_id(raw.get("id"))
    named = what + (f" {record}" if record is not None else "")
    if "user_id" in raw or what == "submission":
        named += f" of student {student}" if student is not None else " of an unknown student"
    if what == "submission":
        named += (
            f" for assignment {assignment}"
            if assignment is not None
            else " for an unknown assignment"
        )
    elif assignment is not None:
        named += f" {assignment}"
    shown = _shown(value)
    return Finding(
        kind=Kind.UNUSABLE_RECORD,
        student_id=student,
        assignment_id=assignment,
        canvas_value=f"{field}={shown}"[:255],
        expected_value=None,
        message=(
            f"Unusable Canvas record: {named} has {field} = {shown}; it was skipped and its "
            "grades are left alone until Canvas sends a usable one."
        ),
    )


def usable_submissions(
    raws: Iterable[Json],
) -> tuple[list[tuple[Submission, dict[str, Any]]], list[Finding]]:
    """Parsed rows (raw JSON cleaned of NUL), and a finding for each row that is skipped.

    A row without NUL is not copied deeply (tens of thousands of rows pass through here)."""
    rows: list[tuple[Submission, dict[str, Any]]] = []
    findings: list[Finding] = []
    for original in raws:
        raw, problem = _checked(original)
        if problem is None:
            try:
                rows.append((parse_submission(raw), raw))
                continue
            except PARSE_ERRORS as exc:
                problem = ("record", f"{type(exc).__name__}: {exc}")
        findings.append(unusable("submission", raw, *problem))
    return rows, findings


def usable_rows(raws: Iterable[Json]) -> list[dict[str, Any]]:
    """The rows (cleaned of NUL) whose fields the service can use, not parsed: for a caller
    that parses what it makes of them (and leaves out a row whose parse raises PARSE_ERRORS)."""
    return [raw for raw, problem in map(_checked, raws) if problem is None]


def usable_read(
    pairs: Iterable[tuple[Submission, dict[str, Any]]],
) -> list[tuple[Submission, dict[str, Any]]]:
    """`usable_rows` of rows already parsed, each kept with its Submission: parsed again only
    when NUL was cleaned out of it (and left out when that parse raises PARSE_ERRORS)."""
    kept: list[tuple[Submission, dict[str, Any]]] = []
    for sub, original in pairs:
        nul = _has_nul(original)
        raw = clean_text(dict(original)) if nul else original
        if submission_problem(raw) is not None:
            continue
        if nul:
            try:
                sub = parse_submission(raw)
            except PARSE_ERRORS:
                continue
        kept.append((sub, raw))
    return kept


def _checked(original: Json) -> tuple[dict[str, Any], tuple[str, Any] | None]:
    raw = clean_text(dict(original)) if _has_nul(original) else dict(original)
    return raw, submission_problem(raw)


def usable_enrollments(raws: Iterable[Json]) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Enrollments cleaned of NUL with names cut to fit, and a finding for each skipped one.

    An enrollment is skipped when its user id is not a Canvas id: without one it cannot be
    tied to any submission.
    """
    kept: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for original in raws:
        raw = clean_text(dict(original))
        user = raw.get("user") if isinstance(raw.get("user"), dict) else {}
        uid = user.get("id", raw.get("user_id"))
        if valid_id(uid) is None:
            findings.append(
                unusable("enrollment", {"id": raw.get("id"), "user_id": uid}, "user_id", uid)
            )
            continue
        for key in ("name", "sortable_name", "short_name"):
            if isinstance(user.get(key), str) and len(user[key]) > NAME_LENGTH:
                user[key] = user[key][: NAME_LENGTH - 1] + "…"
        kept.append(raw)
    return kept, findings


def _assignment_problem(raw: Json) -> tuple[str, Any] | None:
    if valid_id(raw.get("id")) is None:
        return "id", raw.get("id")
    if _bad_number(raw.get("points_possible")):
        return "points_possible", raw.get("points_possible")
    for name in ("due_at", "unlock_at", "lock_at"):
        if _bad_time(raw.get(name)):
            return name, raw.get(name)
    try:
        parse_assignment(raw)
    except (KeyError, TypeError, ValueError, OverflowError, AttributeError) as exc:
        return "record", f"{type(exc).__name__}: {exc}"
    return None


def usable_groups(raws: Iterable[Json]) -> tuple[list[dict[str, Any]], list[Finding]]:
    """Assignment groups with their unusable assignments (or the whole group, when its own id
    is unusable) left out and reported; names cut to fit."""
    kept: list[dict[str, Any]] = []
    findings: list[Finding] = []
    for original in raws:
        raw = clean_text(dict(original))
        if valid_id(raw.get("id")) is None:
            findings.append(unusable("assignment group", {}, "id", raw.get("id")))
            continue
        assignments = []
        for item in raw.get("assignments") or []:
            if isinstance(item.get("name"), str) and len(item["name"]) > NAME_LENGTH:
                item["name"] = item["name"][: NAME_LENGTH - 1] + "…"
            problem = _assignment_problem(item)
            if problem is None:
                assignments.append(item)
            else:
                findings.append(unusable("assignment", {"assignment_id": item.get("id")}, *problem))
        if "assignments" in raw:
            raw["assignments"] = assignments
        kept.append(raw)
    return kept, findings
