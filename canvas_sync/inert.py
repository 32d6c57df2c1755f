"""Text from Canvas or a config, made inert before it reaches a terminal, a log or a message.

A student name holding `ESC[31m` would recolour (or, with other escapes, rewrite) a TA's
terminal; a newline in a Canvas error text would forge a log line; bidirectional overrides
reorder what a reader sees. Every such character is shown as a visible escape (`\\x1b`) instead.
Rich markup is a separate matter: data goes to Rich as `Text`, never as a markup string.
"""

from __future__ import annotations

import logging
import re

__all__ = ["InertLogFilter", "inert"]

# C0 and C1 controls, DEL, and the Unicode bidirectional marks, embeddings and isolates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def inert(value: object) -> str:
    """`str(value)` with every control or bidi character replaced by a visible escape."""
    return _UNSAFE.sub(_escape, str(value))


class InertLogFilter(logging.Filter):
    """Neutralises each record's message (its arguments may hold Canvas data) before output."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = inert(record.getMessage())
        record.msg, record.args = message, ()
        return True
