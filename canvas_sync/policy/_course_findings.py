"""Course-level discrepancies (SPEC §3): due dates, group drop rules, missing assignments and
Canvas's own late policy. None of these names a student."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime

from canvas_sync.domain import (
    AssignmentGroup,
    CourseSnapshot,
    Kind,
    LatePolicy,
    PolicyConfig,
)

from ._build import FindingFields, finding
from ._text import Clock, clip, format_score, utc_iso

__all__ = ["course_findings", "pool_mismatch"]


def course_findings(
    snapshot: CourseSnapshot,
    config: PolicyConfig,
    clock: Clock,
    syllabus_due: Mapping[int, datetime],
    unmatched_titles: Sequence[str],
    reading_group_id: int | None,
) -> Iterator[FindingFields]:
    """due_date_mismatch, group_rule_mismatch, assignment_missing, late_policy_conflict and
    missing_policy_conflict."""
    yield from _due_date_mismatches(snapshot, clock, syllabus_due)
    group = next((g for g in snapshot.groups if g.id == reading_group_id), None)
    if reading_group_id is not None and group is not None:
        yield from _group_rule_mismatch(group, len(snapshot.readings), config)
    if unmatched_titles:
        yield _assignment_missing(unmatched_titles)
    if snapshot.late_policy is not None:
        yield from _late_policy_conflict(snapshot.late_policy)


def _seconds(when: datetime | None) -> datetime | None:
    # Canvas's "fancy midnight" stores 23:59:59.999999 but the API sends whole seconds.
    return None if when is None else when.replace(microsecond=0)


def _due_date_mismatches(
    snapshot: CourseSnapshot, clock: Clock, syllabus_due: Mapping[int, datetime]
) -> Iterator[FindingFields]:
    """due_date_mismatch: the assignment's Canvas `due_at` is not the syllabus due instant."""
    for a in snapshot.readings:
        expected = syllabus_due.get(a.id)
        if expected is None or _seconds(a.due_at) == _seconds(expected):
            continue
        yield finding(
            Kind.DUE_DATE_MISMATCH,
            None,
            a.id,
            utc_iso(a.due_at),
            utc_iso(expected),
            f"Due date mismatch: {a.name!r} is due {clock.show(a.due_at)} in Canvas, "
            f"the syllabus says {clock.show(expected)}.",
        )


def _group_rule_mismatch(
    group: AssignmentGroup, pool: int, config: PolicyConfig
) -> Iterator[FindingFields]:
    """group_rule_mismatch: the reading group should drop the pool − R lowest and nothing else.

    Canvas applies group drop rules to its own course grade (canvas-api.md §4): "best 14 of 19"
    is `drop_lowest: 5`, no `drop_highest`, no `never_drop`.
    """
    want_lowest = max(0, pool - config.required)
    canvas: list[str] = []
    expected: list[str] = []
    if group.drop_lowest != want_lowest:
        canvas.append(f"drop_lowest={group.drop_lowest}")
        expected.append(f"drop_lowest={want_lowest}")
    if group.drop_highest != 0:
        canvas.append(f"drop_highest={group.drop_highest}")
        expected.append("drop_highest=0")
    if group.never_drop:
        canvas.append("never_drop=[" + ",".join(str(i) for i in sorted(group.never_drop)) + "]")
        expected.append("never_drop=[]")
    if canvas:
        yield finding(
            Kind.GROUP_RULE_MISMATCH,
            None,
            None,
            clip(", ".join(canvas)),
            clip(", ".join(expected)),
            f"Group rule mismatch: {group.name!r} has {', '.join(canvas)}, expected "
            f"{', '.join(expected)} (best {config.required} of {pool}).",
        )


def _assignment_missing(titles: Sequence[str]) -> FindingFields:
    """assignment_missing: configured readings with no Canvas assignment.

    One finding for all of them: a finding is identified by (kind, student, assignment), and
    with no assignment to name, one finding per title would give several facts the same key.
    """
    quoted = ", ".join(repr(t) for t in titles)
    noun = "reading" if len(titles) == 1 else f"{len(titles)} readings"
    return finding(
        Kind.ASSIGNMENT_MISSING,
        None,
        None,
        None,
        clip("; ".join(titles)),
        f"Assignment missing: no Canvas assignment matches the configured {noun} {quoted}.",
    )


def _late_policy_conflict(policy: LatePolicy) -> Iterator[FindingFields]:
    """late_policy_conflict and missing_policy_conflict: Canvas scores late or missing work
    itself, on top of (or instead of) the policy.

    Canvas applies its Late Policy to grades written through the API too (canvas-api.md §10
    item 4), so a zero written for late work plus Canvas's deduction penalises it twice: one
    owner per rule, and push stops until it is turned off (or explicitly allowed).

    Canvas's missing policy (canvas-lms lib/missing_policy_applicator.rb) scores unsubmitted
    past-due work `points × (1 − deduction%)` by itself. At 100% that is the syllabus's 0; below
    it Canvas hands out points the syllabus does not. Its own kind, not a second
    late_policy_conflict: a course-level finding is identified by its kind alone, the fix is a
    different Canvas setting, and it does not stop push (push writes the policy's 0 over
    Canvas's score, which the applicator never touches again once graded).
    """
    if policy.late_submission_deduction_enabled and policy.late_submission_deduction > 0:
        shown = f"late_submission_deduction={format_score(policy.late_submission_deduction)}%"
        yield finding(
            Kind.LATE_POLICY_CONFLICT,
            None,
            None,
            shown,
            "no Canvas late deduction",
            f"Late policy conflict: the Canvas course Late Policy deducts points too "
            f"({shown}); turn off 'Automatically apply deduction to late submissions' so late "
            "work is not penalised twice.",
        )
    deduction = policy.missing_submission_deduction
    if policy.missing_submission_deduction_enabled and deduction < 100:
        shown = f"missing_submission_deduction={format_score(deduction)}%"
        yield finding(
            Kind.MISSING_POLICY_CONFLICT,
            None,
            None,
            shown,
            "missing_submission_deduction=100% or off",
            f"Missing policy conflict: Canvas scores missing work itself ({shown}: "
            f"{format_score(100 - deduction)}% of the points) where the syllabus gives 0; set "
            "'Automatically apply grade for missing submissions' to 0% or turn it off.",
        )


def pool_mismatch(
    pool: int, configured: int | None, extras: Sequence[str], missing: Sequence[str]
) -> Iterator[FindingFields]:
    """pool_mismatch: the pool found in Canvas is not the configured readings, in number.

    An extra assignment in the reading group (say, a total Canvas put there) would count as a
    reading and change every total, so this is an error and push refuses to run until it is
    fixed. Names the extra assignments and the configured readings with no assignment.
    """
    if configured is None or pool == configured:
        return
    parts = [f"{pool} readings in Canvas, {configured} configured"]
    if extras:
        parts.append("extra: " + ", ".join(repr(n) for n in extras))
    if missing:
        parts.append("missing: " + ", ".join(repr(t) for t in missing))
    yield finding(
        Kind.POOL_MISMATCH,
        None,
        None,
        str(pool),
        str(configured),
        f"Pool mismatch: {'; '.join(parts)}; move or remove the extra assignments (or fix the "
        "readings in the config) so the pool is the configured readings.",
    )
