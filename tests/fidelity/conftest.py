"""Fixtures for the fidelity tests: one simulator per module, driven by plain canvasapi and httpx.

The simulator's clock is pinned (`NOW`, after every Spring 2026 reading is due and before the
2027 extension) so lateness and `missing` are reproducible.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from canvasapi import Canvas
from canvasapi.course import Course
from fidelity_helpers import NOW, TOKEN, close_canvas, make_canvas

from canvas_sync.simulator import Simulator


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(students=40, seed=598, now=NOW, total_assignment=True) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def canvas(sim: Simulator) -> Iterator[Canvas]:
    client = make_canvas(sim.base_url)
    yield client
    close_canvas(client)


@pytest.fixture(scope="module")
def course(canvas: Canvas) -> Course:
    return canvas.get_course(598)


@pytest.fixture(scope="module")
def http(sim: Simulator) -> Iterator[httpx.Client]:
    with httpx.Client(
        base_url=sim.base_url + "/api/v1", headers={"Authorization": f"Bearer {TOKEN}"}
    ) as client:
        yield client
