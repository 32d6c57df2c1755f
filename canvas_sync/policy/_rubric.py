"""Rubric checks for `rubric_mismatch` (SPEC §3): P1–P5, each 0/1/2, summing to the score."""

from __future__ import annotations

from collections.abc import Mapping

from canvas_sync.domain import Assignment, RubricCriterion

from ._text import format_score, is_multiple

__all__ = ["RubricCheck", "ratings"]


class RubricCheck:
    """The rubric of one assignment, prepared once and applied to every submission.

    A valid rating for a criterion is 0..criterion points in multiples of the rubric step
    (0, 1, 2 for CS 598). Items with no points (comment-only rows) are ignored; if no item has
    points, the rubric was not used for the grade and nothing is checked.
    """

    __slots__ = ("_criteria", "_order", "_step", "ids", "ratings", "valid_items")

    def __init__(self, assignment: Assignment, step: float) -> None:
        self._criteria: dict[str, RubricCriterion] = {c.id: c for c in assignment.rubric}
        self._order = {cid: i for i, cid in enumerate(self._criteria)}
        self._step = step
        # Every valid (criterion, points) pair, for a fast path checked in C: most assessments
        # hold exactly 0.0, 1.0 or 2.0 for known criteria.
        self.valid_items = frozenset(
            (cid, rating) for cid, c in self._criteria.items() for rating in ratings(c.points, step)
        )
        # When every criterion has the same ratings (CS 598: 0, 1, 2 for each of P1–P5), an
        # item is valid iff its id is in `ids` and its points in `ratings`: two set checks,
        # cheaper than building and hashing (id, points) pairs. Otherwise both stay empty, and
        # any assessment takes the full check.
        per_criterion = {ratings(c.points, step) for c in self._criteria.values()}
        uniform = len(per_criterion) == 1
        self.ids = frozenset(self._criteria) if uniform else frozenset()
        self.ratings = per_criterion.pop() if uniform else frozenset()

    def problems(self, assessment: Mapping[str, float | None], score: float | None) -> list[str]:
        """Human-readable problems (empty when the rubric agrees with the score)."""
        # Fast path: all items valid (so none is None) and summing to the score.
        if (
            score is not None
            and self.valid_items.issuperset(assessment.items())
            and abs(sum(assessment.values()) - score) <= 1e-9  # type: ignore[arg-type]
        ):
            return []
        given = {cid: pts for cid, pts in assessment.items() if pts is not None}
        if not given:
            return []
        total = sum(given.values())
        sums_ok = score is not None and abs(total - score) <= 1e-9
        problems = [p for cid in self._ordered(given) if (p := self._item_problem(cid, given[cid]))]
        if not sums_ok:
            problems.append(
                f"items sum to {format_score(total)} but the score is "
                f"{format_score(score) or 'empty'}"
            )
        return problems

    def _ordered(self, given: Mapping[str, float]) -> list[str]:
        # Rubric order for known criteria (P1..P5), unknown ids after them by id.
        return sorted(given, key=lambda c: (self._order.get(c, len(self._order)), c))

    def _item_problem(self, cid: str, pts: float) -> str | None:
        crit = self._criteria.get(cid)
        if crit is None:
            return f"unknown criterion {cid}={format_score(pts)}"
        if 0 <= pts <= crit.points and is_multiple(pts, self._step):
            return None
        label = crit.description or cid
        return (
            f"{label}={format_score(pts)} is not a valid rating "
            f"(0..{format_score(crit.points)} in steps of {format_score(self._step)})"
        )


def ratings(points: float, step: float) -> frozenset[float]:
    """Every k × step in 0..points (bounded, so a huge criterion cannot blow up memory)."""
    if step <= 0 or points < 0 or points / step > 1000:
        return frozenset()
    return frozenset(k * step for k in range(int(points / step + 1e-9) + 1))
