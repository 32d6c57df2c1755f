"""Push plans from its own sync's evaluation batches (issues 10 and 14): the course is evaluated
once, a batch of students at a time, and only the rows the plan can act on are kept. The plan
must be the one a whole-course evaluation gives, change for change, override for override."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from test_push import NOW, first_late, make_settings, run_push, ta_sets_grade

from canvas_sync import service
from canvas_sync.db import Database, records, repo
from canvas_sync.db import journal as jr
from canvas_sync.push import PlanInputs, PushPlan, Target, Written, build_plan
from canvas_sync.service import _evaluation as evaluation
from canvas_sync.service import _push_plan
from canvas_sync.service import pushing as pushing_module
from canvas_sync.settings import Settings
from canvas_sync.simulator import TOTAL_ASSIGNMENT_ID, Simulator

TOKEN = "sim-token"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(students=40, seed=598, now=NOW, token=TOKEN, total_assignment=True) as simulator:
        yield simulator


def _whole_course_plan(settings: Settings, notes: tuple[str, ...]) -> PushPlan:
    """The plan as a whole-course evaluation with every stored row makes it (no batches, no
    row left out), from the same journal, exemptions and settings push uses."""
    database = Database(settings.database_url)
    try:
        with database.transaction() as session:
            whole = evaluation.evaluate_stored(session, settings, NOW)
            totals = repo.load_submissions(session, settings.course_id, [TOTAL_ASSIGNMENT_ID])
            last = jr.last_words(session, settings.course_id)
            exemptions = records.list_exemptions(session, settings.course_id)
    finally:
        database.dispose()
    rows = [*whole.snapshot.submissions, *totals]
    inputs = PlanInputs(
        results=whole.results,
        submissions={(s.student_id, s.assignment_id): s for s in rows},
        time_zone=settings.time_zone,
        written={(Target(t), s, a): Written(e.to_value, e.state) for (t, s, a), e in last.items()},
        exemptions={(e.student_id, e.assignment_id) for e in exemptions},
        total_assignment_id=TOTAL_ASSIGNMENT_ID,
        column_values={
            s: e.to_value
            for (t, s, _a), e in last.items()
            if t == Target.COLUMN.value and e.state == "confirmed" and e.to_value is not None
        },
        comment_missing=settings.comment_missing,
        late_rule=_push_plan.late_rule(settings),
        required=settings.policy.required,
        notes=notes,
    )
    return build_plan(inputs)


class _Sources:
    """Records every PlanSource push makes and the batch sizes it is given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.made: list[_push_plan.PlanSource] = []
        self.batches: list[int] = []
        init, add = _push_plan.PlanSource.__init__, _push_plan.PlanSource.add

        def tracked(source: _push_plan.PlanSource, *args: Any) -> None:
            init(source, *args)
            self.made.append(source)

        def counted(source: _push_plan.PlanSource, batch: evaluation.Batch) -> None:
            self.batches.append(len(batch.evaluation.results))
            add(source, batch)

        monkeypatch.setattr(_push_plan.PlanSource, "__init__", tracked)
        monkeypatch.setattr(_push_plan.PlanSource, "add", counted)


def _after_a_push(sim: Simulator, settings: Settings) -> int:
    """A push, then: a human edit of a written zero (an override), a late submission over
    another zero, an extension that makes a third zeroed reading on time (no longer a reading
    push may zero, but one it wrote) and an exemption, so the next plan holds every kind of
    decision. The edited reading."""
    first = run_push(settings)
    aid, uid = first_late(first)
    ta_sets_grade(sim, aid, uid, "7")
    zeros = [
        a
        for a in first.plan.actions
        if a.target is Target.GRADE and a.student_id != uid and a.assignment_id is not None
    ]
    resubmitted, extended = zeros[0], next(z for z in zeros if z.comment and z is not zeros[0])
    assert resubmitted.assignment_id is not None and extended.assignment_id is not None
    sim.state.submit(resubmitted.student_id, resubmitted.assignment_id, NOW - timedelta(hours=1))
    sim.state.add_override(extended.assignment_id, [extended.student_id], NOW)
    database = Database(settings.database_url)
    with database.transaction() as session:
        records.add_exemption(session, 598, 1003, 2004, "doctor's note", by="ta", now=NOW)
    database.dispose()
    return aid


@pytest.mark.parametrize("refresh", [True, False], ids=["own sync", "stored course"])
def test_a_plan_made_batch_by_batch_is_the_whole_course_plan(
    sim: Simulator, database_url: str, monkeypatch: pytest.MonkeyPatch, refresh: bool
) -> None:
    settings = make_settings(sim, database_url)
    service.sync(settings, now=lambda: NOW)
    edited = _after_a_push(sim, settings)
    if not refresh:
        service.sync(settings, now=lambda: NOW)
        monkeypatch.setattr(pushing_module, "sync", lambda *a, **k: pytest.fail("no sync"))
    monkeypatch.setattr(evaluation, "STUDENT_BATCH", 6)
    sources = _Sources(monkeypatch)
    plan = service.plan_push(settings, now=lambda: NOW, refresh=refresh)
    assert len(sources.made) == 1 and len(sources.batches) == 7  # 40 students, 6 at a time
    assert plan.actions and edited in {o.assignment_id for o in plan.overrides}
    whole = _whole_course_plan(settings, plan.notes)
    assert plan.actions == whole.actions
    assert plan.overrides == whole.overrides


def test_the_plan_keeps_only_the_rows_it_can_act_on(
    sim: Simulator, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(sim, database_url)
    service.sync(settings, now=lambda: NOW)
    sources = _Sources(monkeypatch)
    plan = service.plan_push(settings, now=lambda: NOW)
    (source,) = sources.made
    database = Database(settings.database_url)
    with database.transaction() as session:
        stored = repo.load_submissions(session, 598, [*source.reading_ids, TOTAL_ASSIGNMENT_ID])
    database.dispose()
    assert any(s.history for s in stored) and any(s.rubric_assessment for s in stored)
    assert 0 < len(source.cells) < len(stored) / 2
    assert all(not s.history and not s.rubric_assessment for s in source.cells.values())
    planned = {(a.student_id, a.assignment_id) for a in plan.actions if a.assignment_id}
    assert planned <= set(source.cells)
    assert len(source.results) == len(service.evaluate(settings, now=NOW).results)
