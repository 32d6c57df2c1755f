"""push/apply over respx: one course job, Progress failed/canceled/never finishing, 422,
throttling, lost answers settled in the run, reconcile."""

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
from canvas_sync.errors import LockLost, PushFailed
from canvas_sync.push import PushAction, PushPlan, Target, apply_plan, reconcile

BASE = "https://canvas.test"
API = f"{BASE}/api/v1"
COURSE = 598
SUBMISSIONS = f"/courses/{COURSE}/students/submissions"
BULK = f"/courses/{COURSE}/submissions/update_grades"


class MemoryJournal:
    """`push.Journal` in memory: the states each row went through, in order."""

    def __init__(self) -> None:
        self.rows: dict[int, dict[str, Any]] = {}
        self.writes_allowed = 0  # barriers the journal let through

    def planned(self, actions: Sequence[PushAction]) -> list[int]:
        ids = []
        for action in actions:
            row_id = len(self.rows) + 1
            self.rows[row_id] = {"action": action, "states": ["planned"], "progress": None}
            ids.append(row_id)
        return ids

    def sending(self, ids: Sequence[int]) -> None:
        for row_id in ids:
            self.rows[row_id]["states"].append("sending")

    def sent(self, ids: Sequence[int], progress_id: int | None) -> None:
        for row_id in ids:
            self.rows[row_id]["states"].append("sent")
            self.rows[row_id]["progress"] = progress_id

    def finished(self, outcomes: Sequence[tuple[int, str, str | None]]) -> None:
        for row_id, state, answer in outcomes:
            self.rows[row_id]["states"].append(state)
            self.rows[row_id]["answer"] = answer

    def writing(self) -> None:
        self.writes_allowed += 1

    def open(self) -> list[JournalEntry]:
        found = []
        for row_id, row in self.rows.items():
            state, action = row["states"][-1], row["action"]
            if state in ("planned", "sending", "sent"):
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


def sub_json(
    aid: int, uid: int, score: float | None, comments: Sequence[str] = ()
) -> dict[str, Any]:
    return {
        "id": aid * 1000 + uid,
        "user_id": uid,
        "assignment_id": aid,
        "score": score,
        "entered_score": score,
        "workflow_state": "graded",
        "submission_comments": [
            {"id": n, "author_id": 1, "comment": text, "created_at": "2026-05-20T17:00:00Z"}
            for n, text in enumerate(comments, 1)
        ],
    }


