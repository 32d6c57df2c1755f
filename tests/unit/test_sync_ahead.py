"""read_ahead: later listings are read while the first is consumed, bounded and in order."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from canvas_sync.sync.ahead import read_ahead


def test_items_come_source_by_source_while_the_later_ones_are_read_meanwhile() -> None:
    second_started = threading.Event()

    def first() -> Iterator[str]:
        yield "a1"
        # The second listing is asked for while the first is still being read.
        assert second_started.wait(timeout=5)
        yield "a2"

    def second() -> Iterator[str]:
        second_started.set()
        yield from ("b1", "b2")

    def third() -> Iterator[str]:
        yield "c1"

    assert list(read_ahead([first, second, third])) == ["a1", "a2", "b1", "b2", "c1"]


def test_a_later_source_is_read_at_most_depth_items_ahead() -> None:
    produced: list[int] = []
    release = threading.Event()

    def first() -> Iterator[int]:
        time.sleep(0.5)  # the reader of the second runs meanwhile, until its queue is full
        release.wait(timeout=5)
        yield 0

    def second() -> Iterator[int]:
        for n in range(1, 101):
            produced.append(n)
            yield n

    items = read_ahead([first, second], depth=2)
    release.set()
    assert next(items) == 0
    # Two in the queue and one waiting to go in: never the whole listing at once.
    assert len(produced) <= 3
    assert list(items) == list(range(1, 101))


def test_an_error_in_a_later_source_is_raised_after_the_earlier_items() -> None:
    def first() -> Iterator[str]:
        yield from ("a1", "a2")

    def broken() -> Iterator[str]:
        yield "b1"
        raise RuntimeError("Canvas ended the list")

    seen: list[str] = []
    with pytest.raises(RuntimeError, match="ended the list"):
        for item in read_ahead([first, broken]):
            seen.append(item)
    assert seen == ["a1", "a2", "b1"]


def test_a_consumer_that_stops_stops_the_readers() -> None:
    closed = threading.Event()

    def first() -> Iterator[int]:
        yield 0

    def endless() -> Iterator[int]:
        try:
            n = 0
            while True:
                n += 1
                yield n
        finally:
            closed.set()

    items = read_ahead([first, endless])
    assert next(items) == 0
    items.close()
    assert closed.wait(timeout=5)


def test_a_single_source_is_read_in_place() -> None:
    assert list(read_ahead([lambda: iter([1, 2])])) == [1, 2]
    assert list(read_ahead([])) == []
