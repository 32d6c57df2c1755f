"""The benchmark's Canvas: the bundled simulator in a process of its own, steered over stdin.

A real Canvas is a separate server, so the benchmark never shares a process with it. The
simulator answers HTTP exactly as in the tests (Canvas's latency, leaky-bucket throttle and
pagination); this wrapper adds a control channel the HTTP API does not have, one JSON object per
line on stdin, one JSON answer per line on stdout:

    {"op": "reset"}                       forget the request log and empty the throttle bucket
    {"op": "counts"}                      requests and 403 responses since the last reset
    {"op": "save", "name": "k"}           remember Canvas's whole state under a name
    {"op": "restore", "name": "k"}        put a remembered state back
    {"op": "mutate", "share": 0.05, "seed": 1}   students and TAs change that share of submissions
    {"op": "stop"}

`save`/`restore` let each implementation under test see the same Canvas: a push by one does not
leave the other nothing to do. The first line printed is {"url": ..., "course_id": ...}.

    .venv/bin/python benchmarks/bench_simulator.py --students 100 --latency-ms 50 --token T
"""

from __future__ import annotations

import argparse
import copy
import itertools
import json
import random
import sys
from datetime import timedelta
from typing import Any

from canvas_sync.simulator import READING_IDS, Simulator
from canvas_sync.simulator.state import CanvasState

# Everything CanvasState holds except its lock and clock (those stay the live ones).
_STATE_FIELDS = (
    "course",
    "users",
    "sections",
    "enrollments",
    "groups",
    "assignments",
    "overrides",
    "submissions",
    "columns",
    "late_policy",
    "progresses",
)


def snapshot(state: CanvasState) -> dict[str, Any]:
    """A deep copy of the course data, id counters included (as their next values)."""
    with state.lock:
        saved = {name: copy.deepcopy(getattr(state, name)) for name in _STATE_FIELDS}
        counters = {}
        for kind, counter in list(state._counters.items()):
            value = next(counter)
            state._counters[kind] = itertools.count(value)
            counters[kind] = value
        saved["_counters"] = counters
        return saved


def restore(state: CanvasState, saved: dict[str, Any]) -> None:
    with state.lock:
        for name in _STATE_FIELDS:
            setattr(state, name, copy.deepcopy(saved[name]))
        state._counters = {k: itertools.count(v) for k, v in saved["_counters"].items()}


def mutate(state: CanvasState, share: float, seed: int) -> int:
    """Change `share` of the students' reading submissions, as a week of a course would.

    An unsubmitted reading is submitted now (late), a submitted one is graded by the TA, a graded
    one is regraded; every change goes through the simulator's own student/TA methods, so
    `submitted_at`/`graded_at` move as Canvas moves them. Returns the number changed.
    """
    rng = random.Random(seed)
    with state.lock:
        students = [e.user_id for e in state.student_enrollments(("active", "completed"))]
        cells = [(a, s) for a in READING_IDS for s in students if (a, s) in state.submissions]
        chosen = rng.sample(cells, max(1, round(len(cells) * share)))
        now = state.now()
        for assignment_id, student_id in chosen:
            sub = state.submissions[(assignment_id, student_id)]
            if sub.submitted_at is None and sub.entered_score is None:
                state.submit(student_id, assignment_id, now - timedelta(minutes=5))
                continue
            items = [rng.choice((2, 2, 2, 1, 0)) for _ in range(5)]
            rubric = {f"P{n}": p for n, p in enumerate(items, start=1)}
            state.grade(student_id, assignment_id, float(sum(items)), 2, rubric, graded_at=now)
        return len(chosen)


class Control:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.saved: dict[str, dict[str, Any]] = {}

    def handle(self, command: dict[str, Any]) -> dict[str, Any]:
        op = command["op"]
        if op == "reset":
            self.sim.reset_request_log()
            self.sim.throttle.reset()
            return {"ok": True}
        if op == "counts":
            log = list(self.sim.request_log)
            return {"requests": len(log), "status_403": sum(1 for e in log if e[3] == 403)}
        if op == "save":
            self.saved[command["name"]] = snapshot(self.sim.state)
            return {"ok": True}
        if op == "restore":
            restore(self.sim.state, self.saved[command["name"]])
            return {"ok": True}
        if op == "mutate":
            changed = mutate(self.sim.state, float(command["share"]), int(command["seed"]))
            return {"changed": changed}
        raise ValueError(f"unknown op {op!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, required=True)
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--token", required=True)
    args = parser.parse_args()
    # The course as an instructor running both tools would set it up (docs/canvas-setup.md): the
    # total assignment exists (the naive script writes to it, it does not create it) and Canvas's
    # own Late Policy is off, so canvas-sync's push is not refused.
    sim = Simulator(
        students=args.students,
        latency_ms=args.latency_ms,
        token=args.token,
        total_assignment=True,
    )
    sim.state.late_policy = None
    url = sim.start(port=0)
    control = Control(sim)
    print(json.dumps({"url": url, "course_id": sim.course_id}), flush=True)
    try:
        for line in sys.stdin:
            command = json.loads(line)
            if command["op"] == "stop":
                break
            print(json.dumps(control.handle(command)), flush=True)
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
