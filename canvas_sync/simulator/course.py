"""The generated CS 598 course: what Canvas holds, deterministic for (`students`, `seed`).

Course 598, time zone America/Chicago. The 19 reading summaries (ids 2001–2019, called R1–R19
below, in lecture order) are 10 points, online_text_entry, rubric P1–P5 (2 points each), due
23:59:59 Chicago on the day before the lecture (05:59:59Z before 2026-03-08, 04:59:59Z after) —
except **R12 JITServe**, due 2026-03-11T05:59:59Z, one hour late: the classic DST bug
(`due_date_mismatch`). "Reading Summaries" has rules `{"drop_lowest": 4}` (should be 5:
`group_rule_mismatch`); the course Late Policy deducts 10%/day (`late_policy_conflict`), so a late
graded 8 reads `score` 7, `entered_score` 8. By default the course has no total assignment (a
course before its first push); with `total_assignment=True` a "Course Totals" group holds the
published 100-point "Reading Summaries Total" (id 2200, omit_from_final_grade), where 1001's
total is right and 1016's is stale. "Presentation Peer Review" (2103) is unpublished.
Everyone is in Section A (11) except 1014 (Section B, 12), whose section override moves R10
to 2026-03-06T05:59:59Z. Users: 1 teacher "Canvas Sync Service", 2 TA.

Named edge-case students:

id    who                 data → expected SPEC §2 status / §3 discrepancy
1001  Alice Anders        R1–R14 on time; Total (if any) holds her correct percent → on_time ×14
1002  Ben Brooks          R1–R14 on time, R1 never graded → R1 on_time, `ungraded`
1003  Chloe Chen          R3 3 h late graded 8 (score 7 after the late policy) → late,
                          `late_graded`; R4 26 h late, ungraded → late
1004  Dev Desai           R5 on time, resubmitted 2 h late, graded 9 → `late_resubmission`
1005  Emma Evans          R6 2 h late, teacher set late_policy_status "none" → on_time
1006  Farah Fischer       R1–R6 excused, R7–R19 on time → excused ×6, required 13
1007  Gus Green           R7 scored 10, never submitted → on_time, `graded_without_submission`
1008  Hana Hoshino        R8 scored 12, R9 scored 7.5, no rubric → `score_out_of_range` ×2
1009  Ivan Ivanov         R10 items 2,2,2,1,1 score 9; R11 items 3,2,2,1,2 → `rubric_mismatch` ×2
1010  Jin Jung            only R1–R10 → `at_risk`
1011  Kara Kim            all 19 (R12 at 05:30Z Mar 11: on time by Canvas's date) →
                          `over_submitted`
1012  Liam Lopez          R1–R13; R13 extended +3 days, sent 1 day after the base date →
                          on_time; R19 override to 2027-01-15, nothing sent → pending
1013  Mia Moreno          R1–R13; R14 unsubmitted, no score → missing, `missing_ungraded`;
                          R15 unsubmitted, scored 0 by the TA (Canvas `missing` false) → missing;
                          R17 unsubmitted with custom grade status 1 → pending,
                          `custom_grade_status`
1014  Noah Nakamura       Section B; R10 sent 2026-03-05T12:00Z, after the everyone date, before
                          the section date → on_time
1015  <script>alert("x")</script> Tables   R1–R14 → the name must round-trip verbatim
1016  Olivia Olsen        R1–R14; Total (if any) holds a stale 55 → `total_mismatch`
1017  Pablo Perez         inactive enrollment, R1–R5 → ignored
1018  Quinn Quade         invited enrollment, nothing → ignored
1019  Rosa Ruiz           completed enrollment, R1–R14 → included
9001  Test Student        StudentViewEnrollment, R1 ungraded → ignored

Unless listed, a named student submits R1–R14 on time (1–72 h early) and each is graded by the
TA (id 2) with rubric items summing to the score; unsubmitted readings have no score
(`missing`, `missing_ungraded`).

Then regular students 1020… up to `students` in all (the named 19 always exist, so `students`
below 19 gives just them): each submits 14–17 random readings, mostly 1–72 h early; about 6% are
1–30 h late (half of those graded); R18/R19 stay ungraded about 30% of the time; rubric items are
0/1/2 (mostly 2) and sum to the score.
"""

from datetime import UTC, date, datetime

from canvas_sync.simulator.catalog import (
    COURSE_ID,
    JITSERVE,
    JITSERVE_CANVAS_DUE,
    READING_IDS,
    READINGS,
    SECTION_A,
    SECTION_B,
    START,
    TEST_STUDENT_ID,
    TOTAL_ASSIGNMENT_ID,
    UNPUBLISHED_ASSIGNMENT_ID,
    rubric,
    syllabus_due,
)
from canvas_sync.simulator.people import add_students
from canvas_sync.simulator.records import (
    Assignment,
    Column,
    Course,
    Group,
    LatePolicy,
    Section,
    User,
)
from canvas_sync.simulator.state import CanvasState, Clock

__all__ = [
    "COURSE_ID",
    "READINGS",
    "READING_IDS",
    "SECTION_A",
    "SECTION_B",
    "TEST_STUDENT_ID",
    "TOTAL_ASSIGNMENT_ID",
    "UNPUBLISHED_ASSIGNMENT_ID",
    "build_course",
    "syllabus_due",
]


