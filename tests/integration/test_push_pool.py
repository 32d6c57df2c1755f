"""The service's own targets are never readings (issue 9, item 1), on SQLite and PostgreSQL.

The simulator's course has no total assignment and "Reading Summaries" is its top assignment
group: Canvas puts an assignment created without a group there (canvas-lms
app/controllers/assignments_api_controller.rb `create`), so push must name a group of its own.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from integration_helpers import canvas_env

from canvas_sync import service
from canvas_sync.db import Database
from canvas_sync.domain import Kind, Status
from canvas_sync.errors import UsageError
from canvas_sync.push import MARKER
from canvas_sync.service._push_plan import stored_blocker
from canvas_sync.service.blockers import blocking_reason
from canvas_sync.settings import Settings, load_settings, shipped_config
from canvas_sync.simulator import READING_IDS, TA_TOKEN, Simulator

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "sim-token"
READING_GROUP = 101


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(students=24, seed=598, now=NOW, token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
def shipped(sim: Simulator, database_url: str) -> Settings:
    """The shipped config as is: push stops on the course's Canvas Late Policy (10%/day)."""
    return load_settings(shipped_config(), env=canvas_env(sim, TOKEN, database_url))


@pytest.fixture
def settings(shipped: Settings) -> Settings:
    """The shipped config, allowing the course's Canvas Late Policy."""
    return dataclasses.replace(shipped, allow_canvas_late_policy=True)


def run_push(settings: Settings, **kw: Any) -> service.PushSummary:
    return service.push(settings, now=lambda: NOW, poll_interval=0.01, **kw)


def writes(sim: Simulator) -> list[tuple[str, str]]:
    return [(m, path) for m, path, _q, _s in sim.request_log if m != "GET"]


def create_assignment(sim: Simulator, name: str) -> int:
    """Someone creates an assignment without naming a group (it lands in the top group)."""
    answer = httpx.post(
        f"{sim.base_url}/api/v1/courses/{sim.course_id}/assignments",
        headers={"Authorization": f"Bearer {TA_TOKEN}"},
        data={"assignment[name]": name, "assignment[published]": "true"},
    )
    answer.raise_for_status()
    return int(answer.json()["id"])


def test_sync_push_sync_push_keeps_the_pool_and_the_totals(
    sim: Simulator, settings: Settings
) -> None:
    service.sync(settings, now=lambda: NOW)
    run_push(settings)
    service.sync(settings, now=lambda: NOW)
    state = sim.state
    total = next(a for a in state.assignments.values() if a.name == settings.total_assignment)
    group = state.groups[total.group_id]
    assert total.group_id != READING_GROUP
    assert (group.name, group.group_weight) == ("Course Totals", 0.0)
    evaluation = service.evaluate(settings, now=NOW)
    assert len(evaluation.snapshot.readings) == 19
    assert total.id not in {a.id for a in evaluation.snapshot.readings}
    assert not [f for f in evaluation.findings if f.kind is Kind.POOL_MISMATCH]
    for result in evaluation.results:
        excused = sum(1 for r in result.readings if r.status is Status.EXCUSED)
        possible = min(14, 19 - excused) * 10
        assert result.possible == possible
        held = state.submissions[(total.id, result.student.id)].entered_score
        assert held == pytest.approx(round(100 * result.points / possible, 2))
    comments = sum(len(s.comments) for s in state.submissions.values())
    sim.reset_request_log()
    second = run_push(settings)
    assert second.planned == 0 and second.write_requests == 0
    assert writes(sim) == []
    assert sum(len(s.comments) for s in state.submissions.values()) == comments
    own = [c for s in state.submissions.values() for c in s.comments if MARKER in c.comment]
    assert own  # the first push did comment; the second added none


def test_a_total_already_in_the_reading_group_is_not_a_reading(
    sim: Simulator, settings: Settings
) -> None:
    """What an earlier version left behind: the total among the readings (issue 9)."""
    total = create_assignment(sim, settings.total_assignment)
    assert sim.state.assignments[total].group_id == READING_GROUP
    service.sync(settings, now=lambda: NOW)
    evaluation = service.evaluate(settings, now=NOW)
    assert len(evaluation.snapshot.readings) == 19
    assert not [f for f in evaluation.findings if f.kind is Kind.POOL_MISMATCH]


