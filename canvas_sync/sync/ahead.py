"""Read the next listings while the current one is consumed: bounded, and in order.

An incremental pull asks Canvas up to three questions whose answers it spools one after the
other (new readings or students whole, then what was submitted since, then what was graded
since). The answers do not depend on each other, and each since-query is a listing whose pages
follow one another, so asking them one at a time leaves the client's second request slot idle.
The client caps the requests in flight (`canvas.concurrency`, canvas/_http.py), so reading
ahead adds no load that Canvas would not take otherwise.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

__all__ = ["read_ahead"]

T = TypeVar("T")

_DONE = object()
#: How often a reader blocked on a full queue looks whether the consumer has stopped.
_CHECK_SECONDS = 0.1


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


def read_ahead(sources: Sequence[Callable[[], Iterable[T]]], depth: int = 2) -> Iterator[T]:
    """Every item of each source, source by source, each in its own order.

    The first source is read by the consumer; each later one in a thread of its own meanwhile,
    at most `depth` items ahead (so memory stays bounded whatever the answers hold). An error
    in a later source is raised where its items would have come. When the consumer stops early
    (an error, or it closes this generator), the readers stop at their next item.
    """
    if len(sources) <= 1:
        for source in sources:
            yield from source()
        return
    stop = threading.Event()
    queues: list[queue.Queue[Any]] = [queue.Queue(maxsize=depth) for _ in sources[1:]]

    def put(out: queue.Queue[Any], item: Any) -> bool:
        while not stop.is_set():
            try:
                out.put(item, timeout=_CHECK_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def read(source: Callable[[], Iterable[T]], out: queue.Queue[Any]) -> None:
        try:
            items = iter(source())
            try:
                for item in items:
                    if not put(out, item):
                        return
            finally:
                close = getattr(items, "close", None)
                if close is not None:
                    close()
            put(out, _DONE)
        except BaseException as error:  # handed to the consumer, raised there
            put(out, _Failed(error))

    readers = [
        threading.Thread(target=read, args=(source, out), daemon=True, name="canvas-sync-ahead")
        for source, out in zip(sources[1:], queues, strict=True)
    ]
    for reader in readers:
        reader.start()
    try:
        yield from sources[0]()
        for out in queues:
            while (item := out.get()) is not _DONE:
                if isinstance(item, _Failed):
                    raise item.error
                yield item
    finally:
        stop.set()
