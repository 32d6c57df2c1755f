"""The generated students: the named edge cases (tabled in `course.py`) and regular ones."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

from canvas_sync.simulator.catalog import (
    FIRST_STUDENT_ID,
    JITSERVE,
    READING_IDS,
    READINGS,
    SECTION_A,
    SECTION_B,
    SECTION_B_DUE,
    SECTION_B_READING,
    START,
    TEST_STUDENT_ID,
    TOTAL_ASSIGNMENT_ID,
    syllabus_due,
)
from canvas_sync.simulator.records import User
from canvas_sync.simulator.state import CanvasState

__all__ = ["add_students"]

_FIRST = (
    "Avery",
    "Blake",
    "Casey",
    "Devon",
    "Elliot",
    "Finley",
    "Gray",
    "Harper",
    "Indy",
    "Jordan",
    "Kai",
    "Logan",
    "Morgan",
    "Nico",
    "Oakley",
    "Parker",
    "Quincy",
    "Reese",
    "Sage",
    "Taylor",
    "Umi",
    "Val",
    "Wren",
    "Xen",
    "Yael",
    "Zion",
)
_LAST = (
    "Adams",
    "Bauer",
    "Cruz",
    "Dubois",
    "Ekström",
    "Fujita",
    "García",
    "Haddad",
    "Ito",
    "Jansen",
    "Kowalski",
    "Li",
    "Müller",
    "Novak",
    "O'Brien",
    "Patel",
    "Quispe",
    "Rossi",
    "Singh",
    "Tanaka",
    "Usman",
    "Vargas",
    "Wang",
    "Xu",
    "Yilmaz",
    "Zhang",
)
_NAMED = (
    ("Alice", "Anders"),
    ("Ben", "Brooks"),
    ("Chloe", "Chen"),
    ("Dev", "Desai"),
    ("Emma", "Evans"),
    ("Farah", "Fischer"),
    ("Gus", "Green"),
    ("Hana", "Hoshino"),
    ("Ivan", "Ivanov"),
    ("Jin", "Jung"),
    ("Kara", "Kim"),
    ("Liam", "Lopez"),
    ("Mia", "Moreno"),
    ("Noah", "Nakamura"),
    ('<script>alert("x")</script>', "Tables"),
    ("Olivia", "Olsen"),
    ("Pablo", "Perez"),
    ("Quinn", "Quade"),
    ("Rosa", "Ruiz"),
)
_TOTALS_AT = datetime(2026, 5, 1, 15, 0, 0, tzinfo=UTC)  # when a stale total was last pushed


class _Writer:
    """Small helpers to write one student's history relative to their own due dates."""

    def __init__(self, state: CanvasState, rng: random.Random) -> None:
        self.state, self.rng = state, rng

    def due(self, uid: int, idx: int) -> datetime:
        found = self.state.due_for(self.state.assignments[READING_IDS[idx]], uid)
        assert found is not None
        return found

    def items(self) -> list[int]:
        return [self.rng.choices((2, 1, 0), weights=(75, 22, 3))[0] for _ in range(5)]

    def submit(self, uid: int, idx: int, offset: timedelta) -> None:
        """Submit at the student's due date + `offset` (negative = early)."""
        body = f"<p>Summary of R{idx + 1} by student {uid}.</p>"
        self.state.submit(uid, READING_IDS[idx], self.due(uid, idx) + offset, body=body)

    def grade(
        self,
        uid: int,
        idx: int,
        items: Sequence[int] | None,
        score: float | None = None,
        comment: str | None = None,
    ) -> float:
        value = float(sum(items)) if score is None and items is not None else score
        rubric = {f"P{n}": p for n, p in enumerate(items, start=1)} if items is not None else None
        when = self.due(uid, idx) + timedelta(days=2, hours=self.rng.randint(1, 72))
        self.state.grade(uid, READING_IDS[idx], value, 2, rubric, comment, graded_at=when)
        return value or 0.0

    def on_time(self, uid: int, indices: Sequence[int], graded: bool = True) -> list[float]:
        scores = []
        for idx in indices:
            self.submit(uid, idx, -timedelta(hours=self.rng.randint(1, 72)))
            if graded:
                scores.append(self.grade(uid, idx, self.items()))
        return scores


def _named(state: CanvasState, w: _Writer) -> None:
    """The edge-case students of the module docstring's table."""
    states = {1017: "inactive", 1018: "invited", 1019: "completed"}
    for offset, (first, last) in enumerate(_NAMED):
        uid = FIRST_STUDENT_ID + offset
        name = f"{first} {last}"
        state.add_user(
            User(uid, name, f"{last}, {first}", name, f"sis-{uid}", f"student{uid}", START)
        )
        section = SECTION_B if uid == 1014 else SECTION_A
        state.enroll(uid, "StudentEnrollment", section, states.get(uid, "active"))
    state.add_user(
        User(TEST_STUDENT_ID, "Test Student", "Student, Test", "Test Student", None, None, START)
    )
    state.enroll(TEST_STUDENT_ID, "StudentViewEnrollment", SECTION_A)
    state.add_override(
        READING_IDS[SECTION_B_READING],
        section_id=SECTION_B,
        due_at=SECTION_B_DUE,
        title="Section B",
    )
    state.add_override(
        READING_IDS[12],
        student_ids=[1012],
        title="1 student",
        due_at=syllabus_due(READINGS[12][1]) + timedelta(days=3),
    )
    state.add_override(
        READING_IDS[18],
        student_ids=[1012],
        title="1 student",
        due_at=syllabus_due(date(2027, 1, 16)),
    )
    _history_first_half(state, w)
    _history_second_half(state, w)


