"""Control characters from Canvas are shown as escapes in messages and logs (issue 11)."""

from __future__ import annotations

import io
import logging

from canvas_sync.inert import inert
from canvas_sync.scheduler.logs import configure_logging


def test_controls_and_bidi_become_visible_escapes() -> None:
    assert inert("Eve \x1b[31mRed\x07\n\u202eok") == "Eve \\x1b[31mRed\\x07\\x0a\\u202eok"
    assert inert("Zoë O’Brien [bold]") == "Zoë O’Brien [bold]"  # printable text is untouched


def test_a_canvas_text_cannot_forge_or_colour_a_daemon_log_line() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream=stream)
    try:
        logging.getLogger("canvas_sync.test").warning(
            "event=run_failed error=%s", "bad\nevent=fake \x1b[2J"
        )
    finally:
        configure_logging("WARNING")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 1 and "\x1b" not in lines[0]
    assert "bad\\x0aevent=fake \\x1b[2J" in lines[0]
