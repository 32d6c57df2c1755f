"""The user documentation in docs/ covers what the code offers (STYLE.md practice 14).

Like sqlite-utils' tests/test_docs.py, every list here is derived from the code: the
DiscrepancyKind enum, the config file's schema in settings.py and click's command tree. A kind,
key, command or option added later fails these tests until docs/ describes it; one removed from
the code fails them until docs/ stops describing it.
"""

from __future__ import annotations

import ast
import re
import typing
from datetime import time
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner
from pydantic import BaseModel

from canvas_sync.cli import cli
from canvas_sync.domain import KIND_SEVERITY, Kind
from canvas_sync.settings import _File  # the schema of record for config keys

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _section(text: str, heading: str) -> str:
    """The text under `heading` (a whole heading line) up to the next heading of its level."""
    level = heading.split(" ", 1)[0]
    lines = text.splitlines()
    start = lines.index(heading)
    end = next(
        (
            i
            for i in range(start + 1, len(lines))
            if re.match(r"#+ ", lines[i]) and len(lines[i].split(" ", 1)[0]) <= len(level)
        ),
        len(lines),
    )
    return "\n".join(lines[start + 1 : end])


# --- discrepancy kinds ----------------------------------------------------------------------


def _kind_headings() -> set[str]:
    return set(re.findall(r"^### `([a-z_]+)`$", _page("discrepancies.md"), re.M))


@pytest.mark.parametrize("kind", list(Kind), ids=[k.value for k in Kind])
def test_every_discrepancy_kind_is_documented(kind: Kind) -> None:
    text = _page("discrepancies.md")
    assert kind.value in _kind_headings(), f"docs/discrepancies.md has no '### `{kind.value}`'"
    body = _section(text, f"### `{kind.value}`")
    severity = KIND_SEVERITY[kind].value
    assert f"**Severity:** {severity}." in body, f"{kind.value}: severity is {severity}"
    for part in ("**Means:**", "**Do:**", "**Resolves:**"):
        assert part in body, f"{kind.value} does not say {part}"
    row = re.search(rf"^\| `{kind.value}` \| (\w+) \|", text, re.M)
    assert row is not None and row.group(1) == severity, f"{kind.value} missing from the table"


def test_no_documented_kind_is_unknown_to_the_code() -> None:
    assert _kind_headings() <= {k.value for k in Kind}


# --- config keys ----------------------------------------------------------------------------


def _model_in(annotation: Any) -> type[BaseModel] | None:
    candidates = [annotation, *typing.get_args(annotation)]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _config_keys(model: type[BaseModel] = _File, prefix: str = "") -> dict[str, Any]:
    """Every key the config file accepts, dotted, with its default (lists of tables as `[]`)."""
    found: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        nested = _model_in(field.annotation)
        if nested is None:
            found[key] = field.get_default(call_default_factory=True)
        elif typing.get_origin(field.annotation) is list:
            found[key] = []
            found.update(_config_keys(nested, key + "[]."))
        else:
            found.update(_config_keys(nested, key + "."))
    return found


