"""push/apply over respx: Progress failed or never finishing, 422, throttling, reconcile."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

import httpx
import pytest
import respx

from canvas_sync.canvas import CanvasClient
from canvas_sync.db.journal import JournalEntry
from canvas_sync.domain import Secret
from canvas_sync.errors import PushFailed
from canvas_sync.push import PushAction, PushPlan, Target, apply_plan, reconcile

BASE = "https://canvas.test"
API = f"{BASE}/api/v1"
COURSE = 598
SUBMISSIONS = f"/courses/{COURSE}/students/submissions"


class MemoryJournal:
    """`push.Journal` in memory: the states each row went through, in order."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}

    def planned(self, actions: Sequence[PushAction]) -> list[int]:
        ids = []
        for action in actions:
            row_id = len(self.rows) + 1
            self.rows[row_id] = {"action": action, "states": ["planned"], "progress": None}
            ids.append(row_id)
        return ids

    def sent(self, ids: Sequence[int], progress_id: int | None) -> None:
        for row_id in ids:
            self.rows[row_id]["states"].append("sent")
            self.rows[row_id]["progress"] = progress_id

    def finished(self, outcomes: Sequence[tuple[int, str, str | None]]) -> None:
        for row_id, state, answer in outcomes:
            self.rows[row_id]["states"].append(state)
            self.rows[row_id]["answer"] = answer

    def open(self) -> list[JournalEntry]:
        found = []
        for row_id, row in self.rows.items():
            state, action = row["states"][-1], row["action"]
            if state in ("planned", "sent"):
                found.append(
                    JournalEntry(
                        row_id,
                        "p1",
                        action.target.value,
                        action.student_id,
                        action.assignment_id,
                        action.from_value,
                        action.to_value,
                        action.comment,
                        action.reason,
                        state,
                        row["progress"],
                        None,
                    )
                )
        return found

    def state(self, row_id: int) -> str:
        return str(self.rows[row_id]["states"][-1])


def zero(aid: int, uid: int, comment: str | None = "late") -> PushAction:
    return PushAction(Target.GRADE, uid, aid, "8", "0", comment, "late")


def sub_json(aid: int, uid: int, score: float | None) -> dict[str, Any]:
    return {
        "id": aid * 1000 + uid,
        "user_id": uid,
        "assignment_id": aid,
        "score": score,
        "entered_score": score,
        "workflow_state": "graded",
    }


def progress(pid: int, state: str, message: str | None = None) -> dict[str, Any]:
    return {"id": pid, "workflow_state": state, "message": message, "tag": "submissions_update"}


@pytest.fixture
def api() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=API, assert_all_called=False) as router:
        yield router


@pytest.fixture
def client(api: respx.MockRouter) -> Iterator[CanvasClient]:
    canvas = CanvasClient(BASE, Secret("t0ken"), max_attempts=3, sleep=lambda _s: None)
    yield canvas
    canvas.close()


def run(client: CanvasClient, plan: PushPlan, journal: MemoryJournal, **kw: Any) -> Any:
    options: dict[str, Any] = {"column_id": None, "timeout": 0.05, "poll_interval": 0.01}
    return apply_plan(client, COURSE, plan, journal, **(options | kw))