def _structure(state: CanvasState, total_assignment: bool) -> None:
    """Sections, staff, assignment groups, assignments, the late policy and a notes column."""
    created = datetime(2026, 1, 15, 18, 0, 0, tzinfo=UTC)
    _sections_and_staff(state)
    _groups(state, total_assignment)
    _readings(state, created)
    _other_assignments(state, created, total_assignment)
    state.late_policy = LatePolicy(
        id=1,
        course_id=COURSE_ID,
        created_at=created,
        updated_at=created,
        late_submission_deduction_enabled=True,
        late_submission_deduction=10.0,
        late_submission_interval="day",
    )
    notes = Column(id=state.next_id("column", 1), title="Notes", position=1, teacher_notes=True)
    state.columns[notes.id] = notes


def _sections_and_staff(state: CanvasState) -> None:
    state.sections = {
        SECTION_A: Section(SECTION_A, "Section A"),
        SECTION_B: Section(SECTION_B, "Section B"),
    }
    for uid, name, sortable, type_ in (
        (1, "Canvas Sync Service", "Service, Canvas Sync", "TeacherEnrollment"),
        (2, "Tara Assistant", "Assistant, Tara", "TaEnrollment"),
    ):
        state.add_user(User(uid, name, sortable, name, None, None, START))
        state.enroll(uid, type_, SECTION_A)


def _groups(state: CanvasState, total_assignment: bool) -> None:
    """The syllabus weights as groups; Reading Summaries (the top group) drops 4 where 5 is
    meant (a mismatch). "Course Totals" only comes with the pre-made total assignment."""
    groups: tuple[tuple[int, str, float, dict[str, int]], ...] = (
        (101, "Reading Summaries", 20.0, {"drop_lowest": 4}),
        (102, "Attendance", 10.0, {}),
        (103, "Paper Presentation", 15.0, {}),
        (104, "Panel Discussion", 5.0, {}),
        (105, "Final Project Presentation", 15.0, {}),
        (106, "Project Report", 35.0, {}),
        (107, "Course Totals", 0.0, {}),
    )
    if not total_assignment:
        groups = groups[:-1]
    for position, (gid, name, weight, rules) in enumerate(groups, start=1):
        state.add_group(Group(gid, name, position, weight, rules))


def _readings(state: CanvasState, created: datetime) -> None:
    """The 19 reading summaries, due the evening before each lecture (one Canvas date is off)."""
    for i, (title, lecture) in enumerate(READINGS):
        due = JITSERVE_CANVAS_DUE if i == JITSERVE else syllabus_due(lecture)
        state.add_assignment(
            Assignment(
                id=READING_IDS[i],
                name=f"Summary: {title}",
                group_id=101,
                position=i + 1,
                points_possible=10.0,
                submission_types=["online_text_entry"],
                created_at=created,
                due_at=due,
                rubric=rubric(),
                description=f"<p>Write a five-paragraph summary (P1–P5) of <em>{title}</em>.</p>",
            )
        )


def _other_assignments(state: CanvasState, created: datetime, total_assignment: bool) -> None:
    """The rest of the gradebook, one unpublished assignment and (if asked) the total one."""
    others: tuple[tuple[int, str, int, float, list[str], datetime | None, bool], ...] = (
        (2101, "Attendance", 102, 100.0, ["on_paper"], None, True),
        (2102, "Paper Presentation", 103, 100.0, ["on_paper"], None, True),
        (
            UNPUBLISHED_ASSIGNMENT_ID,
            "Presentation Peer Review",
            103,
            10.0,
            ["online_text_entry"],
            None,
            False,
        ),
        (2104, "Panel Discussion", 104, 100.0, ["on_paper"], None, True),
        (2105, "Final Project Presentation", 105, 100.0, ["on_paper"], None, True),
        (2106, "Proposal", 106, 5.0, ["online_upload"], syllabus_due(date(2026, 2, 21)), True),
        (
            2107,
            "Mid-Semester Report",
            106,
            10.0,
            ["online_upload"],
            syllabus_due(date(2026, 3, 28)),
            True,
        ),
        (2108, "Final Report", 106, 20.0, ["online_upload"], syllabus_due(date(2026, 5, 9)), True),
        (TOTAL_ASSIGNMENT_ID, "Reading Summaries Total", 107, 100.0, ["none"], None, True),
    )
    if not total_assignment:
        others = others[:-1]
    for position, (aid, name, gid, points, types, other_due, published) in enumerate(
        others, start=1
    ):
        state.add_assignment(
            Assignment(
                id=aid,
                name=name,
                group_id=gid,
                position=position,
                points_possible=points,
                submission_types=types,
                created_at=created,
                due_at=other_due,
                published=published,
                omit_from_final_grade=aid == TOTAL_ASSIGNMENT_ID,
            )
        )


def build_course(
    students: int = 40,
    seed: int = 598,
    clock: Clock | None = None,
    *,
    total_assignment: bool = False,
) -> CanvasState:
    """Build the CS 598 course; the same (`students`, `seed`) always gives the same data.

    `total_assignment` adds the pre-made "Course Totals" group and total assignment (2200);
    without it the course is as before its first push (the demo's course).
    """
    state = CanvasState(
        Course(
            COURSE_ID,
            "CS 598: Systems for Generative AI (S'26)",
            "CS 598 SGA",
            "America/Chicago",
            START,
            datetime(2026, 5, 16, 4, 59, 59, tzinfo=UTC),
        ),
        clock,
    )
    with state.lock:
        _structure(state, total_assignment)
        add_students(state, students, seed)
    return state
