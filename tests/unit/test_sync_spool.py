"""The pull's spool (sync/spool.py): rows go to a private temporary file and come back in
batches, one per (student, assignment), the last one seen."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from canvas_sync.sync import Spool, usable_submissions


def rows(*specs: tuple[int, int, str]) -> list[tuple[Any, dict[str, Any]]]:
    raws = [
        {"id": 100 * s + a, "user_id": s, "assignment_id": a, "workflow_state": state}
        for s, a, state in specs
    ]
    parsed, bad = usable_submissions(raws)
    assert bad == []
    return parsed


@pytest.fixture
def spool() -> Iterator[Spool]:
    kept = Spool()
    yield kept
    kept.close()


def test_the_last_row_of_a_pair_wins(spool: Spool) -> None:
    spool.add(rows((1, 11, "unsubmitted"), (2, 11, "unsubmitted")))
    spool.add(rows((1, 11, "graded"), (1, 12, "submitted")))
    spool.add(rows((1, 12, "graded")))
    kept = {(s.student_id, s.assignment_id): (s.workflow_state, raw) for s, raw in spool}
    assert {pair: state for pair, (state, _) in kept.items()} == {
        (1, 11): "graded",
        (2, 11): "unsubmitted",
        (1, 12): "graded",
    }
    assert kept[(1, 11)][1]["workflow_state"] == "graded"  # the raw JSON is the winner's too
    assert len(spool) == 3 and spool.pairs() == set(kept)


def test_more_rows_than_one_batch_all_come_back_in_bounded_batches(spool: Spool) -> None:
    specs = [(s, a, "unsubmitted") for s in range(1, 251) for a in (11, 12)]
    spool.add(rows(*specs[:300]))
    spool.add(rows(*specs[300:]))
    batches = list(spool.batches(64))
    assert [len(b) for b in batches] == [64] * 7 + [500 - 7 * 64]
    pairs = [(s.student_id, s.assignment_id) for b in batches for s, _ in b]
    assert pairs == [(s, a) for s, a, _ in specs]  # every row once, in the order pulled
    assert [len(b) for b in spool.batches(64)] == [len(b) for b in batches]  # read again


def test_the_spool_is_an_unnamed_file_gone_when_closed() -> None:
    spool = Spool()
    spool.add(rows((1, 11, "unsubmitted")))
    assert not isinstance(spool._file.name, str)  # no path: unlinked at creation (POSIX)
    spool.close()
    assert spool._file.closed


def test_a_row_orjson_cannot_write_is_still_checked_for_nul() -> None:
    """The NUL check writes the row with orjson, falling back to json for an integer past 64
    bits: the NUL is still found and cleaned."""
    row = {
        "id": 7,
        "user_id": 1001,
        "assignment_id": 2001,
        "workflow_state": "submitted",
        "body": "a\x00b",
        "huge": 2**70,
    }
    parsed, bad = usable_submissions([row])
    assert bad == [] and len(parsed) == 1
    assert parsed[0][1]["body"] == "a\ufffdb" and parsed[0][1]["huge"] == 2**70


def test_a_row_orjson_refuses_comes_back_exact(spool: Spool) -> None:
    # An integer past 64 bits: orjson can neither write it nor read it back as an integer.
    big = 2**70 + 1
    parsed, bad = usable_submissions(
        [{"id": 7, "user_id": 1, "assignment_id": 11, "workflow_state": "graded", "x": big}]
    )
    assert bad == []
    spool.add(parsed)
    spool.add(rows((2, 11, "unsubmitted")))
    back = {s.student_id: raw for s, raw in spool}
    assert back[1]["x"] == big and isinstance(back[1]["x"], int)
    assert back[2]["workflow_state"] == "unsubmitted"
