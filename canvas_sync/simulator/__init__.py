"""A faithful fake Canvas LMS serving the CS 598 course over real HTTP (STYLE §12).

`Simulator` runs a werkzeug server on 127.0.0.1 answering the Canvas REST endpoints canvas-sync
uses, with Canvas's pagination, auth errors, throttle headers and seeded faults; `build_course`
generates the deterministic course (its edge-case students are tabled in `course.py`).
"""

from canvas_sync.simulator.course import (
    COURSE_ID,
    READING_IDS,
    READINGS,
    SECTION_A,
    SECTION_B,
    TEST_STUDENT_ID,
    TOTAL_ASSIGNMENT_ID,
    UNPUBLISHED_ASSIGNMENT_ID,
    build_course,
    syllabus_due,
)
from canvas_sync.simulator.server import TA_TOKEN, Simulator
from canvas_sync.simulator.state import CanvasState, SimError

__all__ = [
    "COURSE_ID",
    "READINGS",
    "READING_IDS",
    "SECTION_A",
    "SECTION_B",
    "TA_TOKEN",
    "TEST_STUDENT_ID",
    "TOTAL_ASSIGNMENT_ID",
    "UNPUBLISHED_ASSIGNMENT_ID",
    "CanvasState",
    "SimError",
    "Simulator",
    "build_course",
    "syllabus_due",
]
