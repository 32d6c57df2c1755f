"""Facts → discrepancy findings for TAs (SPEC §3).

Pure: snapshot, policy results and `now` in, a sorted list of `Finding`s out. Each finding is
identified by (kind, student, assignment); storing, de-duplicating and resolving them is the
database layer's job. `manual_override` is made by the push layer, not here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from operator import attrgetter
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from canvas_sync.domain import CourseSnapshot, Finding, Kind, PolicyConfig, Status, StudentResult
from canvas_sync.errors import ConfigError

from ._build import FindingFields, build_all, finding, gc_paused
from ._course_findings import course_findings, pool_mismatch
from ._index import index_of
from ._reading_findings import ReadingChecks
from ._text import Clock, format_score
from .totals import required_effective

__all__ = ["find_discrepancies", "format_score"]

# By value: hashing an Enum member runs Python code (Enum.__hash__), once per finding.
_KIND_ORDER = {kind.value: i for i, kind in enumerate(Kind)}
_EXCUSED, _PENDING = Status.EXCUSED, Status.PENDING
_STATUS = attrgetter("status")


def find_discrepancies(
    snapshot: CourseSnapshot,
    results: Sequence[StudentResult],
    *,
    now: datetime,
    config: PolicyConfig,
    syllabus_due: Mapping[int, datetime] = {},  # never mutated
    unmatched_titles: Sequence[str] = (),
    reading_group_id: int | None = None,
    total_scores: Mapping[int, float | None] | None = None,
    time_zone: str = "America/Chicago",
    configured_pool: int | None = None,
    extra_readings: Sequence[str] = (),
) -> list[Finding]:
    """Every SPEC §3 discrepancy except `manual_override`, sorted deterministically.

    Only included students produce student-level findings. `syllabus_due` maps assignment id to
    the configured due instant; `unmatched_titles` are configured readings with no Canvas
    assignment; `total_scores` maps student id to Canvas's score of the total assignment
    (percent), or is None when no total assignment exists. `configured_pool` is the number of
    configured readings (None: not checked) and `extra_readings` the names of pool assignments
    matching none of them (`pool_mismatch`).
    """
    clock = _clock(time_zone)
    with gc_paused():
        reading_checks = ReadingChecks(snapshot, index_of(snapshot), now, config, clock)
        student_checks = _StudentChecks(config, total_scores)
        found: list[FindingFields] = []
        for result in results:
            if result.student.included:
                reading_checks.run(found, result)
                student_checks.run(found, result)
        found.extend(
            course_findings(
                snapshot, config, clock, syllabus_due, unmatched_titles, reading_group_id
            )
        )
        found.extend(
            pool_mismatch(len(snapshot.readings), configured_pool, extra_readings, unmatched_titles)
        )
        found.sort(key=_sort_key)
        return list(build_all(Finding, found))


def _clock(time_zone: str) -> Clock:
    try:
        return Clock(ZoneInfo(time_zone))
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(
            f"The course time zone {time_zone!r} is not a known IANA zone; "
            "set it to a name like 'America/Chicago'."
        ) from exc


def _sort_key(f: FindingFields) -> tuple[int, int, int, str, str]:
    """Course-level findings first, then by student, assignment and kind (SPEC §3 order)."""
    student_id, assignment_id = f["student_id"], f["assignment_id"]
    return (
        -1 if student_id is None else student_id,
        -1 if assignment_id is None else assignment_id,
        _KIND_ORDER[f["kind"]._value_],
        f["expected_value"] or "",
        f["canvas_value"] or "",
    )


# --- per student --------------------------------------------------------------------------


class _StudentChecks:
    """over_submitted, at_risk and total_mismatch, prepared once per course."""

    __slots__ = ("config", "over_text", "over_texts", "required_text", "total_scores")

    def __init__(
        self, config: PolicyConfig, total_scores: Mapping[int, float | None] | None
    ) -> None:
        self.config = config
        self.total_scores = total_scores
        # The same for every over-submitted student: formatted once.
        self.required_text = str(config.required)
        self.over_texts: dict[int, tuple[str, str]] = {}
        self.over_text = (
            f"{config.required} required; the {config.selection.value} {config.required} count."
        )

    def run(self, out: list[FindingFields], result: StudentResult) -> None:
        """Appends the student-level findings of one included student to `out`."""
        sid = result.student.id
        count = result.submitted_count
        if count > self.config.required:
            # The texts depend on the count alone: made once per count.
            texts = self.over_texts.get(count)
            if texts is None:
                texts = self.over_texts[count] = (
                    str(count),
                    f"Over-submitted: {count} summaries submitted, {self.over_text}",
                )
            out.append(
                finding(Kind.OVER_SUBMITTED, sid, None, texts[0], self.required_text, texts[1])
            )
        if result.at_risk:
            out.append(_at_risk(result, self.config))
        if self.total_scores is not None:
            found = _total_mismatch(result, self.total_scores.get(sid))
            if found is not None:
                out.append(found)


def _at_risk(result: StudentResult, config: PolicyConfig) -> FindingFields:
    """at_risk: fewer on-time plus pending summaries than required (SPEC §2)."""
    statuses = list(map(_STATUS, result.readings))
    r_eff = required_effective(len(statuses), statuses.count(_EXCUSED), config.required)
    pending = statuses.count(_PENDING)
    reachable = result.on_time_count + pending
    return finding(
        Kind.AT_RISK,
        result.student.id,
        None,
        str(reachable),
        str(r_eff),
        f"At risk: {result.on_time_count} on-time and {pending} pending summaries, "
        f"{r_eff} required; {r_eff} on-time summaries can no longer be reached.",
    )


def _total_mismatch(result: StudentResult, canvas_total: float | None) -> FindingFields | None:
    """total_mismatch: Canvas's total differs from the percent rounded to 2 decimals."""
    if canvas_total is None:
        return None
    expected = round(result.percent, 2)
    if abs(canvas_total - expected) > 0.005:
        return finding(
            Kind.TOTAL_MISMATCH,
            result.student.id,
            None,
            format_score(canvas_total),
            format_score(expected),
            f"Total mismatch: Canvas total {format_score(canvas_total)}%, computed "
            f"{format_score(expected)}% ({format_score(result.points)}/"
            f"{format_score(result.possible)} points).",
        )
    return None
