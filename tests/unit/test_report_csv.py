"""CSV report: parses back with the csv module, right columns, formulas defused."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import replace

import report_fixtures as fx

from canvas_sync.domain import Status, StudentResult
from canvas_sync.report import Report, build_report, render_csv
from canvas_sync.report._format import reading_cell, short_reading_name

NUMBER = re.compile(r"-?\d+(\.\d+)?")
TOTALS = [
    "points", "possible", "percent", "weighted", "on_time_count", "ungraded_count", "at_risk",
]  # fmt: skip


def make(results: Sequence[StudentResult] | None = None) -> Report:
    return build_report(
        fx.COURSE,
        fx.CONFIG,
        pool=fx.POOL,
        results=fx.results() if results is None else results,
        discrepancies=fx.discrepancies(),
        generated_at=fx.GENERATED_AT,
    )


def parse(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")  # Excel needs the BOM to read UTF-8
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline="")))


def test_header_has_identity_readings_by_due_date_then_totals() -> None:
    text = render_csv(make())
    columns = header(text)
    readings = [
        f"R{i:02d} {short_reading_name(fx.TITLES[a])}" for i, a in enumerate(fx.DUE_ORDER, 1)
    ]
    assert columns == ["id", "name", "sis_user_id", *readings, *TOTALS]
    assert any(c.endswith(" JITServe") for c in columns)  # the part before the colon
    assert len(set(columns)) == len(columns)


def test_one_row_per_included_student_in_report_order() -> None:
    rows = parse(render_csv(make()))
    assert [int(r["id"]) for r in rows] == fx.EXPECTED_ORDER
    assert all(r["name"] != "Test Student" for r in rows)


def test_reading_cells_show_status_score_and_counted_mark() -> None:
    rows = {int(r["id"]): r for r in parse(render_csv(make()))}
    shorts = [f"R{i:02d} {short_reading_name(fx.TITLES[a])}" for i, a in enumerate(fx.DUE_ORDER, 1)]
    wei = [rows[fx.WEI.id][s] for s in shorts]
    assert wei == ["on_time 9*", "late 0*", "missing 0*", "late 0*", "pending"]
    anna = [rows[fx.ANNA.id][s] for s in shorts]
    assert anna == [
        "on_time 10 exempt*", "excused", "late_resubmission 8.5*", "on_time ungraded", "pending",
    ]  # fmt: skip


def test_totals_are_rounded_to_two_decimals_for_display() -> None:
    rows = {int(r["id"]): r for r in parse(render_csv(make()))}
    markup = rows[fx.MARKUP.id]
    assert (markup["points"], markup["possible"]) == ("26.67", "140")
    assert (markup["percent"], markup["weighted"]) == ("19.05", "3.81")
    wei = rows[fx.WEI.id]
    assert (wei["on_time_count"], wei["ungraded_count"], wei["at_risk"]) == ("1", "0", "true")
    assert rows[fx.ANNA.id]["ungraded_count"] == "1"


def test_formula_cells_are_defused() -> None:
    rows = {int(r["id"]): r for r in parse(render_csv(make()))}
    assert rows[fx.FORMULA.id]["name"] == "'" + fx.FORMULA_NAME
    assert rows[fx.FORMULA.id]["sis_user_id"] == "'@SUM(A1:A9)"
    assert rows[fx.MARKUP.id]["sis_user_id"] == "'-rm"
    assert rows[fx.SCRIPT.id]["sis_user_id"] == ""
    for row in rows.values():
        for cell in row.values():
            live = cell[:1] in ("=", "+", "@", "\t", "\r")
            assert not live and not (cell.startswith("-") and not NUMBER.fullmatch(cell)), cell


def test_negative_numbers_stay_numbers() -> None:
    # an out-of-range Canvas score is reported as Canvas holds it (SPEC §2), e.g. -1
    negative = replace(fx.results()[0], points=-1.0, percent=-0.5, weighted=-0.1)
    rows = parse(render_csv(make([negative])))
    assert (rows[0]["points"], rows[0]["percent"], rows[0]["weighted"]) == ("-1", "-0.50", "-0.10")


def test_bom_can_be_turned_off_and_lines_end_crlf() -> None:
    text = render_csv(make(), bom=False)
    assert text.startswith("id,name,")
    assert text.count("\r\n") == len(fx.EXPECTED_ORDER) + 1


def test_unicode_names_survive() -> None:
    muller = replace(fx.results()[0], student=replace(fx.WEI, name="Jürgen Müller-Łukasz"))
    rows = parse(render_csv(make([muller])))
    assert rows[0]["name"] == "Jürgen Müller-Łukasz"


def test_short_reading_names() -> None:
    assert short_reading_name("LoRA: Low-Rank Adaptation of Large Language Models") == "LoRA"
    assert short_reading_name("Measuring Agents in Production") == "Measuring Agents in…"
    assert short_reading_name("Why Do Multi-Agent LLM Systems Fail?") == "Why Do Multi-Agent LLM…"
    assert short_reading_name("  Short   title ") == "Short title"
    assert len(short_reading_name(fx.TITLES[fx.MEGATRON])) <= 29


def test_labels_keep_readings_apart_and_a_shared_prefix_is_dropped() -> None:
    first = fx.results()[0]
    renamed = tuple(
        replace(r, name="Summary: one") if r.assignment_id == fx.MOE else r for r in first.readings
    )
    renamed = tuple(
        replace(r, name="Summary: two") if r.assignment_id == fx.DIFFUSION else r for r in renamed
    )
    columns = header(render_csv(make([replace(first, readings=renamed)])))
    assert len(set(columns)) == len(columns)
    assert sum(c.endswith(" Summary") for c in columns) == 2  # told apart by their labels
    every = tuple(replace(r, name=f"Summary: {r.name}") for r in first.readings)
    prefixed = header(render_csv(make([replace(first, readings=every)])))
    assert prefixed == header(render_csv(make([first])))  # "Summary: " shared by all: dropped


def test_reading_cell_for_an_unranged_score() -> None:
    reading = fx.reading(fx.WEI, fx.Row(fx.DIFFUSION, Status.ON_TIME, 12.345, 12.345, True))
    assert reading_cell(reading) == "on_time 12.35*"
