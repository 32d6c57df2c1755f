"""HTML report: self-contained, every value escaped, severity filter, course time zone."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser

import markupsafe
import pytest
import report_fixtures as fx

from canvas_sync.errors import ConfigError
from canvas_sync.report import Report, build_report, render_html


def make(student_id: int | None = None) -> Report:
    return build_report(
        fx.COURSE,
        fx.CONFIG,
        pool=fx.POOL,
        results=fx.results(),
        discrepancies=fx.discrepancies(),
        generated_at=fx.GENERATED_AT,
        student_id=student_id,
    )


class Page(HTMLParser):
    """Collects what a browser would see: tags, attributes and row-header text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.row_headers: list[str] = []
        self.cells: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if tag == "th" and attributes.get("scope") == "row":
            self._in, self.row_headers = "th", [*self.row_headers, ""]
        elif tag == "td":
            self._in, self.cells = "td", [*self.cells, ""]

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td"):
            self._in = None

    def handle_data(self, data: str) -> None:
        if self._in == "th":
            self.row_headers[-1] += data
        elif self._in == "td":
            self.cells[-1] += data


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


def test_script_name_is_shown_as_text_never_as_markup() -> None:
    page = render_html(make())
    assert "<script>alert" not in page
    assert str(markupsafe.escape(fx.SCRIPT_NAME)) in page  # Jinja autoescape
    parsed = parse(page)
    assert fx.SCRIPT_NAME in parsed.row_headers  # a browser displays the name verbatim
    assert [t for t, _ in parsed.tags].count("script") == 1  # only our inline filter script
    assert "img" not in [t for t, _ in parsed.tags]  # the hostile discrepancy message
    assert any('onerror="alert(1)"' in cell for cell in parsed.cells)


def test_every_student_row_in_report_order() -> None:
    parsed = parse(render_html(make()))
    names = {s.id: s.name for s in (fx.WEI, fx.ANNA, fx.SCRIPT, fx.FORMULA, fx.MARKUP)}
    assert parsed.row_headers == [names[i] for i in fx.EXPECTED_ORDER]
    assert "Test Student" not in render_html(make())


def test_self_contained_nothing_fetched() -> None:
    page = render_html(make())
    for needle in ('src="http', 'href="http', "@import", "url(", "<link", "http://", "https://"):
        assert needle not in page
    for tag, attributes in parse(page).tags:
        assert "src" not in attributes and "href" not in attributes, tag
    assert "Content-Security-Policy" in page and "default-src 'none'" in html.unescape(page)


def test_severity_filter_elements() -> None:
    report = make()
    parsed = parse(render_html(report))
    boxes = [a for t, a in parsed.tags if t == "input" and a.get("name") == "severity"]
    assert [b["value"] for b in boxes] == ["error", "warning", "info"]
    assert all(b.get("type") == "checkbox" and "checked" in b for b in boxes)
    rows = [a["data-severity"] for t, a in parsed.tags if t == "tr" and "data-severity" in a]
    assert rows == [d.severity.value for d in report.discrepancies]
    assert ("fieldset", {"id": "severity-filter", "hidden": None}) in parsed.tags


def test_summary_counts() -> None:
    page = render_html(make())
    expected = {
        "Students": 5, "At risk": 1, "Provisional": 1,
        # open only: 6 is resolved, 4 acknowledged; 11/12 belong to excluded students
        "Open errors": 1, "Open warnings": 2, "Open info": 2,
    }  # fmt: skip
    for label, count in expected.items():
        assert f"<dt>{label}</dt><dd>{count}</dd>" in page


def test_counted_and_status_classes() -> None:
    report = make()
    classes = [a.get("class") or "" for t, a in parse(render_html(report)).tags if t == "td"]
    counted = sum(r.counted for s in report.students for r in s.readings)
    assert sum("counted" in c.split() for c in classes) == counted
    for status in ("on_time", "ungraded", "late", "missing", "excused", "pending"):
        assert any(f"st-{status}" in c.split() for c in classes), status
    assert any("st-late_resubmission" in c.split() for c in classes)
    assert sum("own-due" in c.split() for c in classes) == 1  # Anna's JITServe extension


def test_times_in_course_time_zone_across_dst() -> None:
    page = render_html(make())
    assert "2026-02-03 23:59:59 CST" in page  # before 2026-03-08: UTC-6
    assert "2026-03-10 23:59:59 CDT" in page  # after: UTC-5
    assert "2026-03-12 23:59:59 CDT" in page  # Anna's own due date, in her cell's tooltip
    assert "Generated 2026-03-20 10:00:00 CDT" in page


def test_time_zone_parameter_and_bad_zone() -> None:
    page = render_html(make(), time_zone="UTC")
    assert "2026-02-04 05:59:59 UTC" in page and "2026-02-03 23:59:59 CST" not in page
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        render_html(make(), time_zone="Mars/Olympus")


def test_display_values_rounded() -> None:
    cells = parse(render_html(make())).cells
    assert "26.67/140" in cells and "19.05" in cells and "3.81" in cells


def test_single_student_report() -> None:
    parsed = parse(render_html(make(student_id=fx.ANNA.id)))
    assert parsed.row_headers == [fx.ANNA.name]
    assert re.search(r"Discrepancies \(\d+ open\)", render_html(make(student_id=fx.ANNA.id)))
