"""The push journal (SPEC §4): every change is written here before it is sent.

States (push/apply.py says how each is settled):

- `planned`: journaled; no request carrying it has been sent.
- `sending`: journaled just before a request carrying it goes out. Canvas may have queued its
  job even if no answer came back (a lost response, a 5xx after acting, a kill right after the
  POST): until a later job on the course's strand has finished, its comment may still appear.
- `sent`: Canvas answered with the job's Progress id (`progress_id`).
- `confirmed`: read back from Canvas (the value, and the comment text when it had one);
  `failed`: Canvas refused it or kept not taking it, with Canvas's answer; `superseded`: a
  later push found Canvas without the value (after its job surely ran) and planned again, or
  it was never sent (answer "not sent: ..."): the re-read just before the write found its
  premise gone, or failed. Rows are journaled `planned` while that re-read is in flight.

Two marker states record a TA's decision on a `manual_override`: `kept` (the human value
stays; push keeps its hands off the cell) and `released` (the next push writes the policy value
again). The newest confirmed/kept/released row of a cell is "this service's last word" on it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select, update
from sqlalchemy.orm import Session

from canvas_sync.db._submissions import insert_rows
from canvas_sync.db.models import PushChangeRow

__all__ = [
    "LAST_WORD_STATES",
    "OPEN_STATES",
    "ChangeSpec",
    "JournalEntry",
    "LastWord",
    "add_changes",
    "add_marker",
    "finish",
    "last_words",
    "mark_sending",
    "mark_sent",
    "open_changes",
]

OPEN_STATES = ("planned", "sending", "sent")
LAST_WORD_STATES = ("confirmed", "kept", "released")


@dataclass(frozen=True)
class ChangeSpec:
    """A change to journal: target is `grade`, `total` or `column` (assignment_id None)."""

    target: str
    student_id: int
    assignment_id: int | None
    from_value: str | None
    to_value: str | None
    comment: str | None
    reason: str


@dataclass(frozen=True)
class JournalEntry:
    id: int
    push_id: str
    target: str
    student_id: int
    assignment_id: int | None
    from_value: str | None
    to_value: str | None
    comment: str | None
    reason: str
    state: str
    progress_id: int | None
    canvas_answer: str | None


def _entry(row: PushChangeRow) -> JournalEntry:
    return JournalEntry(
        id=row.id,
        push_id=row.push_id,
        target=row.target,
        student_id=row.student_id,
        assignment_id=row.assignment_id,
        from_value=row.from_value,
        to_value=row.to_value,
        comment=row.comment,
        reason=row.reason,
        state=row.state,
        progress_id=row.progress_id,
        canvas_answer=row.canvas_answer,
    )


def add_changes(
    session: Session,
    course_id: int,
    push_id: str,
    changes: Sequence[ChangeSpec],
    now: datetime,
    *,
    state: str = "planned",
) -> list[int]:
    """Journal `changes` (in order) and return their row ids.

    Set-wise, JOURNAL_CHUNK at a time (the parameters of 20,000 changes at once held 30 MB): a
    first push of a large course journals thousands at once. One change (a TA's marker) is
    one INSERT … RETURNING.
    """
    ids: list[int] = []
    for start in range(0, len(changes), JOURNAL_CHUNK):
        ids += _insert_changes(
            session, course_id, push_id, changes[start : start + JOURNAL_CHUNK], now, state
        )
    return ids


#: Changes journaled per INSERT statement (`add_changes`).
JOURNAL_CHUNK = 1000


def _insert_changes(
    session: Session,
    course_id: int,
    push_id: str,
    changes: Sequence[ChangeSpec],
    now: datetime,
    state: str,
) -> list[int]:
    rows = [
        {
            "course_id": course_id,
            "push_id": push_id,
            "target": c.target,
            "student_id": c.student_id,
            "assignment_id": c.assignment_id,
            "from_value": c.from_value,
            "to_value": c.to_value,
            "comment": c.comment,
            "reason": c.reason,
            "state": state,
            "progress_id": None,
            "canvas_answer": None,
            "created_at": now,
            "sent_at": None,
            "finished_at": None,
        }
        for c in changes
    ]
    if len(rows) == 1:
        return [session.scalars(insert(PushChangeRow).returning(PushChangeRow.id), rows).one()]
    # Many rows: one executemany (COPY on PostgreSQL), then their ids. INSERT … RETURNING in
    # the order given costs SQLite a statement per row (SQLAlchemy cannot vouch for the order
    # of a multi-row RETURNING there): 6,481 of them, 0.2 s, for a first push of 1,000 students.
    # A push's rows are its own (push_id is unique) and ids grow in the order rows are added,
    # so its rows above the highest it had before are these, in this order.
    mine = PushChangeRow.push_id == push_id
    floor = session.scalar(select(func.coalesce(func.max(PushChangeRow.id), 0)).where(mine))
    insert_rows(session, PushChangeRow, rows)
    ids = list(
        session.scalars(
            select(PushChangeRow.id)
            .where(mine, PushChangeRow.id > floor)
            .order_by(PushChangeRow.id)
        )
    )
    if len(ids) != len(rows):
        raise RuntimeError(f"journaled {len(rows)} changes of push {push_id} but found {len(ids)}")
    return ids


def add_marker(
    session: Session,
    course_id: int,
    change: ChangeSpec,
    state: str,
    now: datetime,
    *,
    push_id: str = "resolve",
) -> int:
    """Record a TA's decision (`kept` or `released`) as the cell's newest last word."""
    if state not in ("kept", "released"):
        raise ValueError(f"not a marker state: {state}")
    (row_id,) = add_changes(session, course_id, push_id, [change], now, state=state)
    finish(session, [(row_id, state, None)], now)
    return row_id


def mark_sending(session: Session, ids: Sequence[int], now: datetime) -> None:
    """The request carrying these rows is about to be sent (Canvas may act on it from now)."""
    if ids:
        session.execute(
            update(PushChangeRow)
            .where(PushChangeRow.id.in_(list(ids)))
            .values(state="sending", sent_at=now)
        )


def mark_sent(session: Session, ids: Sequence[int], progress_id: int | None, now: datetime) -> None:
    if ids:
        session.execute(
            update(PushChangeRow)
            .where(PushChangeRow.id.in_(list(ids)))
            .values(state="sent", progress_id=progress_id, sent_at=now)
        )


def finish(
    session: Session, outcomes: Sequence[tuple[int, str, str | None]], now: datetime
) -> None:
    """Set each (id, state, Canvas's answer): confirmed, failed or superseded."""
    # Rows with the same state and answer (a push's thousands of "Canvas holds 0") in one
    # UPDATE … WHERE id IN per JOURNAL_CHUNK; the others by key, one Core executemany.
    by_word: dict[tuple[str, str | None], list[int]] = {}
    for row_id, state, answer in outcomes:
        by_word.setdefault((state, answer), []).append(row_id)
    connection = session.connection()
    single = []
    for (state, answer), ids in by_word.items():
        if len(ids) == 1:
            single.append(
                {"key_id": ids[0], "state": state, "canvas_answer": answer, "finished_at": now}
            )
            continue
        for start in range(0, len(ids), JOURNAL_CHUNK):
            connection.execute(
                update(PushChangeRow)
                .where(PushChangeRow.id.in_(ids[start : start + JOURNAL_CHUNK]))
                .values(state=state, canvas_answer=answer, finished_at=now)
            )
    for start in range(0, len(single), JOURNAL_CHUNK):
        connection.execute(_FINISH, single[start : start + JOURNAL_CHUNK])


_FINISH = update(PushChangeRow).where(PushChangeRow.id == bindparam("key_id"))


def open_changes(session: Session, course_id: int) -> list[JournalEntry]:
    """Planned, sending or sent rows: what an interrupted push left behind."""
    rows = session.scalars(
        select(PushChangeRow)
        .where(PushChangeRow.course_id == course_id, PushChangeRow.state.in_(OPEN_STATES))
        .order_by(PushChangeRow.id)
    )
    return [_entry(r) for r in rows]


@dataclass(frozen=True, slots=True)
class LastWord:
    """The journal's last word on a cell: the value written and the row's state."""

    to_value: str | None
    state: str


def last_words(session: Session, course_id: int) -> dict[tuple[str, int, int | None], LastWord]:
    """Per (target, student, assignment): the newest confirmed, kept or released row's value
    and state (two columns, not whole rows: a course's journal holds a row per cell written)."""
    rows = session.execute(
        select(
            PushChangeRow.target,
            PushChangeRow.student_id,
            PushChangeRow.assignment_id,
            PushChangeRow.to_value,
            PushChangeRow.state,
        )
        .where(PushChangeRow.course_id == course_id, PushChangeRow.state.in_(LAST_WORD_STATES))
        .order_by(PushChangeRow.id)
    )
    return {(t, s, a): LastWord(value, state) for t, s, a, value, state in rows}
