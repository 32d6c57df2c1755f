"""The push plan: a pure diff from the policy's results to the grade changes Canvas needs (SPEC §4).

Inputs are frozen values only (policy results, Canvas's current submissions and column data, the
journal's last word on each cell, exemptions, settings values); no database, Canvas or clock.

Rules (SPEC §4, issue 4):

- `late` → "0", with one comment naming the submitted and due times in the course time zone and
  the syllabus rule; `missing` (past due, no score) → "0", commented only if `comment_missing`.
- The total assignment receives the student's `percent` (2 decimals); a changed total also gets a
  short explanation comment (student-visible). The custom column gets a compact line of counted
  and zeroed readings.
- Only differences are planned. Exempted and excused readings are never touched, nor readings
  whose Canvas row was not seen (UNKNOWN: only `late` and `missing` are ever zeroed); a student
  with such a reading gets no total or column write until it is seen.
- A comment is never posted twice: this service's comments end with `MARKER`.
- Humans win: if the journal says this service last wrote X to a cell and Canvas now holds
  Y != X, nothing is planned for the cell and a `ManualOverride` fact is emitted instead.
"""

from __future__ import annotations

import enum
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace

from canvas_sync.domain import (
    Finding,
    Kind,
    ReadingResult,
    Status,
    StudentResult,
    Submission,
)
from canvas_sync.policy import format_score, reading_labels, reading_names
from canvas_sync.push.texts import (
    DEFAULT_RULE,
    MARKER,
    column_text,
    late_comment,
    missing_comment,
    reason,
    total_comment,
    total_text,
)

__all__ = [
    "CellKey",
    "ManualOverride",
    "PlanInputs",
    "PushAction",
    "PushPlan",
    "Target",
    "Written",
    "build_plan",
    "canvas_value",
    "planning_row",
    "same_value",
]


class Target(enum.Enum):
    """What a change writes: a reading's grade, the total assignment, or the custom column."""

    GRADE = "grade"
    TOTAL = "total"
    COLUMN = "column"


#: (target, student id, assignment id; None for the column) — one cell of the gradebook.
CellKey = tuple[Target, int, int | None]


@dataclass(frozen=True)
class PushAction:
    """One planned change of one cell; `comment` is posted with it (bulk `text_comment`)."""

    target: Target
    student_id: int
    assignment_id: int | None
    from_value: str | None
    to_value: str
    comment: str | None
    reason: str
    student_name: str = ""
    label: str = ""

    @property
    def key(self) -> CellKey:
        return (self.target, self.student_id, self.assignment_id)


@dataclass(frozen=True)
class ManualOverride:
    """A cell this service wrote that someone else has changed since (SPEC §3 `manual_override`)."""

    target: Target
    student_id: int
    assignment_id: int | None
    written: str | None
    canvas_value: str | None
    grader_id: int | None
    label: str = ""

    def finding(self) -> Finding:
        who = f"user {self.grader_id}" if self.grader_id is not None else "someone"
        return Finding(
            kind=Kind.MANUAL_OVERRIDE,
            student_id=self.student_id,
            assignment_id=self.assignment_id,
            canvas_value=self.canvas_value,
            expected_value=self.written,
            message=(
                f"{self.label or self.target.value}: canvas-sync wrote {self.written or 'blank'} "
                f"but {who} changed it to {self.canvas_value or 'blank'}; push leaves it alone "
                "until a TA resolves it (--keep-canvas or --reapply)."
            ),
        )


@dataclass(frozen=True)
class Written:
    """The journal's last word on a cell: `confirmed` (we wrote `value`), `kept` (a TA kept the
    human value: hands off) or `released` (a TA asked to re-apply the policy)."""

    value: str | None
    state: str = "confirmed"