def test_each_assignment_is_one_bulk_request_then_verified(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    plan = PushPlan((zero(1, 7), zero(1, 8, None), zero(2, 7)))
    posts = api.post(url__regex=r"/assignments/\d+/submissions/update_grades$").mock(
        side_effect=[
            httpx.Response(200, json=progress(11, "queued")),
            httpx.Response(200, json=progress(12, "queued")),
        ]
    )
    api.get("/progress/11").respond(json=progress(11, "completed"))
    api.get("/progress/12").respond(json=progress(12, "completed"))
    api.get(SUBMISSIONS).respond(json=[sub_json(1, 7, 0), sub_json(1, 8, 0), sub_json(2, 7, 0)])
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert posts.call_count == 2
    body = json.loads(posts.calls[0].request.content)
    assert body == {
        "grade_data": {
            "7": {"posted_grade": "0", "text_comment": "late"},
            "8": {"posted_grade": "0"},
        }
    }
    assert [journal.rows[i]["states"] for i in (1, 2, 3)] == [["planned", "sent", "confirmed"]] * 3
    assert (result.sent, result.confirmed, result.failed, result.comments) == (3, 3, 0, 2)
    assert (result.write_requests, result.progress_polls) == (2, 2)


def test_failed_progress_verifies_each_row_and_keeps_canvas_answer(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    plan = PushPlan((zero(1, 7), zero(1, 99)))
    api.post(url__regex=r"update_grades$").respond(json=progress(5, "queued"))
    api.get("/progress/5").respond(
        json=progress(5, "failed", "Couldn't find User(s) with API ids '99'")
    )
    # A failed Progress still wrote the other students (canvas-api.md §7).
    api.get(SUBMISSIONS).respond(json=[sub_json(1, 7, 0)])
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert (journal.state(1), journal.state(2)) == ("confirmed", "failed")
    assert "Couldn't find User(s)" in journal.rows[2]["answer"]
    assert result.failed == 1 and result.confirmed == 1


def test_progress_never_finishing_leaves_rows_sent_and_the_next_run_reconciles(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    plan = PushPlan((zero(1, 7),))
    api.post(url__regex=r"update_grades$").respond(json=progress(6, "queued"))
    polls = api.get("/progress/6").respond(json=progress(6, "running"))
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert result.unresolved == 1 and result.confirmed == 0
    assert journal.state(1) == "sent" and journal.rows[1]["progress"] == 6
    assert polls.call_count >= 2 and result.progress_polls == polls.call_count
    assert "still running" in result.problems[0]
    # Still running on the next push: refuse rather than send again.
    with pytest.raises(PushFailed, match="still running an earlier push"):
        reconcile(client, COURSE, journal, column_id=None, timeout=0.03, poll_interval=0.01)
    assert journal.state(1) == "sent"
    # Canvas finished in the meantime: confirmed from its state, nothing sent again.
    polls.respond(json=progress(6, "completed"))
    api.get(SUBMISSIONS).respond(json=[sub_json(1, 7, 0)])
    done = reconcile(client, COURSE, journal, column_id=None, timeout=0.05, poll_interval=0.01)
    assert (done.confirmed, done.superseded) == (1, 0)
    assert journal.state(1) == "confirmed"


def test_reconcile_supersedes_what_canvas_does_not_hold(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    journal = MemoryJournal()
    journal.planned([zero(1, 7), zero(1, 8)])
    api.get(SUBMISSIONS).respond(json=[sub_json(1, 7, 0), sub_json(1, 8, 8)])
    done = reconcile(client, COURSE, journal, column_id=None)
    assert (journal.state(1), journal.state(2)) == ("confirmed", "superseded")
    assert (done.confirmed, done.superseded) == (1, 1)
    assert reconcile(client, COURSE, journal, column_id=None).confirmed == 0  # nothing open


def test_422_on_update_fails_that_assignment_only(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    plan = PushPlan((zero(1, 7), zero(2, 7)))
    api.post(f"/courses/{COURSE}/assignments/1/submissions/update_grades").respond(
        422, json={"errors": [{"message": "grading period is closed"}]}
    )
    api.post(f"/courses/{COURSE}/assignments/2/submissions/update_grades").respond(
        json=progress(8, "queued")
    )
    api.get("/progress/8").respond(json=progress(8, "completed"))
    api.get(SUBMISSIONS).respond(json=[sub_json(2, 7, 0)])
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert journal.rows[1]["states"] == ["planned", "failed"]
    assert "422" in journal.rows[1]["answer"]
    assert journal.state(2) == "confirmed"
    assert (result.failed, result.confirmed, result.write_requests) == (1, 1, 2)


def test_throttled_post_is_retried_by_the_client(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    plan = PushPlan((zero(1, 7),))
    posts = api.post(url__regex=r"update_grades$").mock(
        side_effect=[
            httpx.Response(
                403,
                text="403 Forbidden (Rate Limit Exceeded)\n",
                headers={"X-Rate-Limit-Remaining": "0"},
            ),
            httpx.Response(200, json=progress(9, "queued")),
        ]
    )
    api.get("/progress/9").respond(json=progress(9, "completed"))
    api.get(SUBMISSIONS).respond(json=[sub_json(1, 7, 0)])
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert posts.call_count == 2  # the throttled write was refused before acting: retried
    assert journal.rows[1]["states"] == ["planned", "sent", "confirmed"]
    assert result.write_requests == 1  # one logical request (its retry is the client's)


def test_column_bulk_update_is_verified_from_column_data(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    action = PushAction(Target.COLUMN, 7, None, None, "90% (126/140)", None, "counted")
    put = api.put(f"/courses/{COURSE}/custom_gradebook_column_data").respond(
        json=progress(3, "queued")
    )
    api.get("/progress/3").respond(json=progress(3, "completed"))
    api.get(f"/courses/{COURSE}/custom_gradebook_columns/44/data").respond(
        json=[{"user_id": 7, "content": "90% (126/140)"}]
    )
    journal = MemoryJournal()
    result = run(client, PushPlan((action,)), journal, column_id=44)
    body = json.loads(put.calls[0].request.content)
    assert body == {"column_data": [{"column_id": 44, "user_id": 7, "content": "90% (126/140)"}]}
    assert journal.state(1) == "confirmed" and result.confirmed == 1


def test_hook_stops_between_states(client: CanvasClient, api: respx.MockRouter) -> None:
    posts = api.post(url__regex=r"update_grades$").respond(json=progress(4, "queued"))
    journal = MemoryJournal()

    def stop(step: str) -> None:
        if step == "planned":
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(client, PushPlan((zero(1, 7),)), journal, hook=stop)
    assert journal.state(1) == "planned" and posts.call_count == 0
