"""Reading a config file: every way it can fail is one sentence naming the file (exit 2).

A directory, a symlink loop, unreadable bytes, text that is not UTF-8, TOML nested past what
the parser can take, and a Canvas token in a file others may read each get their own message.
"""

from __future__ import annotations

import errno
import stat
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from canvas_sync.errors import ConfigError

__all__ = ["read_toml"]


def _open_config(path: Path) -> bytes:
    """The file's bytes, or one sentence saying why it cannot be a config file."""
    try:
        if path.is_dir():
            raise ConfigError(f"Config file {path} is a directory: name a .toml file instead.")
        return path.read_bytes()
    except FileNotFoundError:
        hint = " (a symlink to nothing)" if path.is_symlink() else ""
        raise ConfigError(
            f"Config file {path} does not exist{hint}: pass --config FILE "
            f"(for example config/cs598-s26.toml) or run 'canvas-sync init'."
        ) from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(
                f"Config file {path} is a symlink loop: point it at a real file."
            ) from None
        raise ConfigError(
            f"Config file {path} cannot be read ({exc.strerror}): fix its permissions."
        ) from None


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a config file; every way it can be unreadable is one sentence naming it."""
    data = _open_config(path)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"{path}: not UTF-8 text (byte {data[exc.start]:#04x} at offset {exc.start}); "
            "save it as UTF-8."
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML ({exc}); fix the syntax.") from None
    except RecursionError:
        raise ConfigError(
            f"{path}: nested too deeply to read; a course config needs only a few levels."
        ) from None
    _refuse_shared_token(path, raw)
    return raw


def _refuse_shared_token(path: Path, raw: Mapping[str, Any]) -> None:
    """A token in a file that group or others may read is refused, not just warned about.

    The token grants a teacher's rights over the whole course; a warning scrolls by in a
    daemon's log while the grades stay readable by every local user, so the fix is forced.
    """
    canvas = raw.get("canvas")
    if not isinstance(canvas, Mapping) or not canvas.get("token"):
        return
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        raise ConfigError(
            f"{path} holds a Canvas token but group or others may read it (mode {mode:04o}): "
            f"run 'chmod 600 {path}', or move the token to CANVAS_TOKEN."
        )
