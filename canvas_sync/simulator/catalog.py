"""Fixed facts of the generated CS 598 course: ids, the reading list, the due-date rule.

The reading list is Canvas's own copy of the syllabus (what the instructor typed into Canvas);
the simulator deliberately does not read the project's config file.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

__all__ = [
    "CHICAGO",
    "COURSE_ID",
    "FIRST_STUDENT_ID",
    "JITSERVE",
    "JITSERVE_CANVAS_DUE",
    "READINGS",
    "READING_IDS",
    "SECTION_A",
    "SECTION_B",
    "SECTION_B_DUE",
    "SECTION_B_READING",
    "START",
    "TEST_STUDENT_ID",
    "TOTAL_ASSIGNMENT_ID",
    "UNPUBLISHED_ASSIGNMENT_ID",
    "rubric",
    "syllabus_due",
]

CHICAGO = ZoneInfo("America/Chicago")
COURSE_ID = 598
SECTION_A, SECTION_B = 11, 12
TEST_STUDENT_ID = 9001
TOTAL_ASSIGNMENT_ID = 2200
UNPUBLISHED_ASSIGNMENT_ID = 2103
FIRST_STUDENT_ID = 1001

# (title, lecture date) — Canvas's copy of the syllabus list; deliberately not read from config.
READINGS: tuple[tuple[str, date], ...] = (
    ("The Illustrated Stable Diffusion", date(2026, 2, 4)),
    (
        "Efficient Large-Scale Language Model Training on GPU Clusters Using Megatron-LM",
        date(2026, 2, 6),
    ),
    (
        "Outrageously Large Neural Networks: The Sparsely-Gated Mixture-of-Experts Layer",
        date(2026, 2, 6),
    ),
    ("TrainVerify: Equivalence-Based Verification for Distributed LLM Training", date(2026, 2, 11)),
    ("LoRA: Low-Rank Adaptation of Large Language Models", date(2026, 2, 13)),
    ("AWQ: Activation-aware Weight Quantization", date(2026, 2, 18)),
    (
        "DeepSeek-R1: Incentivizing Reasoning Capability in LLMs via Reinforcement Learning",
        date(2026, 2, 20),
    ),
    ("Optimizing RLHF Training for Large Language Models with Stage Fusion", date(2026, 2, 25)),
    (
        "Efficient Memory Management for Large Language Model Serving with PagedAttention",
        date(2026, 2, 27),
    ),
    ("Fast Inference from Transformers via Speculative Decoding", date(2026, 3, 4)),
    ("Taming Throughput-Latency Tradeoff in LLM Inference with Sarathi-Serve", date(2026, 3, 6)),
    ("JITServe: SLO-aware LLM Serving with Imprecise Request Information", date(2026, 3, 11)),
    ("ModServe: Scalable and Resource-Efficient Large Multimodal Model Serving", date(2026, 3, 25)),
    ("IC-Cache: Efficient Large Language Model Serving via In-context Caching", date(2026, 4, 8)),
    (
        "PipeFusion: Patch-level Pipeline Parallelism for Diffusion Transformers Inference",
        date(2026, 4, 10),
    ),
    (
        "CacheBlend: Fast Large Language Model Serving for RAG with Cached Knowledge Fusion",
        date(2026, 4, 15),
    ),
    ("Measuring Agents in Production", date(2026, 4, 17)),
    (
        "In-the-Flow Agentic System Optimization for Effective Planning and Tool Use",
        date(2026, 4, 22),
    ),
    ("Why Do Multi-Agent LLM Systems Fail?", date(2026, 4, 24)),
)
READING_IDS: tuple[int, ...] = tuple(2001 + i for i in range(len(READINGS)))
JITSERVE = 11  # index of R12
JITSERVE_CANVAS_DUE = datetime(2026, 3, 11, 5, 59, 59, tzinfo=UTC)  # the DST bug
SECTION_B_READING = 9  # R10
SECTION_B_DUE = datetime(2026, 3, 6, 5, 59, 59, tzinfo=UTC)

_CRITERIA = (
    "P1: The problem and why it matters",
    "P2: The main proposed idea(s)",
    "P3: Understanding of the technique's components",
    "P4: Strengths and weaknesses",
    "P5: Room for improvement",
)
START = datetime(2026, 1, 20, 6, 0, 0, tzinfo=UTC)


def syllabus_due(lecture: date) -> datetime:
    """23:59:59 America/Chicago on the day before the lecture, in UTC (DST-aware)."""
    local = datetime.combine(lecture - timedelta(days=1), time(23, 59, 59), tzinfo=CHICAGO)
    return local.astimezone(UTC)


def rubric() -> list[dict[str, object]]:
    return [
        {
            "id": f"P{n}",
            "description": text,
            "long_description": "",
            "points": 2.0,
            "criterion_use_range": False,
            "ratings": [
                {"id": f"P{n}_2", "points": 2.0, "description": "Clear understanding"},
                {"id": f"P{n}_1", "points": 1.0, "description": "Misses the point"},
                {"id": f"P{n}_0", "points": 0.0, "description": "Missing"},
            ],
        }
        for n, text in enumerate(_CRITERIA, start=1)
    ]
