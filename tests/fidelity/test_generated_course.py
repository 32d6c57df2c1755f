"""The generated course itself: deterministic, sized as asked, and carrying its edge cases."""

from __future__ import annotations

import json

from fidelity_helpers import NOW

from canvas_sync.simulator import READING_IDS, TEST_STUDENT_ID, build_course
from canvas_sync.simulator.render import Renderer
from canvas_sync.simulator.state import CanvasState


def snapshot(state: CanvasState) -> str:
    render = Renderer(state, "http://sim")
    rows = [
        render.submission(sub, {"submission_history", "rubric_assessment"})
        for _, sub in sorted(state.submissions.items())
    ]
    users = [render.user(u) for _, u in sorted(state.users.items())]
    return json.dumps([rows, users], sort_keys=True)


def test_same_seed_same_course_other_seed_differs() -> None:
    first = build_course(30, 598, clock=lambda: NOW)
    assert snapshot(first) == snapshot(build_course(30, 598, clock=lambda: NOW))
    assert snapshot(first) != snapshot(build_course(30, 599, clock=lambda: NOW))


def test_student_count_and_named_floor() -> None:
    state = build_course(40, 598)
    students = {e.user_id for e in state.enrollments.values() if e.type == "StudentEnrollment"}
    assert len(students) == 40 and min(students) == 1001
    tiny = build_course(5, 598)
    named = {e.user_id for e in tiny.enrollments.values() if e.type == "StudentEnrollment"}
    assert named == set(range(1001, 1020))
    assert any(e.user_id == TEST_STUDENT_ID for e in tiny.enrollments.values())


def test_regular_students_submit_14_to_17_mostly_on_time() -> None:
    state = build_course(60, 7, clock=lambda: NOW)
    late = total = 0
    for uid in range(1020, 1061):
        subs = [state.submissions[(aid, uid)] for aid in READING_IDS]
        sent = [s for s in subs if s.submitted_at is not None]
        assert 14 <= len(sent) <= 17
        for sub in sent:
            due = state.due_for(state.assignments[sub.assignment_id], uid)
            assert due is not None and sub.submitted_at is not None
            total += 1
            late += sub.submitted_at > due
            if sub.rubric_assessment is not None:
                points = sum(v["points"] for v in sub.rubric_assessment.values())
                assert points == sub.entered_score
    assert 0 < late < total * 0.15


def test_all_submissions_are_in_spring_2026() -> None:
    state = build_course(40, 598)
    stamps = [a.submitted_at for s in state.submissions.values() for a in s.attempts]
    assert stamps and all(s.year == 2026 and 2 <= s.month <= 5 for s in stamps)