def _toml(value: Any) -> str | None:
    """How a default is written in docs/config.md, or None when it has no literal form."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return f"{value:g}"
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, time):
        return f'"{value:%H:%M:%S}"'
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) or "" for v in value) + "]"
    if isinstance(value, dict) and not value:
        return "{}"
    return None


def _documented_keys() -> dict[str, str]:
    keys = _section(_page("config.md"), "## Keys")
    return dict(re.findall(r"^\| `([a-z_.\[\]]+)` \| ([^|]+) \|", keys, re.M))


CONFIG_KEYS = _config_keys()


@pytest.mark.parametrize("key", sorted(CONFIG_KEYS))
def test_every_config_key_is_documented_with_its_default(key: str) -> None:
    documented = _documented_keys()
    assert key in documented, f"docs/config.md has no row for '{key}'"
    default = CONFIG_KEYS[key]
    literal = _toml(default) if default is not None else None
    if literal is not None:
        assert f"`{literal}`" in documented[key], f"{key}: default is {literal}"
    else:
        assert "none" in documented[key], f"{key}: has no default, say 'none'"


def test_no_documented_config_key_is_unknown_to_the_code() -> None:
    assert set(_documented_keys()) <= set(CONFIG_KEYS)


def test_the_config_example_is_accepted() -> None:
    from canvas_sync.settings import settings_from_dict

    example = _section(_page("config.md"), "## Example")
    toml_text = example.split("```toml\n", 1)[1].split("```", 1)[0]
    import tomllib

    settings = settings_from_dict(tomllib.loads(toml_text), env={})
    assert settings.course_id == 12345


# --- commands and options -------------------------------------------------------------------


def _commands(group: click.Group, prefix: str = "") -> list[tuple[str, click.Command]]:
    """Every leaf command; the root group imports its commands lazily, so ask it for each."""
    found = []
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        full = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found.extend(_commands(command, full + " "))
        else:
            found.append((full, command))
    return found


def _long_options(command: click.Command) -> list[str]:
    return [
        max(param.opts, key=len)
        for param in command.params
        if isinstance(param, click.Option) and param.name != "help"
    ]


COMMANDS = _commands(cli)


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_every_command_and_option_is_documented(name: str, command: click.Command) -> None:
    text = _page("commands.md")
    heading = f"### `canvas-sync {name}`"
    assert heading in text.splitlines(), f"docs/commands.md has no '{heading}'"
    body = _section(text, heading)
    for option in _long_options(command):
        assert f"`{option}" in body, f"docs/commands.md: {name} does not describe {option}"


def test_global_options_are_documented() -> None:
    text = _page("commands.md")
    for option in [*_long_options(cli), "--version"]:
        assert f"`{option}" in text, f"docs/commands.md does not describe {option}"


def test_no_documented_command_is_unknown_to_the_code() -> None:
    documented = set(re.findall(r"^### `canvas-sync ([a-z ]+)`$", _page("commands.md"), re.M))
    assert documented <= {name for name, _ in COMMANDS}


# --- pages, links, and no citations of documents users do not have ---------------------------


def _slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces as dashes."""
    text = heading.strip().lower().replace("`", "")
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def _anchors(text: str) -> set[str]:
    return {_slug(h) for h in re.findall(r"^#+ (.+)$", text, re.M)}


def test_readme_links_the_docs_and_every_page_is_reachable() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "(docs/index.md)" in readme
    index = _page("index.md")
    for page in PAGES:
        if page.name != "index.md":
            assert f"]({page.name})" in index, f"docs/index.md does not link {page.name}"


@pytest.mark.parametrize("page", [*PAGES, ROOT / "README.md"], ids=lambda p: p.name)
def test_relative_links_and_anchors_resolve(page: Path) -> None:
    text = page.read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)\s]+)\)", text):
        if "://" in target:
            continue
        path, _, anchor = target.partition("#")
        linked = (page.parent / path) if path else page
        assert linked.is_file(), f"{page.name} links to missing {target}"
        if anchor:
            assert anchor in _anchors(linked.read_text(encoding="utf-8")), (
                f"{page.name} links to missing anchor {target}"
            )


SPEC_CITATION = re.compile(r"\bSPEC\b")


USER_FILES = [*PAGES, ROOT / "README.md", *sorted((ROOT / "deploy").iterdir())]
USER_FILES += sorted((ROOT / "config").glob("*.toml"))


@pytest.mark.parametrize("page", USER_FILES, ids=lambda p: p.name)
def test_user_documents_cite_no_missing_document(page: Path) -> None:
    assert not SPEC_CITATION.search(page.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("name", "command"), COMMANDS, ids=[n for n, _ in COMMANDS])
def test_help_cites_no_missing_document(name: str, command: click.Command) -> None:
    result = CliRunner().invoke(cli, [*name.split(), "--help"])
    assert result.exit_code == 0
    assert not SPEC_CITATION.search(result.output), f"{name} --help cites SPEC"


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr):
            ids.add(id(body[0].value))
    return ids


def test_messages_cite_no_missing_document() -> None:
    """String literals other than docstrings (messages, report text) never cite SPEC."""
    offending = []
    for path in sorted((ROOT / "canvas_sync").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docstrings = _docstrings(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and id(node) not in docstrings
                and SPEC_CITATION.search(node.value)
            ):
                offending.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not offending, f"user-facing strings cite SPEC: {offending}"


def test_the_command_list_is_the_whole_tree() -> None:
    """The lists above come from the code: a lazily imported command must not be missed."""
    names = {name for name, _ in COMMANDS}
    assert {"push", "sync", "demo", "user add", "db upgrade"} <= names
