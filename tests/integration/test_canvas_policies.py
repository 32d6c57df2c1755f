"""Canvas's own grading rules read as Canvas means them (issue 9), on SQLite and PostgreSQL.

Each test changes the simulator's course the way an instructor or Canvas itself would, then
syncs (and pushes) through the real HTTP server.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from integration_helpers import canvas_env

from canvas_sync import service
from canvas_sync.domain import Kind, Status
from canvas_sync.push import MARKER
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import READING_IDS, TA_TOKEN, Simulator

TOKEN = "sim-token"
R19 = READING_IDS[18]
# Two hours after R19 (Why Do Multi-Agent LLM Systems Fail?) was due: Apr 23 23:59:59 CDT.
AFTER_R19 = datetime(2026, 4, 24, 4, 59, 59, tzinfo=UTC) + timedelta(hours=2)
# After the semester (and after every grade the generated course holds).
TERM_OVER = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(students=30, seed=598, now=AFTER_R19, token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
def settings(sim: Simulator, database_url: str) -> Settings:
    made = load_settings(shipped_config(), env=canvas_env(sim, TOKEN, database_url))
    return dataclasses.replace(made, allow_canvas_late_policy=True)


def now() -> datetime:
    return AFTER_R19


def results_by_cell(settings: Settings) -> dict[tuple[int, int], Any]:
    evaluation = service.evaluate(settings, now=AFTER_R19)
    return {(r.student_id, r.assignment_id): r for s in evaluation.results for r in s.readings}


def test_a_missing_policy_score_is_missing_work(sim: Simulator, settings: Settings) -> None:
    """lib/missing_policy_applicator.rb scores missing R19 work 10 × (1 − 70%) = 3 with no
    grader: the syllabus still gives 0, and the 3 never counts in the best 14."""
    with sim.state.lock:
        policy = sim.state.late_policy
        assert policy is not None
        policy.missing_submission_deduction_enabled = True
        policy.missing_submission_deduction = 70.0
    assert sim.state.apply_missing_deductions() > 0
    scored = [
        uid
        for (aid, uid), s in sim.state.submissions.items()
        if aid == R19 and s.entered_score == 3.0 and s.grader_id is None
    ]
    assert scored
    service.sync(settings, now=now)
    cells = results_by_cell(settings)
    for uid in scored:
        if (uid, R19) in cells:
            reading = cells[(uid, R19)]
            assert (reading.status, reading.policy_score) == (Status.MISSING, 0.0)
            assert reading.canvas_score == 3.0
    found = service.list_discrepancies(settings, state="open", kind="missing_policy_conflict")
    assert len(found) == 1 and "70%" in found[0].message
    service.push(settings, now=now, poll_interval=0.01)
    zeroed = [uid for uid in scored if (uid, R19) in cells]
    assert zeroed
    assert all(sim.state.submissions[(R19, uid)].entered_score == 0.0 for uid in zeroed)


def test_a_ta_edit_of_a_grade_we_wrote_is_open_after_the_next_sync(database_url: str) -> None:
    """The service zeroed a late summary; a TA sets it to 7 in Canvas. The very next sync (not
    only the next push) reports an open manual_override, in the sync's counts and the report."""
    with Simulator(students=30, seed=598, now=TERM_OVER, token=TOKEN) as sim:
        made = load_settings(shipped_config(), env=canvas_env(sim, TOKEN, database_url))
        _ta_edit_is_found(sim, dataclasses.replace(made, allow_canvas_late_policy=True))


def _ta_edit_is_found(sim: Simulator, settings: Settings) -> None:
    service.sync(settings, now=lambda: TERM_OVER)
    pushed = service.push(settings, now=lambda: TERM_OVER, poll_interval=0.01)
    late = next(a for a in pushed.plan.actions if a.comment and a.assignment_id in READING_IDS)
    assert late.assignment_id is not None
    later = TERM_OVER + timedelta(hours=1)  # the TA edits an hour after the push
    sim.now = later
    url = f"{sim.base_url}/api/v1/courses/{sim.course_id}/assignments/{late.assignment_id}"
    httpx.put(
        f"{url}/submissions/{late.student_id}",
        headers={"Authorization": f"Bearer {TA_TOKEN}"},
        data={"submission[posted_grade]": "7"},
    ).raise_for_status()
    summary = service.sync(settings, now=lambda: later)
    found = service.list_discrepancies(settings, state="open", kind="manual_override")
    assert [(d.student_id, d.assignment_id, d.canvas_value, d.expected_value) for d in found] == [
        (late.student_id, late.assignment_id, "7", "0")
    ]
    assert "user 2" in found[0].message
    report = service.build_report(settings)
    assert any(d.kind is Kind.MANUAL_OVERRIDE for d in report.discrepancies)
    assert summary.open_by_severity["error"] >= 1
    # Nothing changed since: the next sync keeps the one fact, no duplicate.
    service.sync(settings, now=lambda: later)
    again = service.list_discrepancies(settings, state="open", kind="manual_override")
    assert [d.id for d in again] == [found[0].id]


def test_custom_grade_statuses_are_left_alone_and_reported(database_url: str) -> None:
    """1003's R3 is 3 h late (graded 8) and 1013's R14 was never submitted: with a Canvas
    custom grade status on each, Canvas calls neither late nor missing, and push leaves both
    as Canvas holds them; each is an info discrepancy."""
    r3, r14 = READING_IDS[2], READING_IDS[13]
    with Simulator(students=24, seed=598, now=TERM_OVER, token=TOKEN) as sim:
        made = load_settings(shipped_config(), env=canvas_env(sim, TOKEN, database_url))
        settings = dataclasses.replace(made, allow_canvas_late_policy=True)
        sim.state.set_custom_status(1003, r3, 7)
        sim.state.set_custom_status(1013, r14, 7)
        service.sync(settings, now=lambda: TERM_OVER)
        cells = {
            (r.student_id, r.assignment_id): r
            for s in service.evaluate(settings, now=TERM_OVER).results
            for r in s.readings
        }
        assert (cells[(1003, r3)].status, cells[(1003, r3)].policy_score) == (Status.ON_TIME, 8.0)
        assert cells[(1013, r14)].status is Status.PENDING
        found = service.list_discrepancies(settings, state="open", kind="custom_grade_status")
        # (1013's R17 has one in the generated course already.)
        assert {(d.student_id, d.assignment_id) for d in found} == {
            (1003, r3),
            (1013, r14),
            (1013, READING_IDS[16]),
        }
        assert all(d.severity.value == "info" for d in found)
        assert {d.canvas_value for d in found if d.student_id == 1003} == {"7"}
        service.push(settings, now=lambda: TERM_OVER, poll_interval=0.01)
        assert sim.state.submissions[(r3, 1003)].entered_score == 8.0
        assert sim.state.submissions[(r14, 1013)].entered_score is None
        assert not [c for c in sim.state.submissions[(r3, 1003)].comments if MARKER in c.comment]
