"""STYLE practices 1, 5, 14: `policy/` is pure and exposes one public surface."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import canvas_sync.policy as policy

POLICY_DIR = Path(policy.__file__).parent
MODULES = sorted(POLICY_DIR.glob("*.py"))
ALLOWED = {"canvas_sync.domain", "canvas_sync.errors"}


def imported_modules(path: Path) -> list[str]:
    """Absolute names of every module `path` imports (relative ones resolved in the package)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                names.append(node.module or "")
            elif node.level == 1:
                names.append(
                    f"canvas_sync.policy.{node.module}" if node.module else "canvas_sync.policy"
                )
            else:
                names.append("canvas_sync" + (f".{node.module}" if node.module else ""))
    return names


def test_policy_has_the_expected_modules() -> None:
    names = {p.stem for p in MODULES}
    assert {"__init__", "status", "totals", "discrepancies"} <= names


@pytest.mark.parametrize("path", MODULES, ids=lambda p: p.name)
def test_policy_imports_only_stdlib_domain_errors(path: Path) -> None:
    bad = []
    for name in imported_modules(path):
        top = name.split(".")[0]
        if name.startswith("canvas_sync.policy") or name in ALLOWED:
            continue
        if top in sys.stdlib_module_names and top != "canvas_sync":
            continue
        bad.append(name)
    assert bad == [], f"{path.name} imports {bad}"


def test_import_check_catches_forbidden_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("import httpx\nfrom canvas_sync.db import repo\nfrom .. import settings\n")
    assert imported_modules(sample) == ["httpx", "canvas_sync.db", "canvas_sync"]


def test_public_surface() -> None:
    assert sorted(policy.__all__) == [
        "assigned_to",
        "effective_due_date",
        "evaluate_course",
        "evaluate_student",
        "find_discrepancies",
        "format_score",
        "label_ranges",
        "labelled",
        "reading_labels",
        "reading_names",
        "reading_status",
        "short_title",
    ]
    for name in policy.__all__:
        assert callable(getattr(policy, name)), name