def grouped(rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows as Canvas answers a `grouped=true` read: one entry per student, by id."""
    users = sorted({row["user_id"] for row in rows})
    return [
        {"user_id": u, "section_id": 1, "submissions": [r for r in rows if r["user_id"] == u]}
        for u in users
    ]


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


def test_every_assignment_goes_in_one_course_level_job_then_verified(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    plan = PushPlan((zero(1, 7), zero(1, 8, None), zero(2, 7)))
    posts = api.post(BULK).respond(json=progress(11, "queued"))
    api.get("/progress/11").respond(json=progress(11, "completed"))
    reads = api.get(SUBMISSIONS).respond(
        json=grouped(
            [
                sub_json(1, 7, 0, ["late"]),
                sub_json(1, 8, 0),
                sub_json(2, 7, 0, ["late"]),
                sub_json(2, 8, 8),  # read in the same batch, not written: not settled from it
            ]
        )
    )
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert posts.call_count == 1 and reads.call_count == 1
    body = json.loads(posts.calls[0].request.content)
    assert body == {
        "grade_data": {
            "1": {
                "7": {"posted_grade": "0", "text_comment": "late"},
                "8": {"posted_grade": "0"},
            },
            "2": {"7": {"posted_grade": "0", "text_comment": "late"}},
        }
    }
    states = [["planned", "sending", "sent", "confirmed"]] * 3
    assert [journal.rows[i]["states"] for i in (1, 2, 3)] == states
    assert (result.sent, result.confirmed, result.failed, result.comments) == (3, 3, 0, 2)
    assert (result.write_requests, result.progress_polls, result.rounds) == (1, 1, 1)


def test_failed_progress_verifies_each_row_and_keeps_canvas_answer(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    plan = PushPlan((zero(1, 7), zero(1, 99)))
    api.post(url__regex=r"update_grades$").respond(json=progress(5, "queued"))
    api.get("/progress/5").respond(
        json=progress(5, "failed", "Couldn't find User(s) with API ids '99'")
    )
    # A failed Progress still wrote the other students (canvas-api.md §7); the unknown student
    # is sent once more (its job ran: Canvas refused), then reported with Canvas's answer.
    api.get(SUBMISSIONS).respond(json=grouped([sub_json(1, 7, 0, ["late"]), sub_json(1, 99, 8)]))
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert (journal.state(1), journal.state(2)) == ("confirmed", "failed")
    assert "Couldn't find User(s)" in journal.rows[2]["answer"]
    assert result.failed == 1 and result.confirmed == 1
    assert result.write_requests == result.rounds == 2


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
    api.get(SUBMISSIONS).respond(json=grouped([sub_json(1, 7, 0, ["late"])]))
    done = reconcile(client, COURSE, journal, column_id=None, timeout=0.05, poll_interval=0.01)
    assert (done.confirmed, done.superseded) == (1, 0)
    assert journal.state(1) == "confirmed"


def test_reconcile_supersedes_what_canvas_does_not_hold(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    journal = MemoryJournal()
    journal.sending(journal.planned([zero(1, 7), zero(1, 8)]))
    # Rows `sending`, never known `sent`, may sit in Canvas's queue: a no-op barrier job runs
    # first.
    barrier = api.post(BULK).respond(json=progress(3, "queued"))
    api.get("/progress/3").respond(json=progress(3, "completed"))
    api.get(SUBMISSIONS).respond(json=grouped([sub_json(1, 7, 0, ["late"]), sub_json(1, 8, 8)]))
    done = reconcile(client, COURSE, journal, column_id=None, poll_interval=0.01)
    assert json.loads(barrier.calls[0].request.content) == {"grade_data": {"1": {"7": {}}}}
    assert (journal.state(1), journal.state(2)) == ("confirmed", "superseded")
    assert (done.confirmed, done.superseded) == (1, 1)
    assert reconcile(client, COURSE, journal, column_id=None).confirmed == 0  # nothing open


def test_rows_left_planned_were_never_sent_so_reconcile_runs_no_barrier(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    """A `planned` row precedes its `sending` transaction, which precedes the request: no job
    can carry it, so it is read back and settled without a barrier."""
    journal = MemoryJournal()
    journal.planned([zero(1, 7), zero(1, 8)])
    barrier = api.post(BULK).respond(json=progress(3, "queued"))
    api.get(SUBMISSIONS).respond(json=grouped([sub_json(1, 7, 0, ["late"]), sub_json(1, 8, 8)]))
    done = reconcile(client, COURSE, journal, column_id=None, poll_interval=0.01)
    assert barrier.call_count == 0
    assert (done.confirmed, done.superseded) == (1, 1)


def test_a_barrier_whose_answer_is_lost_is_sent_again_until_one_answers(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    """A barrier changes nothing: against a Canvas failing many writes it is simply resent,
    up to BARRIER_ATTEMPTS times, and the rows are settled once one has run."""
    journal = MemoryJournal()
    journal.sending(journal.planned([zero(1, 7)]))
    lost = [httpx.Response(502, text="<html>Bad Gateway</html>")] * 4
    barrier = api.post(BULK).mock(
        side_effect=[*lost, httpx.Response(200, json=progress(3, "queued"))]
    )
    api.get("/progress/3").respond(json=progress(3, "completed"))
    api.get(SUBMISSIONS).respond(json=grouped([sub_json(1, 7, 0, ["late"])]))
    done = reconcile(client, COURSE, journal, column_id=None, poll_interval=0.01)
    assert barrier.call_count == 5 and journal.state(1) == "confirmed" and done.confirmed == 1


class LostJournal(MemoryJournal):
    """A journal whose push may no longer write (the service's: the course lock was lost)."""

    def writing(self) -> None:
        raise LockLost("lost the lock")


def test_a_barrier_is_not_sent_once_the_journal_forbids_writing(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    journal = LostJournal()
    journal.sending(journal.planned([zero(1, 7)]))
    barrier = api.post(BULK).respond(json=progress(3, "queued"))
    with pytest.raises(LockLost):
        reconcile(client, COURSE, journal, column_id=None, poll_interval=0.01)
    assert barrier.call_count == 0
    assert journal.state(1) == "sending"  # left for the next push to settle


def test_422_on_update_fails_its_rows_and_sends_nothing_again(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    plan = PushPlan((zero(1, 7), zero(2, 7)))
    posts = api.post(BULK).respond(422, json={"errors": [{"message": "grading period is closed"}]})
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert journal.rows[1]["states"] == ["planned", "sending", "failed"]
    assert "422" in journal.rows[1]["answer"] and journal.state(2) == "failed"
    assert (result.failed, result.confirmed, result.write_requests) == (2, 0, 1)
    assert posts.call_count == 1


def test_a_lost_answer_is_settled_in_the_run_without_a_second_comment(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    """The first POST acts but its answer is a 502: a barrier runs, the read-back finds the
    first cell written (comment included) and only the second one is sent again."""
    plan = PushPlan((zero(1, 7), zero(2, 8)))
    posts = api.post(BULK).mock(
        side_effect=[
            httpx.Response(502, text="<html>Bad Gateway</html>"),
            httpx.Response(200, json=progress(21, "queued")),  # the barrier
            httpx.Response(200, json=progress(22, "queued")),  # the resend
        ]
    )
    api.get("/progress/21").respond(json=progress(21, "completed"))
    api.get("/progress/22").respond(json=progress(22, "completed"))
    api.get(SUBMISSIONS).mock(
        side_effect=[
            httpx.Response(200, json=grouped([sub_json(1, 7, 0, ["late"]), sub_json(2, 8, 8)])),
            httpx.Response(200, json=grouped([sub_json(2, 8, 0, ["late"])])),
        ]
    )
    journal = MemoryJournal()
    result = run(client, plan, journal)
    bodies = [json.loads(c.request.content) for c in posts.calls]
    assert bodies[1] == {"grade_data": {"1": {"7": {}}}}  # no grade, no comment: a barrier
    assert bodies[2] == {"grade_data": {"2": {"8": {"posted_grade": "0", "text_comment": "late"}}}}
    assert (journal.state(1), journal.state(2)) == ("confirmed", "confirmed")
    assert (result.confirmed, result.barriers, result.rounds, result.write_requests) == (2, 1, 2, 3)
    assert journal.writes_allowed == 1  # the barrier asked the journal first


def test_a_change_made_in_canvas_meanwhile_is_not_sent_again(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    plan = PushPlan((zero(1, 7),))
    posts = api.post(BULK).respond(json=progress(31, "queued"))
    api.get("/progress/31").respond(json=progress(31, "canceled"))
    api.get(SUBMISSIONS).respond(json=grouped([sub_json(1, 7, 6)]))  # a grader entered 6
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert posts.call_count == 1 and journal.state(1) == "failed"
    assert "changed in Canvas meanwhile" in journal.rows[1]["answer"]
    assert result.failed == 1


def test_a_canceled_job_is_sent_again(client: CanvasClient, api: respx.MockRouter) -> None:
    plan = PushPlan((zero(1, 7),))
    posts = api.post(BULK).mock(
        side_effect=[
            httpx.Response(200, json=progress(41, "queued")),
            httpx.Response(200, json=progress(42, "queued")),
        ]
    )
    api.get("/progress/41").respond(json=progress(41, "canceled"))
    api.get("/progress/42").respond(json=progress(42, "completed"))
    api.get(SUBMISSIONS).mock(
        side_effect=[
            httpx.Response(200, json=grouped([sub_json(1, 7, 8)])),
            httpx.Response(200, json=grouped([sub_json(1, 7, 0, ["late"])])),
        ]
    )
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert posts.call_count == 2 and journal.state(1) == "confirmed"
    assert result.rounds == 2 and result.comments == 1


def test_throttled_post_is_retried_by_the_client(
    client: CanvasClient, api: respx.MockRouter
) -> None:
    plan = PushPlan((zero(1, 7),))
    posts = api.post(BULK).mock(
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
    api.get(SUBMISSIONS).respond(json=grouped([sub_json(1, 7, 0, ["late"])]))
    journal = MemoryJournal()
    result = run(client, plan, journal)
    assert posts.call_count == 2  # the throttled write was refused before acting: retried
    assert journal.rows[1]["states"] == ["planned", "sending", "sent", "confirmed"]
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


def test_a_job_above_the_size_limit_is_split_and_the_jobs_are_polled_together(
    client: CanvasClient, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("canvas_sync.push._run.JOB_BYTES", 120)
    plan = PushPlan(tuple(zero(1, uid, "x" * 30) for uid in (7, 8, 9)))
    posts = api.post(BULK).mock(
        side_effect=[httpx.Response(200, json=progress(pid, "queued")) for pid in (51, 52, 53)]
    )
    polls = [
        api.get(f"/progress/{pid}").respond(json=progress(pid, "completed")) for pid in (51, 52, 53)
    ]
    api.get(SUBMISSIONS).respond(
        json=grouped([sub_json(1, uid, 0, ["x" * 30]) for uid in (7, 8, 9)])
    )
    journal = MemoryJournal()
    result = run(client, plan, journal)
    sizes = [len(json.loads(c.request.content)["grade_data"]["1"]) for c in posts.calls]
    assert sizes == [1, 1, 1] and result.confirmed == 3
    assert [p.call_count for p in polls] == [1, 1, 1] and result.progress_polls == 3


def test_the_jobs_go_out_together_after_one_sending_step_and_a_lost_answer_spares_the_rest(
    client: CanvasClient, api: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every row is `sending` before the first request leaves; the two jobs are then sent
    together, and the one whose answer is lost holds up nothing but its own rows."""
    monkeypatch.setattr("canvas_sync.push._run.JOB_BYTES", 120)
    plan = PushPlan(tuple(zero(1, uid, "x" * 30) for uid in (7, 8)))
    journal = MemoryJournal()
    states_at_post: list[list[str]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        entries = json.loads(request.content)["grade_data"]["1"]
        uid, entry = next(iter(entries.items()))
        if not entry:
            return httpx.Response(200, json=progress(60, "queued"))  # the barrier
        states_at_post.append([journal.state(1), journal.state(2)])
        if uid == "7":
            return httpx.Response(502, text="<html>Bad Gateway</html>")  # acted, answer lost
        return httpx.Response(200, json=progress(52, "queued"))

    posts = api.post(BULK).mock(side_effect=answer)
    for pid in (52, 60):
        api.get(f"/progress/{pid}").respond(json=progress(pid, "completed"))
    api.get(SUBMISSIONS).respond(json=grouped([sub_json(1, uid, 0, ["x" * 30]) for uid in (7, 8)]))
    result = run(client, plan, journal)
    assert states_at_post == [["sending", "sending"]] * 2
    assert journal.rows[2]["states"] == ["planned", "sending", "sent", "confirmed"]
    assert journal.rows[1]["states"] == ["planned", "sending", "confirmed"]
    assert (result.write_requests, result.barriers, posts.call_count) == (3, 1, 3)
    assert result.confirmed == 2 and result.rounds == 1
