"""Conventions of the Canvas seam (STYLE 1, 2, 14)."""

from __future__ import annotations

import ast
import importlib
import subprocess
import sys
from pathlib import Path

import canvas_sync.canvas as canvas_pkg

FORBIDDEN = ("canvas_sync.db", "canvas_sync.policy", "canvas_sync.push", "canvas_sync.sync",
             "canvas_sync.simulator")  # fmt: skip


def imported_modules(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_public_names_exist() -> None:
    assert canvas_pkg.__all__, "canvas/__init__.py must declare __all__"
    for name in canvas_pkg.__all__:
        assert hasattr(canvas_pkg, name), name


def test_canvas_imports_no_upper_layer() -> None:
    package_dir = Path(canvas_pkg.__file__).parent
    files = sorted(package_dir.glob("*.py"))
    assert len(files) >= 5
    for path in files:
        bad = {m for m in imported_modules(path) if m.startswith(FORBIDDEN)}
        assert not bad, f"{path.name} imports {bad}"


def test_parse_is_pure() -> None:
    parse = Path(importlib.import_module("canvas_sync.canvas.parse").__file__ or "")
    assert not {m for m in imported_modules(parse) if m.split(".")[0] in {"httpx", "requests"}}


def test_httpx_is_imported_by_the_first_client_not_by_the_package() -> None:
    # Commands that never talk to Canvas (report, status, db upgrade) import canvas_sync.canvas
    # through the service; httpx (with the click, rich and pygments its package imports) loads
    # only when a client is made.
    probe = (
        "import sys; from canvas_sync.domain import Secret; import canvas_sync.service.core; "
        "from canvas_sync.canvas import CanvasClient; a = 'httpx' in sys.modules; "
        "CanvasClient('http://127.0.0.1:1', Secret('t')).close(); "
        "print(int(a), int('httpx' in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["0", "1"]
