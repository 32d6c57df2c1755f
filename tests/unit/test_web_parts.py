"""Small parts of the web app: why a reading counts, reading labels, the plan fingerprint."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import pytest

from canvas_sync.domain import Comment, ReadingResult, Selection, Status, Submission
from canvas_sync.report import ReadingColumn
from canvas_sync.service.pages import counted_why, our_comments
from canvas_sync.web.common import reading_labels
from canvas_sync.web.pushing import fingerprint

DUE = datetime(2026, 2, 4, 5, 59, 59, tzinfo=UTC)


def _reading(status: Status, policy: float | None, counted: bool = False) -> ReadingResult:
    return ReadingResult(1, 2, "Summary: LoRA", DUE, None, status, policy, policy, counted)


@pytest.mark.parametrize(
    ("reading", "selection", "expected"),
    [
        (_reading(Status.ON_TIME, 9.0, True), Selection.BEST, "counted: among the best 14"),
        (_reading(Status.ON_TIME, 9.0, True), Selection.FIRST, "first 14 on time"),
        (_reading(Status.EXCUSED, None), Selection.BEST, "excused, removed from the pool"),
        (_reading(Status.PENDING, None), Selection.BEST, "not submitted and not due"),
        (_reading(Status.ON_TIME, None), Selection.BEST, "waiting for a grade"),
        (_reading(Status.LATE, 0.0), Selection.BEST, "not counted: not among the best 14"),
    ],
)
def test_counted_why(reading: ReadingResult, selection: Selection, expected: str) -> None:
    assert expected in counted_why(reading, 14, selection)


def test_only_this_services_comments_are_listed() -> None:
    submission = Submission(
        1, 1, 2, None, DUE,
        comments=(Comment(1, 9, "Nice work", None), Comment(2, 9, "Late: 0.\n— canvas-sync", None)),
    )  # fmt: skip
    assert our_comments(submission) == ("Late: 0.\n— canvas-sync",)
    assert our_comments(None) == ()


def test_reading_labels_use_the_title_after_a_shared_prefix() -> None:
    columns = [
        ReadingColumn(1, "Summary: LoRA: Low-Rank Adaptation", "Summary #1", DUE),
        ReadingColumn(2, "Summary: AWQ: Activation-aware Weight Quantization", "Summary #2", DUE),
    ]
    assert reading_labels(columns) == {1: "LoRA", 2: "AWQ"}
    alike = [ReadingColumn(1, "A: X", "A #1", DUE), ReadingColumn(2, "A: X", "A #2", DUE)]
    assert reading_labels(alike) == {1: "A #1", 2: "A #2"}


@dataclass(frozen=True)
class _Target:
    value: str


@dataclass(frozen=True)
class _Action:
    target: _Target
    student_id: int
    assignment_id: int | None
    from_value: str | None
    to_value: str
    comment: str | None


@dataclass(frozen=True)
class _Plan:
    actions: tuple[_Action, ...]


def test_fingerprint_names_the_grades_shown() -> None:
    grade = _Action(_Target("grade"), 1, 2, "8", "0", "late")
    total = _Action(_Target("total"), 1, None, None, "80", None)
    column = _Action(_Target("column"), 1, None, None, "Counted: R1", None)
    shown = fingerprint(_Plan((grade, total)))
    assert fingerprint(_Plan((grade, total, column))) == shown  # a column created on apply
    created = _Action(_Target("total"), 1, 77, None, "80", None)
    assert fingerprint(_Plan((grade, created))) == shown  # the total assignment created on apply
    assert fingerprint(_Plan((grade,))) != shown
    assert fingerprint(_Plan((_Action(_Target("grade"), 1, 2, "9", "0", "late"), total))) != shown