def test_an_extra_assignment_in_the_pool_stops_push(sim: Simulator, settings: Settings) -> None:
    create_assignment(sim, "Week 3 quiz")
    service.sync(settings, now=lambda: NOW)
    (found,) = [
        d
        for d in service.list_discrepancies(settings, state="open")
        if d.kind is Kind.POOL_MISMATCH
    ]
    assert "'Week 3 quiz'" in found.message and found.severity.value == "error"
    sim.reset_request_log()
    with pytest.raises(UsageError) as refused:
        run_push(settings)
    assert refused.value.exit_code == 2
    assert "'Week 3 quiz'" in str(refused.value) and "\n" not in str(refused.value)
    assert not [p for m, p in writes(sim) if p.endswith("/update_grades")]
    # Refused from the stored course, before this push's own sync pulled any submission.
    assert not [p for _m, p, _q, _s in sim.request_log if p.endswith("/students/submissions")]


@pytest.mark.parametrize("extra", [False, True])
def test_the_stored_check_finds_what_the_full_evaluation_finds(
    sim: Simulator, shipped: Settings, database_url: str, extra: bool
) -> None:
    """The check before a push loads no submission; it says what the full evaluation says."""
    if extra:
        create_assignment(sim, "Week 3 quiz")
    service.sync(shipped, now=lambda: NOW)
    full = blocking_reason(shipped, service.evaluate(shipped, now=NOW).findings)
    assert full is not None  # the course's Late Policy, and the extra assignment if any
    assert ("'Week 3 quiz'" in full) is extra
    database = Database(database_url)
    try:
        assert stored_blocker(shipped, database, NOW) == full
        allowed = dataclasses.replace(shipped, allow_canvas_late_policy=True)
        later = blocking_reason(allowed, service.evaluate(allowed, now=NOW).findings)
        assert stored_blocker(allowed, database, NOW) == later
        assert (later is None) is not extra
    finally:
        database.dispose()


def test_a_canvas_late_policy_stops_push_by_default(sim: Simulator, shipped: Settings) -> None:
    service.sync(shipped, now=lambda: NOW)
    sim.reset_request_log()
    with pytest.raises(UsageError) as refused:
        run_push(shipped)
    text = str(refused.value)
    assert refused.value.exit_code == 2 and "\n" not in text
    assert "Automatically apply deduction to late submissions" in text
    assert "push.allow_canvas_late_policy" in text
    # Refused before anything is created or written in Canvas (the last sync already knew).
    assert writes(sim) == []


def test_a_dry_run_shows_the_plan_and_what_stops_the_push(
    sim: Simulator, shipped: Settings
) -> None:
    """The dry run is not refused: it plans what push would write and says why push won't."""
    service.sync(shipped, now=lambda: NOW)
    sim.reset_request_log()
    summary = run_push(shipped, dry_run=True)
    assert summary.planned > 0 and not summary.applied
    (note,) = [n for n in summary.plan.notes if n.startswith("Push refused")]
    assert "Automatically apply deduction to late submissions" in note
    assert writes(sim) == []


def test_a_zero_canvas_already_gives_is_not_pushed_again(
    sim: Simulator, settings: Settings
) -> None:
    """A 100% Canvas late deduction: late work already scores 0 with its entered grade kept;
    Canvas skips posting 0 over it, so push must not plan it again and again."""
    with sim.state.lock:
        assert sim.state.late_policy is not None
        sim.state.late_policy.late_submission_deduction = 100.0
    service.sync(settings, now=lambda: NOW)
    held = sim.state.submissions[(READING_IDS[2], 1003)]  # 1003's R3: 3 h late, graded 8
    run_push(settings)
    assert held.entered_score == 8.0
    sim.reset_request_log()
    second = run_push(settings)
    assert second.planned == 0 and writes(sim) == []
    assert not [d for d in service.list_discrepancies(settings) if d.kind is Kind.MANUAL_OVERRIDE]
