"""Bulk construction of the policy's results, and a GC pause for it.

A course of 10,000 students × 19 readings makes ~200,000 frozen result objects
(benchmarks/bench_policy.py). A frozen dataclass's generated `__init__` stores each field with a
separate `object.__setattr__` call (its way around its own frozen `__setattr__`), which costs
more than all the policy logic of a reading. `build` and `build_all` make the very same objects
(same class, same fields in the same order, so equal, hashed, pickled and printed alike) by
giving each new instance its finished `__dict__` in one step, ~3× cheaper.

That is only valid for a plain frozen dataclass: no `__slots__` and no `__post_init__`.
`_dict_setter` checks this at import; if `domain.py` ever changes a class, the builders fall back to
the ordinary constructor. The price: such an instance keeps an ordinary dict instead of
CPython's compact per-instance values, ~170 bytes more per ReadingResult.
"""

from __future__ import annotations

import dataclasses
import gc
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from itertools import repeat
from typing import Any, TypeVar

from canvas_sync.domain import Finding, Kind, ReadingResult, StudentResult

__all__ = ["FindingFields", "build", "build_all", "finding", "gc_paused"]

_new = object.__new__
T = TypeVar("T")
_DictSetter = Callable[[object, dict[str, Any]], None]


def build(cls: type[T], fields: dict[str, Any]) -> T:
    """`cls(**fields)`, ~3× cheaper for the result classes; `fields` must be in field order.

    The new object takes `fields` as its `__dict__`: the caller must not change it afterwards.
    """
    set_dict = _SET_DICT.get(cls)
    if set_dict is None:  # pragma: no cover - only if domain.py changes a result class
        return cls(**fields)
    obj: T = _new(cls)
    set_dict(obj, fields)
    return obj


def build_all(cls: type[T], rows: Sequence[dict[str, Any]]) -> tuple[T, ...]:
    """`tuple(build(cls, fields) for fields in rows)`, with the per-object work run in C.

    As with `build`, each dict of `rows` becomes an object's `__dict__`: leave them alone.
    """
    set_dict = _SET_DICT.get(cls)
    if set_dict is None:  # pragma: no cover - only if domain.py changes a result class
        return tuple(cls(**fields) for fields in rows)
    objs = list(map(_new, repeat(cls, len(rows))))
    # set_dict(obj, fields) for each pair; `deque(maxlen=0)` just runs the iterator (the
    # itertools "consume" recipe).
    deque(map(set_dict, objs, rows), maxlen=0)
    return tuple(objs)


def _dict_setter(cls: type[Any]) -> _DictSetter | None:
    """`object.__setattr__(obj, "__dict__", fields)` for `cls`, minus the attribute lookup.

    None unless a `__dict__` of the fields makes what the constructor makes, checked on a
    probe that fills every field with a distinct int: `__slots__`, or a `__post_init__` that
    changes or rejects values, make the check fail.
    """
    descriptor = next((vars(k)["__dict__"] for k in cls.__mro__ if "__dict__" in vars(k)), None)
    if descriptor is None:
        return None
    set_dict: _DictSetter = descriptor.__set__
    names = [f.name for f in dataclasses.fields(cls)]
    probe = dict(zip(names, range(len(names)), strict=True))
    try:
        made, built = cls(**probe), _new(cls)
        set_dict(built, probe)
    except (TypeError, ValueError, AttributeError):
        return None
    return set_dict if list(vars(made).items()) == list(vars(built).items()) else None


_SET_DICT: dict[type[Any], _DictSetter] = {
    cls: setter
    for cls in (ReadingResult, StudentResult, Finding)
    if (setter := _dict_setter(cls)) is not None
}


# A finding's fields in field order, made into a Finding at the end (see `build_all`):
# sorting and collecting plain dicts is cheaper than building each Finding on the way.
FindingFields = dict[str, Any]


def finding(
    kind: Kind,
    student_id: int | None,
    assignment_id: int | None,
    canvas_value: str | None,
    expected_value: str | None,
    message: str,
) -> FindingFields:
    """The fields of `Finding(kind, student_id, assignment_id, canvas_value, ...)`."""
    return {
        "kind": kind,
        "student_id": student_id,
        "assignment_id": assignment_id,
        "canvas_value": canvas_value,
        "expected_value": expected_value,
        "message": message,
    }


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a whole course is evaluated or checked.

    Both course-level functions allocate hundreds of thousands of small objects that all live
    on (they are the result), none in a reference cycle. Left on, the collector keeps
    traversing them, and at 10,000 students `evaluate_course` also triggered three full
    collections, each walking the whole snapshot: ~0.8 s of its original 1.8 s, finding nothing
    to free. Reference counting frees everything as usual meanwhile.

    On the way out the survivors go straight to the oldest generation (`gc.freeze()` then
    `gc.unfreeze()`: two list splices, no traversal) instead of being walked by the young
    collection that re-enabling would start (~15% of the benchmark). The price: a cycle that
    became garbage shortly before waits for the next full collection. Skipped if the program
    froze objects itself, so that its freeze stays as it was. The collector is re-enabled on
    the way out (also on error), and only if it was enabled on the way in.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if gc.get_freeze_count() == 0:
            gc.freeze()
            gc.unfreeze()
        gc.enable()
