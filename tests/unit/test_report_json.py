"""SPEC §6: the report model and its JSON, field for field."""

from __future__ import annotations

import ast
import json
import math
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
import report_fixtures as fx

import canvas_sync.report as report_pkg
from canvas_sync.domain import Selection
from canvas_sync.errors import UsageError
from canvas_sync.report import Report, build_report, render_json, report_to_dict

TOP_KEYS = ["course", "generated_at", "policy", "students", "discrepancies"]
COURSE_KEYS = ["id", "name"]
POLICY_KEYS = ["required", "pool", "points_per_summary", "selection", "weight"]
STUDENT_KEYS = [
    "id", "name", "sis_user_id", "readings", "points", "possible", "percent", "weighted",
    "on_time_count", "ungraded_count", "at_risk",
]  # fmt: skip
READING_KEYS = [
    "assignment_id", "name", "due_at", "submitted_at", "status", "canvas_score",
    "policy_score", "counted",
]  # fmt: skip
DISCREPANCY_KEYS = [
    "id", "kind", "severity", "student_id", "assignment_id", "canvas_value", "expected_value",
    "message", "state",
]  # fmt: skip
Z_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def make(student_id: int | None = None, **overrides: Any) -> Report:
    kwargs: dict[str, Any] = {
        "pool": fx.POOL,
        "results": fx.results(),
        "discrepancies": fx.discrepancies(),
        "generated_at": fx.GENERATED_AT,
        "student_id": student_id,
    }
    kwargs.update(overrides)
    return build_report(fx.COURSE, fx.CONFIG, **kwargs)


def as_json(report: Report) -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(render_json(report))
    return parsed


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def test_keys_and_order_match_spec_6_at_every_level() -> None:
    data = as_json(make())
    assert list(data) == TOP_KEYS
    assert list(data["course"]) == COURSE_KEYS
    assert list(data["policy"]) == POLICY_KEYS
    assert data["students"] and data["discrepancies"]
    for student in data["students"]:
        assert list(student) == STUDENT_KEYS
        for reading in student["readings"]:
            assert list(reading) == READING_KEYS
    for record in data["discrepancies"]:
        assert list(record) == DISCREPANCY_KEYS


def test_course_policy_and_generated_at() -> None:
    data = as_json(make())
    assert data["course"] == {"id": 598, "name": fx.COURSE.name}
    # whole seconds, UTC, Z: the fixture clock has microseconds that must not leak
    assert data["generated_at"] == "2026-03-20T15:00:00Z"
    assert data["policy"] == {
        "required": 14, "pool": 19, "points_per_summary": 10, "selection": "best", "weight": 20,
    }  # fmt: skip
    assert all(is_int(data["policy"][k]) for k in ("required", "pool", "weight"))


def test_policy_reflects_config() -> None:
    config = replace(fx.CONFIG, required=12, selection=Selection.FIRST, points_per_summary=2.5)
    report = build_report(
        fx.COURSE, config, pool=15, results=[], discrepancies=[], generated_at=fx.GENERATED_AT
    )
    policy = report_to_dict(report)["policy"]
    assert policy["required"] == 12 and policy["pool"] == 15
    assert policy["selection"] == "first" and policy["points_per_summary"] == 2.5


def test_value_types() -> None:
    data = as_json(make())
    for student in data["students"]:
        assert is_int(student["id"])
        assert student["sis_user_id"] is None or isinstance(student["sis_user_id"], str)
        for key in ("points", "percent", "weighted"):
            assert isinstance(student[key], float)
        assert student["possible"] == 140 and is_int(student["possible"])
        assert is_int(student["on_time_count"]) and is_int(student["ungraded_count"])
        assert isinstance(student["at_risk"], bool)
        for reading in student["readings"]:
            assert is_int(reading["assignment_id"])
            assert isinstance(reading["counted"], bool)
            for key in ("due_at", "submitted_at"):
                assert reading[key] is None or Z_TIME.fullmatch(reading[key])
            for key in ("canvas_score", "policy_score"):
                assert reading[key] is None or isinstance(reading[key], float)
    for record in data["discrepancies"]:
        assert is_int(record["id"])
        for key in ("student_id", "assignment_id"):
            assert record[key] is None or is_int(record[key])
        for key in ("canvas_value", "expected_value"):
            assert record[key] is None or isinstance(record[key], str)


def test_numbers_are_exact_not_rounded() -> None:
    data = as_json(make())
    markup = next(s for s in data["students"] if s["id"] == fx.MARKUP.id)
    assert markup["points"] == 80.0 / 3
    assert markup["percent"] == 100 * (80.0 / 3) / 140
    scores = {r["policy_score"] for r in markup["readings"] if r["policy_score"] is not None}
    assert scores == {20.0 / 3}


def test_reading_fields_for_one_student() -> None:
    data = as_json(make())
    wei = next(s for s in data["students"] if s["id"] == fx.WEI.id)
    megatron = next(r for r in wei["readings"] if r["assignment_id"] == fx.MEGATRON)
    assert megatron == {
        "assignment_id": fx.MEGATRON,
        "name": fx.TITLES[fx.MEGATRON],
        "due_at": "2026-02-06T05:59:59Z",
        "submitted_at": "2026-02-06T07:30:00Z",
        "status": "late",
        "canvas_score": 8.0,
        "policy_score": 0.0,
        "counted": True,
    }
    assert (wei["points"], wei["on_time_count"], wei["at_risk"]) == (9.0, 1, True)


