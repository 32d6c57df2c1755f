"""Bulk-construction helpers for the policy's results: fast builders and a GC pause.

A course of 10,000 students × 19 readings makes ~200,000 frozen result objects
(benchmarks/bench_policy.py). A frozen dataclass's generated `__init__` stores each field with a
separate `object.__setattr__` call (its way around its own frozen `__setattr__`), which costs
more than all the policy logic of a reading. The builders below make the very same objects (same
class, same `__dict__` in field order, so equal, hashed, pickled and printed alike) by giving the
new instance its finished `__dict__` in one step.

That is only valid for a plain frozen dataclass: no `__slots__` and no `__post_init__`.
`_plain` checks this at import; if `domain.py` ever changes a class, `build` falls back to the
ordinary constructor. The instance then keeps a plain dict instead of CPython's compact
per-instance values: a little more memory, the same behaviour.
"""

from __future__ import annotations

import dataclasses
import gc
from collections import deque
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import Any, TypeVar

from canvas_sync.domain import Finding, ReadingResult, StudentResult

__all__ = ["build", "build_all", "gc_paused"]

_new = object.__new__
_set = object.__setattr__
T = TypeVar("T")


def build(cls: type[T], fields: dict[str, Any]) -> T:
    """`cls(**fields)`, ~3× cheaper for the result classes; `fields` must be in field order.

    The new object takes `fields` as its `__dict__`: the caller must not change it afterwards.
    """
    if cls in _PLAIN:
        obj: T = _new(cls)
        _set(obj, "__dict__", fields)
        return obj
    return cls(**fields)  # pragma: no cover - only if domain.py changes a result class


def build_all(cls: type[T], rows: Sequence[dict[str, Any]]) -> tuple[T, ...]:
    """`tuple(build(cls, fields) for fields in rows)`, with the per-object work run in C."""
    if cls not in _PLAIN:  # pragma: no cover - only if domain.py changes a result class
        return tuple(cls(**fields) for fields in rows)
    objs = list(map(_new, repeat(cls, len(rows))))
    # object.__setattr__(obj, "__dict__", fields) for each pair; `deque(maxlen=0)` just runs
    # the iterator (the itertools "consume" recipe).
    deque(map(_set, objs, repeat("__dict__"), rows), maxlen=0)
    return tuple(objs)


def _plain(cls: type[Any]) -> bool:
    """True when a `__dict__` of the fields makes what the constructor makes, checked on a probe.

    The probe fills every field with a distinct int: `__slots__`, or a `__post_init__` that
    changes or rejects values, make the check fail.
    """
    names = [f.name for f in dataclasses.fields(cls)]
    probe = dict(zip(names, range(len(names)), strict=True))
    try:
        made, built = cls(**probe), _new(cls)
        _set(built, "__dict__", probe)
    except (TypeError, ValueError, AttributeError):
        return False
    return list(vars(made).items()) == list(vars(built).items())


_PLAIN = frozenset(cls for cls in (ReadingResult, StudentResult, Finding) if _plain(cls))


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a whole course is evaluated.

    The course-level functions allocate hundreds of thousands of small objects that all live on
    (they are the result), none of them in reference cycles. Each allocation burst would trigger
    collections that traverse the whole young heap, and periodically the whole snapshot, finding
    nothing to free: ~30 % of the run time at 10,000 students. Reference counting still frees
    everything as usual. The collector is re-enabled on the way out (also on error), and only
    if it was enabled on the way in.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
