"""The HTML report: one self-contained file a TA can open from disk or an email attachment.

Nothing is fetched from the network (inline CSS and JS only, and a Content-Security-Policy
that forbids any other source), and every value is escaped with `html.escape(quote=True)`:
names, SIS ids and messages are user input.
"""

from __future__ import annotations

import html
from zoneinfo import ZoneInfo

from canvas_sync.domain import (
    DiscrepancyRecord,
    ReadingResult,
    Selection,
    Severity,
    Status,
    StudentResult,
)

from ._format import (
    ReadingColumn,
    Summary,
    change,
    course_zone,
    fmt_fixed,
    fmt_number,
    local_time,
    reading_columns,
    student_names,
    summarize,
    which,
    who,
)
from .build import Report, utc_z

__all__ = ["render_html"]

_STATUS_LABEL = {
    Status.ON_TIME: "on time",
    Status.LATE_RESUBMISSION: "late resub.",
    Status.LATE: "late",
    Status.MISSING: "missing",
    Status.EXCUSED: "excused",
    Status.PENDING: "pending",
    Status.UNKNOWN: "not seen",
    Status.UNASSIGNED: "not assigned",
}

# No url(), no @import, no web fonts: the file must render identically offline.
_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d1d1f}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.15rem;margin:1.6rem 0 .5rem}
.meta{color:#555;margin:0}
.cards{display:flex;flex-wrap:wrap;gap:.6rem;padding:0;margin:0}
.cards div{border:1px solid #ccc;border-radius:6px;padding:.4rem .8rem;min-width:7rem}
.cards dt{font-size:.8rem;color:#555}.cards dd{margin:0;font-size:1.3rem;font-weight:600}
table{border-collapse:collapse;margin:.3rem 0}
th,td{border:1px solid #ddd;padding:.2rem .45rem;text-align:left;vertical-align:top}
thead th{background:#f3f3f5;position:sticky;top:0}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid td.r{text-align:center;white-space:nowrap;min-width:3.2rem}
.grid td.r small{display:block;font-size:.7rem;color:#333}
.st-on_time{background:#dcf5dc}.st-ungraded{background:#fff4c2}
.st-late,.st-missing{background:#fbd5d5}.st-late_resubmission{background:#ffe2bf}
.st-excused{background:#eceff3;color:#555}.st-pending{background:#e3edfb}
td.counted{font-weight:700;outline:2px solid #2a6b2a;outline-offset:-2px}
td.own-due{border-style:dashed;border-color:#555}
tr.at-risk th{color:#a40000}
.sev-error td.sev{color:#a40000;font-weight:700}.sev-warning td.sev{color:#8a5a00}
.sev-info td.sev{color:#1f5c99}
fieldset{border:1px solid #ccc;border-radius:6px;display:inline-block}
"""

# Progressive enhancement: without JS the filter stays hidden and every row shows.
_JS = """
(function () {
  var box = document.getElementById('severity-filter');
  var inputs = box.querySelectorAll('input[name="severity"]');
  var rows = document.querySelectorAll('#discrepancy-table tbody tr[data-severity]');
  var status = document.getElementById('filter-status');
  // A link can carry the filter: report.html#severity=error,warning
  var wanted = /^#severity=([a-z,]*)$/.exec(window.location.hash);
  if (wanted) {
    var keep = wanted[1].split(',');
    inputs.forEach(function (i) { i.checked = keep.indexOf(i.value) >= 0; });
  }
  function apply() {
    var on = {}, shown = 0, chosen = [];
    inputs.forEach(function (i) {
      on[i.value] = i.checked;
      if (i.checked) { chosen.push(i.value); }
    });
    rows.forEach(function (r) {
      var visible = on[r.getAttribute('data-severity')] !== false;
      r.hidden = !visible;
      if (visible) { shown += 1; }
    });
    status.textContent = shown + ' of ' + rows.length + ' discrepancies shown';
    try {
      window.history.replaceState(null, '', '#severity=' + chosen.join(','));
    } catch (e) { /* some viewers forbid it: the filter still works */ }
  }
  inputs.forEach(function (i) { i.addEventListener('change', apply); });
  box.hidden = false;
  apply();
})();
"""

_PLURAL = {Severity.ERROR: "errors", Severity.WARNING: "warnings", Severity.INFO: "info"}
_CSP = "default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'"


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def render_html(report: Report, *, time_zone: str = "America/Chicago") -> str:
    """One self-contained HTML page: summary counts, a severity-filterable discrepancy list
    and a per-student grid (counted readings outlined, statuses colour-coded), with times in
    the course time zone (SPEC §2: America/Chicago, CST/CDT)."""
    zone = course_zone(time_zone)
    columns = reading_columns(report)
    summary = summarize(report)
    title = f"{report.course.name} — reading summaries"
    body = "\n".join(
        [
            _header(report, zone, time_zone),
            _summary_section(summary),
            _discrepancy_section(report, columns, summary),
            _student_section(report, columns, zone),
            _readings_section(columns, zone),
        ]
    )
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f'<meta http-equiv="Content-Security-Policy" content="{_e(_CSP)}">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{_e(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"{body}\n<script>{_JS}</script>\n</body>\n</html>\n"
    )


def _header(report: Report, zone: ZoneInfo, time_zone: str) -> str:
    policy = report.policy
    rule = "best" if policy.selection is Selection.BEST else "first on-time"
    return (
        f"<header><h1>{_e(report.course.name)}</h1>\n"
        f'<p class="meta">Generated {_e(local_time(report.generated_at, zone))} '
        f"({_e(utc_z(report.generated_at))}); times shown in {_e(time_zone)}.</p>\n"
        f'<p class="meta">Policy: the {_e(rule)} {_e(policy.required)} of {_e(policy.pool)} '
        f"summaries count, {_e(fmt_number(policy.points_per_summary))} points each; "
        f"{_e(fmt_number(policy.weight))}% of the course grade; late work scores 0.</p>"
        "</header>"
    )


def _summary_section(summary: Summary) -> str:
    cards = [
        ("Students", summary.students),
        ("At risk", summary.at_risk),
        ("Provisional", summary.provisional),
        *((f"Open {_PLURAL[s]}", summary.open_by_severity[s]) for s in Severity),
    ]
    items = "".join(f"<div><dt>{_e(k)}</dt><dd>{_e(v)}</dd></div>" for k, v in cards)
    return f'<section id="summary"><h2>Summary</h2>\n<dl class="cards">{items}</dl></section>'


def _discrepancy_section(report: Report, columns: tuple[ReadingColumn, ...], s: Summary) -> str:
    names = student_names(report)
    readings = {c.assignment_id: c.short for c in columns}
    counts = {sev: sum(1 for d in report.discrepancies if d.severity is sev) for sev in Severity}
    boxes = "".join(
        f'<label><input type="checkbox" name="severity" value="{_e(sev.value)}" checked> '
        f"{_e(sev.value)} ({_e(counts[sev])})</label> "
        for sev in Severity
    )
    head = "".join(
        f"<th>{_e(h)}</th>"
        for h in ("ID", "Severity", "Kind", "State", "Student", "Reading", "Canvas → expected")
    )
    rows = "\n".join(_discrepancy_row(d, names, readings) for d in report.discrepancies)
    if not rows:
        rows = '<tr><td colspan="8">No discrepancies.</td></tr>'
    return (
        f'<section id="discrepancies"><h2>Discrepancies ({_e(s.open_total)} open)</h2>\n'
        f'<fieldset id="severity-filter" hidden><legend>Show severity</legend>{boxes}</fieldset>\n'
        '<p id="filter-status" class="meta"></p>\n'
        f'<table id="discrepancy-table"><thead><tr>{head}<th>Message</th></tr></thead>\n'
        f"<tbody>\n{rows}\n</tbody></table></section>"
    )


def _discrepancy_row(
    record: DiscrepancyRecord, names: dict[int, str], readings: dict[int, str]
) -> str:
    severity = record.severity.value
    cells = (
        f'<td class="num">{_e(record.id)}</td><td class="sev">{_e(severity)}</td>'
        f"<td>{_e(record.kind.value)}</td><td>{_e(record.state)}</td>"
        f"<td>{_e(who(record, names))}</td><td>{_e(which(record, readings))}</td>"
        f"<td>{_e(change(record))}</td><td>{_e(record.message)}</td>"
    )
    return f'<tr class="sev-{_e(severity)}" data-severity="{_e(severity)}">{cells}</tr>'


def _student_section(report: Report, columns: tuple[ReadingColumn, ...], zone: ZoneInfo) -> str:
    reading_heads = "".join(
        f'<th title="{_e(c.name)}&#10;due {_e(local_time(c.due_at, zone) or "—")}">'
        f"{_e(c.short)}</th>"
        for c in columns
    )
    totals = ("Points", "Percent", "Weighted", "On time", "Ungraded", "At risk")
    total_heads = "".join(f"<th>{_e(h)}</th>" for h in totals)
    rows = "\n".join(_student_row(r, columns, zone) for r in report.students)
    return (
        '<section id="students"><h2>Students</h2>\n'
        '<p class="meta">Outlined cells count towards the total (*); a dashed border marks a '
        "student-specific due date; hover a cell for its due and submission times.</p>\n"
        f'<table class="grid"><thead><tr><th>Student</th><th>SIS id</th>{reading_heads}'
        f"{total_heads}</tr></thead>\n<tbody>\n{rows}\n</tbody></table></section>"
    )


def _student_row(result: StudentResult, columns: tuple[ReadingColumn, ...], zone: ZoneInfo) -> str:
    by_id = {r.assignment_id: r for r in result.readings}
    cells = "".join(
        _reading_td(by_id[c.assignment_id], c, zone) if c.assignment_id in by_id else "<td></td>"
        for c in columns
    )
    points = f"{fmt_number(result.points)}/{fmt_number(result.possible)}"
    totals = (
        f'<td class="num">{_e(points)}</td><td class="num">{_e(fmt_fixed(result.percent))}</td>'
        f'<td class="num">{_e(fmt_fixed(result.weighted))}</td>'
        f'<td class="num">{_e(result.on_time_count)}</td>'
        f'<td class="num">{_e(result.ungraded_count)}</td>'
        f"<td>{'yes' if result.at_risk else 'no'}</td>"
    )
    row_class = ' class="at-risk"' if result.at_risk else ""
    student = result.student
    return (
        f'<tr{row_class}><th scope="row">{_e(student.name)}</th>'
        f"<td>{_e(student.sis_user_id or '')}</td>{cells}{totals}</tr>"
    )


def _reading_td(reading: ReadingResult, column: ReadingColumn, zone: ZoneInfo) -> str:
    ungraded = reading.status is Status.ON_TIME and reading.policy_score is None
    status_class = "ungraded" if ungraded else reading.status.value
    classes = [f"r st-{status_class}"]
    if reading.counted:
        classes.append("counted")
    if reading.due_at != column.due_at:
        classes.append("own-due")
    label = "ungraded" if ungraded else _STATUS_LABEL[reading.status]
    if reading.exempted:
        label += ", exempt"
    score = fmt_number(reading.policy_score) or "—"
    mark = "*" if reading.counted else ""
    tip = (
        f"{column.name}\ndue {local_time(reading.due_at, zone) or '—'}\n"
        f"submitted {local_time(reading.submitted_at, zone) or '—'}\n"
        f"Canvas score {fmt_number(reading.canvas_score) or '—'}"
    )
    return (
        f'<td class="{_e(" ".join(classes))}" title="{_e(tip)}">'
        f"{_e(score)}{mark}<small>{_e(label)}</small></td>"
    )


def _readings_section(columns: tuple[ReadingColumn, ...], zone: ZoneInfo) -> str:
    rows = "".join(
        f"<tr><td>{_e(c.short)}</td><td>{_e(c.name)}</td>"
        f"<td>{_e(local_time(c.due_at, zone) or '—')}</td></tr>"
        for c in columns
    )
    return (
        '<section id="readings"><h2>Readings</h2>\n'
        "<table><thead><tr><th>Column</th><th>Title</th><th>Due (earliest)</th></tr></thead>"
        f"<tbody>{rows}</tbody></table></section>"
    )
