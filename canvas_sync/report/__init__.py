"""Reports (SPEC §5 `report`, §6 JSON): build the typed report, then render it.

Pure formatting: this package takes domain objects and never touches the database or Canvas.
"""

from __future__ import annotations

from ._format import ReadingColumn, reading_columns, short_reading_name
from ._html import TEMPLATES, GridRow, configure_templates, grid_rows, status_label
from ._student import render_student
from .build import PolicySummary, Report, build_report, report_to_dict
from .render import render_csv, render_html, render_json, render_table

__all__ = [
    "TEMPLATES",
    "GridRow",
    "PolicySummary",
    "ReadingColumn",
    "Report",
    "build_report",
    "configure_templates",
    "grid_rows",
    "reading_columns",
    "render_csv",
    "render_html",
    "render_json",
    "render_student",
    "render_table",
    "report_to_dict",
    "short_reading_name",
    "status_label",
]
