"""Canvas's job queue behind bulk updates, Progress `canceled`, and the `push` fault profile.

canvas-lms: app/models/submission.rb `queue_bulk_update` (one n_strand per course: jobs run one
at a time in queue order), `process_bulk_update` (an entry without grade or comment changes
nothing), app/models/progress.rb (queued, running, waiting_for_external_tool, completed, failed,
canceled).
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fidelity_helpers import NOW, TOKEN

from canvas_sync.simulator import READING_IDS, Simulator

BULK = "/courses/598/submissions/update_grades"
R1, R2 = READING_IDS[0], READING_IDS[1]


def client(sim: Simulator) -> httpx.Client:
    return httpx.Client(
        base_url=sim.base_url + "/api/v1", headers={"Authorization": f"Bearer {TOKEN}"}
    )


@pytest.fixture
def fresh() -> Iterator[Simulator]:
    with Simulator(students=20, seed=598, now=NOW) as sim:
        yield sim


def grade(uid: int, value: str, comment: str | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {"posted_grade": value}
    if comment:
        data["text_comment"] = comment
    return {"grade_data": {str(R1): {str(uid): data}}}


def test_a_poll_runs_every_earlier_job_of_the_course_first(fresh: Simulator) -> None:
    with client(fresh) as http:
        first = http.post(BULK, json=grade(1001, "3")).json()
        second = http.post(BULK, json=grade(1001, "4")).json()
        assert first["workflow_state"] == second["workflow_state"] == "queued"
        http.get(f"/progress/{second['id']}")  # never polled the first one
        assert fresh.state.jobs.runs == [first["id"], second["id"]]
        assert http.get(f"/progress/{first['id']}").json()["workflow_state"] == "completed"
    assert fresh.state.submissions[(R1, 1001)].entered_score == 4.0  # last queued wins


def test_an_empty_entry_changes_nothing(fresh: Simulator) -> None:
    sub = fresh.state.submissions[(R2, 1002)]
    before = (sub.entered_score, sub.graded_at, len(sub.comments))
    with client(fresh) as http:
        job = http.post(BULK, json={"grade_data": {str(R2): {"1002": {}}}}).json()
        http.get(f"/progress/{job['id']}")
        assert http.get(f"/progress/{job['id']}").json()["workflow_state"] == "completed"
    assert (sub.entered_score, sub.graded_at, len(sub.comments)) == before


def test_a_canceled_job_never_runs(fresh: Simulator) -> None:
    with client(fresh) as http:
        job = http.post(BULK, json=grade(1003, "1", "never")).json()
        fresh.state.jobs.cancel(job["id"])
        answer = http.get(f"/progress/{job['id']}").json()
    assert answer["workflow_state"] == "canceled" and "results" in answer
    assert not [c for c in fresh.state.submissions[(R1, 1003)].comments if c.comment == "never"]
    assert fresh.state.jobs.runs == []


def test_background_strand_runs_in_order_after_its_delay_and_can_be_held() -> None:
    with Simulator(students=20, seed=598, now=NOW, job_delay=0.05) as sim, client(sim) as http:
        sim.state.jobs.hold()
        first = http.post(BULK, json=grade(1004, "5")).json()
        second = http.post(BULK, json=grade(1004, "6")).json()
        time.sleep(0.2)
        assert http.get(f"/progress/{first['id']}").json()["workflow_state"] == "queued"
        sim.state.jobs.release()
        assert sim.state.jobs.drain(timeout=5)
        assert sim.state.jobs.runs == [first["id"], second["id"]]
        assert http.get(f"/progress/{second['id']}").json()["workflow_state"] == "completed"
        assert sim.state.submissions[(R1, 1004)].entered_score == 6.0


def test_push_profile_loses_answers_after_the_write_took_effect() -> None:
    with Simulator(students=20, seed=598, now=NOW, fault_profile="push", fault_seed=5) as sim:
        statuses = []
        with client(sim) as http:
            for n in range(60):
                statuses.append(http.post(BULK, json=grade(1005, str(n % 10))).status_code)
        lost = sim.lost_writes
        queued = len(sim.state.progresses)
    assert lost >= 5 and statuses.count(200) + lost == queued  # a lost answer's job exists
    assert {502, 504} <= set(statuses) and 403 in statuses