@dataclass(frozen=True)
class PushPlan:
    actions: tuple[PushAction, ...]
    overrides: tuple[ManualOverride, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def comments(self) -> int:
        return sum(1 for a in self.actions if a.comment)

    def by_assignment(self) -> dict[int, list[PushAction]]:
        """Grade and total actions per assignment: one bulk request each (SPEC §4)."""
        groups: dict[int, list[PushAction]] = {}
        for action in self.actions:
            if action.target is not Target.COLUMN and action.assignment_id is not None:
                groups.setdefault(action.assignment_id, []).append(action)
        return groups

    def column_actions(self) -> list[PushAction]:
        return [a for a in self.actions if a.target is Target.COLUMN]


@dataclass(frozen=True)
class PlanInputs:
    """Everything `build_plan` needs; all keyed by Canvas ids."""

    results: Sequence[StudentResult]
    submissions: Mapping[tuple[int, int], Submission]  # (student id, assignment id)
    time_zone: str = "America/Chicago"
    written: Mapping[CellKey, Written] = field(default_factory=dict)
    exemptions: Collection[tuple[int, int]] = ()  # (student id, assignment id)
    total_assignment_id: int | None = None
    column_values: Mapping[int, str] | None = None  # None: no custom column to write
    comment_missing: bool = False
    late_rule: str = DEFAULT_RULE
    required: int = 14
    notes: tuple[str, ...] = ()


# --- values ------------------------------------------------------------------------------------


def canvas_value(submission: Submission | None) -> str | None:
    """The grade a grader entered (`entered_score`, before Canvas's late deduction), as text.

    Canvas's Late Policy deducts from API-written scores too (canvas-api.md §10.4): comparing the
    entered score keeps a written 0 (or total) recognisable whatever the deduction.
    """
    if submission is None or submission.excused:
        return None
    value = submission.entered_score if submission.entered_score is not None else submission.score
    return format_score(value)


def same_value(a: str | None, b: str | None) -> bool:
    """Equal as grades: numbers within half a hundredth, other text exactly."""
    if a is None or b is None:
        return a is b
    try:
        return abs(float(a) - float(b)) < 0.005
    except ValueError:
        return a == b


def _own_comments(submission: Submission | None) -> list[str]:
    if submission is None:
        return []
    return [c.comment for c in submission.comments if c.comment.rstrip().endswith(MARKER)]


def planning_row(submission: Submission) -> Submission:
    """A row as planning (and push/premise.py) uses it: its own fields and this service's
    comments, without the attempts or the rubric. Kept for thousands of cells while a course
    is evaluated batch by batch, so the rest is let go with its batch."""
    own = tuple(c for c in submission.comments if c.comment.rstrip().endswith(MARKER))
    return replace(submission, history=(), rubric_assessment={}, comments=own)


# --- the diff ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Cell:
    key: CellKey
    current: str | None
    wanted: str | None  # None: the policy has nothing to write here
    grader_id: int | None
    label: str
    # A reading's score after Canvas's late deduction: when it already is the policy's value
    # (a 100% deduction leaves score 0 over an entered 8), posting that value changes nothing
    # (Canvas's bulk update skips an unchanged score, canvas-api.md §10 item 21).
    held: str | None = None


def _decide(cell: _Cell, inputs: PlanInputs) -> tuple[bool, ManualOverride | None]:
    """(plan a write?, override fact) for one cell; humans win over the policy."""
    written = inputs.written.get(cell.key)
    if written is not None and written.state == "kept":
        return False, None
    held = (cell.current, cell.held)
    if cell.wanted is not None and any(same_value(v, cell.wanted) for v in held):
        return False, None
    changed = written is not None and not any(same_value(v, written.value) for v in held)
    if written is not None and written.state == "confirmed" and changed:
        target, student, assignment = cell.key
        fact = ManualOverride(
            target, student, assignment, written.value, cell.current, cell.grader_id, cell.label
        )
        return False, fact
    return cell.wanted is not None, None


def _reading_action(
    result: StudentResult, reading: ReadingResult, inputs: PlanInputs, names: Mapping[int, str]
) -> tuple[PushAction | None, ManualOverride | None]:
    sid, aid = result.student.id, reading.assignment_id
    if reading.exempted or reading.status is Status.EXCUSED or (sid, aid) in inputs.exemptions:
        return None, None
    sub = inputs.submissions.get((sid, aid))
    zeroed = reading.status in (Status.LATE, Status.MISSING)
    cell = _Cell(
        (Target.GRADE, sid, aid),
        canvas_value(sub),
        "0" if zeroed else None,
        None if sub is None else sub.grader_id,
        names.get(aid, reading.name),
        None if sub is None or sub.excused or sub.score is None else format_score(sub.score),
    )
    write, fact = _decide(cell, inputs)
    if not write:
        return None, fact
    comment: str | None = None
    if not _own_comments(sub):
        if reading.status is Status.LATE:
            comment = late_comment(reading, inputs.time_zone, inputs.late_rule)
        elif inputs.comment_missing:
            comment = missing_comment(reading, inputs.time_zone)
    action = PushAction(
        Target.GRADE,
        sid,
        aid,
        cell.current,
        "0",
        comment,
        reason(reading, inputs.time_zone),
        result.student.name,
        cell.label,
    )
    return action, None


def _total_action(
    result: StudentResult, inputs: PlanInputs, labels: Mapping[int, str]
) -> tuple[PushAction | None, ManualOverride | None]:
    aid, sid = inputs.total_assignment_id, result.student.id
    if aid is None or (sid, aid) in inputs.exemptions:
        return None, None
    sub = inputs.submissions.get((sid, aid))
    wanted = total_text(result)
    cell = _Cell(
        (Target.TOTAL, sid, aid),
        canvas_value(sub),
        wanted,
        None if sub is None else sub.grader_id,
        "total",
    )
    write, fact = _decide(cell, inputs)
    if not write:
        return None, fact
    comment: str | None = total_comment(result, inputs.time_zone, inputs.required, labels)
    if comment in _own_comments(sub):
        comment = None  # the very same explanation is already there (e.g. after a crash)
    reason = f"best {inputs.required}: {format_score(result.points)} of " + (
        f"{format_score(result.possible)} points"
    )
    action = PushAction(
        Target.TOTAL,
        sid,
        aid,
        cell.current,
        wanted,
        comment,
        reason,
        result.student.name,
        "total",
    )
    return action, None


def _column_action(
    result: StudentResult, inputs: PlanInputs, labels: Mapping[int, str]
) -> tuple[PushAction | None, ManualOverride | None]:
    if inputs.column_values is None:
        return None, None
    sid = result.student.id
    cell = _Cell(
        (Target.COLUMN, sid, None),
        inputs.column_values.get(sid),
        column_text(result, labels),
        None,
        "column",
    )
    write, fact = _decide(cell, inputs)
    if not write or cell.wanted is None:
        return None, fact
    action = PushAction(
        Target.COLUMN,
        sid,
        None,
        cell.current,
        cell.wanted,
        None,
        "counted readings",
        result.student.name,
        "column",
    )
    return action, None


def build_plan(inputs: PlanInputs) -> PushPlan:
    """Every difference between the policy and Canvas, and every human override (SPEC §4)."""
    actions: list[PushAction] = []
    overrides: list[ManualOverride] = []
    labels = reading_labels(inputs.results)  # one name per reading in every text (docs/index.md)
    names = reading_names(inputs.results)
    for result in inputs.results:
        found = [_reading_action(result, r, inputs, names) for r in result.readings]
        if not result.unknown_count:
            # A reading whose Canvas row was not seen makes the total unknowable: write
            # neither the total nor the column until the next sync sees it.
            found += [
                _total_action(result, inputs, labels),
                _column_action(result, inputs, labels),
            ]
        for action, fact in found:
            if action is not None:
                actions.append(action)
            if fact is not None:
                overrides.append(fact)
    return PushPlan(tuple(actions), tuple(overrides), inputs.notes)