_FIRST14 = range(14)
_HOURS = timedelta(hours=1)


def _history_first_half(state: CanvasState, w: _Writer) -> None:
    """1001–1009: total, ungraded, late, resubmission, status none, excused, paper, range..."""
    first14, hours = _FIRST14, _HOURS
    alice = w.on_time(1001, first14)
    if TOTAL_ASSIGNMENT_ID in state.assignments:
        state.grade(
            1001, TOTAL_ASSIGNMENT_ID, round(sum(alice) / 140 * 100, 2), 1, graded_at=_TOTALS_AT
        )
    w.on_time(1002, range(1, 14))
    w.on_time(1002, [0], graded=False)
    w.on_time(1003, [i for i in first14 if i not in (2, 3)])
    w.submit(1003, 2, 3 * hours)
    w.grade(1003, 2, [2, 2, 2, 1, 1])
    w.submit(1003, 3, 26 * hours)
    w.on_time(1004, [i for i in first14 if i != 4])
    w.submit(1004, 4, -20 * hours)
    w.submit(1004, 4, 2 * hours)
    w.grade(1004, 4, [2, 2, 2, 2, 1])
    w.on_time(1005, [i for i in first14 if i != 5])
    w.submit(1005, 5, 2 * hours)
    w.grade(1005, 5, [2, 2, 2, 2, 2])
    state.submission(READING_IDS[5], 1005).late_policy_status = "none"
    for idx in range(6):
        sub = state.submission(READING_IDS[idx], 1006)
        sub.excused, sub.grader_id, sub.graded_at = True, 2, w.due(1006, idx) + timedelta(days=1)
    w.on_time(1006, range(6, 19))
    w.on_time(1007, [i for i in first14 if i != 6])
    w.grade(1007, 6, None, score=10.0)
    w.on_time(1008, [i for i in first14 if i not in (7, 8)])
    w.submit(1008, 7, -5 * hours)
    w.grade(1008, 7, None, score=12.0)
    w.submit(1008, 8, -5 * hours)
    w.grade(1008, 8, None, score=7.5)
    w.on_time(1009, [i for i in first14 if i not in (9, 10)])
    w.submit(1009, 9, -5 * hours)
    w.grade(1009, 9, [2, 2, 2, 1, 1], score=9.0)
    w.submit(1009, 10, -5 * hours)
    w.grade(1009, 10, [3, 2, 2, 1, 2], score=10.0)


def _history_second_half(state: CanvasState, w: _Writer) -> None:
    """1010–1019 and the test student: at risk, all 19, extensions, missing, section B, ..."""
    first14 = _FIRST14
    w.on_time(1010, range(10))
    w.on_time(1011, [i for i in range(19) if i != JITSERVE])
    state.submit(1011, READING_IDS[JITSERVE], datetime(2026, 3, 11, 5, 30, tzinfo=UTC))
    w.grade(1011, JITSERVE, [2, 2, 2, 2, 2])
    w.on_time(1012, range(12))
    w.submit(1012, 12, -2 * timedelta(days=1))  # 1 day after the base date, 2 before the extension
    w.grade(1012, 12, [2, 2, 2, 2, 1])
    w.on_time(1013, range(13))
    w.grade(1013, 14, None, score=0.0)
    # A custom grade status ("Medical", id 1) on R17, never submitted: neither late nor missing.
    state.set_custom_status(1013, READING_IDS[16], 1)
    for uid in (1014, 1015, 1016, 1019):
        w.on_time(uid, [i for i in first14 if not (uid == 1014 and i == SECTION_B_READING)])
    state.submit(1014, READING_IDS[SECTION_B_READING], datetime(2026, 3, 5, 12, 0, tzinfo=UTC))
    w.grade(1014, SECTION_B_READING, [2, 2, 1, 2, 2])
    if TOTAL_ASSIGNMENT_ID in state.assignments:
        state.grade(1016, TOTAL_ASSIGNMENT_ID, 55.0, 1, graded_at=_TOTALS_AT)
    w.on_time(1017, range(5))
    w.on_time(TEST_STUDENT_ID, [0], graded=False)


def _regular(state: CanvasState, w: _Writer, students: int) -> None:
    rng = w.rng
    for uid in range(FIRST_STUDENT_ID + len(_NAMED), FIRST_STUDENT_ID + students):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        name = f"{first} {last}"
        state.add_user(
            User(uid, name, f"{last}, {first}", name, f"sis-{uid}", f"student{uid}", START)
        )
        state.enroll(uid, "StudentEnrollment", SECTION_A)
        for idx in sorted(rng.sample(range(len(READINGS)), rng.randint(14, 17))):
            late = rng.random() < 0.06
            hours = rng.randint(1, 30) if late else -rng.randint(1, 72)
            w.submit(uid, idx, timedelta(hours=hours))
            if late and rng.random() < 0.5:
                continue
            if idx >= 17 and rng.random() < 0.3:
                continue  # a recent one the TA has not graded yet
            comment = "Good summary." if rng.random() < 0.2 else None
            w.grade(uid, idx, w.items(), comment=comment)


def add_students(state: CanvasState, students: int, seed: int) -> None:
    """The named edge cases, then regular students up to `students` in all."""
    writer = _Writer(state, random.Random(seed))
    _named(state, writer)
    _regular(state, writer, students)
