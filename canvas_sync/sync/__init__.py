"""Pulling a course from Canvas: reading discovery and the watermarked pull."""

from canvas_sync.sync.checks import usable_submissions
from canvas_sync.sync.discover import ReadingMatch, SyllabusReading, find_readings, normalize_title
from canvas_sync.sync.pull import (
    OVERLAP,
    REFETCH_CHUNK,
    CanvasSource,
    Pulled,
    ReadingRules,
    SyncState,
    advance_watermarks,
    enrollment_keys,
    fingerprint,
    merge_enrollments,
    pull_course,
)
from canvas_sync.sync.spool import Spool

__all__ = [
    "OVERLAP",
    "REFETCH_CHUNK",
    "CanvasSource",
    "Pulled",
    "ReadingMatch",
    "ReadingRules",
    "Spool",
    "SyllabusReading",
    "SyncState",
    "advance_watermarks",
    "enrollment_keys",
    "find_readings",
    "fingerprint",
    "merge_enrollments",
    "normalize_title",
    "pull_course",
    "usable_submissions",
]