def test_students_sorted_by_sortable_name_and_excluded_absent() -> None:
    data = as_json(make())
    ids = [s["id"] for s in data["students"]]
    assert ids == fx.EXPECTED_ORDER
    assert fx.TEST_STUDENT.id not in ids and fx.DROPPED.id not in ids
    assert "Test Student" not in render_json(make())


def test_students_sort_ties_by_id_regardless_of_input_order() -> None:
    twin_a = replace(fx.results()[0], student=replace(fx.WEI, id=5, sortable_name="Same, A"))
    twin_b = replace(fx.results()[0], student=replace(fx.WEI, id=4, sortable_name="Same, A"))
    for order in ([twin_a, twin_b], [twin_b, twin_a]):
        report = make(results=order, discrepancies=[])
        assert [s.student.id for s in report.students] == [4, 5]


def test_readings_sorted_by_each_students_due_date() -> None:
    data = as_json(make())
    for student in data["students"]:
        # MEGATRON and MOE share a due time: the assignment id breaks the tie
        assert [r["assignment_id"] for r in student["readings"]] == fx.DUE_ORDER
    anna = next(s for s in data["students"] if s["id"] == fx.ANNA.id)
    jitserve = next(r for r in anna["readings"] if r["assignment_id"] == fx.JITSERVE)
    assert jitserve["due_at"] == "2026-03-13T04:59:59Z"  # her extension, not the course date


def test_undated_reading_sorts_last() -> None:
    report = make(results=[fx.anna_undated()], discrepancies=[])
    readings = report_to_dict(report)["students"][0]["readings"]
    assert [r["assignment_id"] for r in readings] == [fx.DIFFUSION, fx.MULTI_AGENT]
    assert readings[-1]["due_at"] is None


def test_discrepancies_filtered_and_errors_first() -> None:
    data = as_json(make())
    ids = [d["id"] for d in data["discrepancies"]]
    # errors (6, 7), warnings (4, 5, 9), info (2, 3); 11 and 12 belong to excluded students
    assert ids == [6, 7, 4, 5, 9, 2, 3]
    course_level = [d for d in data["discrepancies"] if d["student_id"] is None]
    assert {d["id"] for d in course_level} == {2, 4}
    late = next(d for d in data["discrepancies"] if d["id"] == 7)
    assert (late["kind"], late["severity"], late["state"]) == ("late_graded", "error", "open")
    assert (late["canvas_value"], late["expected_value"]) == ("8", "0")


def test_student_filter_keeps_that_student_and_course_level_discrepancies() -> None:
    data = as_json(make(student_id=fx.WEI.id))
    assert [s["id"] for s in data["students"]] == [fx.WEI.id]
    assert [d["id"] for d in data["discrepancies"]] == [7, 4, 5, 2, 3]
    assert {d["student_id"] for d in data["discrepancies"]} == {fx.WEI.id, None}


@pytest.mark.parametrize("student_id", [fx.TEST_STUDENT.id, fx.DROPPED.id, 424242])
def test_student_filter_rejects_excluded_or_unknown_ids(student_id: int) -> None:
    with pytest.raises(UsageError, match=str(student_id)):
        make(student_id=student_id)


def test_naive_times_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        make(generated_at=datetime(2026, 3, 20, 15, 0))


def test_non_finite_numbers_become_null_and_json_stays_valid() -> None:
    broken = replace(fx.results()[0], percent=math.nan, weighted=math.inf)
    data = as_json(make(results=[broken], discrepancies=[]))
    assert data["students"][0]["percent"] is None and data["students"][0]["weighted"] is None


def test_render_json_is_indented_report_to_dict() -> None:
    report = make()
    text = render_json(report)
    assert json.loads(text) == report_to_dict(report)
    assert text.startswith('{\n  "course"')


def test_package_exports() -> None:
    assert set(report_pkg.__all__) == {
        "PolicySummary", "Report", "build_report", "report_to_dict",
        "render_csv", "render_html", "render_json", "render_student", "render_table",
        # shared with the web app's templates (one way to make HTML)
        "TEMPLATES", "GridRow", "ReadingColumn", "configure_templates", "grid_rows",
        "reading_columns", "short_reading_name", "status_label",
    }  # fmt: skip
    for name in report_pkg.__all__:
        assert hasattr(report_pkg, name)


FORBIDDEN = ("canvas_sync.db", "canvas_sync.canvas", "sqlalchemy", "httpx")


def test_report_package_imports_no_db_canvas_or_http() -> None:
    package_dir = Path(report_pkg.__file__).parent
    modules = sorted(package_dir.glob("*.py"))
    assert len(modules) >= 3
    for module in modules:
        for node in ast.walk(ast.parse(module.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                # relative imports are resolved against canvas_sync.report
                base = "canvas_sync" if node.level >= 2 else "canvas_sync.report"
                names = [node.module or ""] if node.level == 0 else [f"{base}.{node.module}"]
            else:
                continue
            for name in names:
                assert not name.startswith(FORBIDDEN), f"{module.name} imports {name}"
