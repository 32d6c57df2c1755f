"""Reports (SPEC §5 `report`, §6 JSON): build the typed report, then render it.

Pure formatting: this package takes domain objects and never touches the database or Canvas.
"""

from __future__ import annotations

from ._student import render_student
from .build import PolicySummary, Report, build_report, report_to_dict
from .render import render_csv, render_html, render_json, render_table

__all__ = [
    "PolicySummary",
    "Report",
    "build_report",
    "render_csv",
    "render_html",
    "render_json",
    "render_student",
    "render_table",
    "report_to_dict",
]
