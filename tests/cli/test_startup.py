"""Start-up: a command imports only what it needs (issue: `--version` took 1.2 s and 80 MB).

Not timed: these check which modules a fresh interpreter has loaded, which is what the start-up
time follows from.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys

import canvas_sync.cli
from canvas_sync.cli import cli
from canvas_sync.cli.app import COMMAND_MODULES

HEAVY = (
    "sqlalchemy",
    "alembic",
    "httpx",
    "apscheduler",
    "pydantic",
    "canvasapi",
    "requests",
    "rich",
    "jinja2",
)


def _loaded_after(args: list[str]) -> list[str]:
    script = (
        "import json, sys\n"
        "from canvas_sync.cli import cli\n"
        "try:\n"
        f"    cli({args!r}, prog_name='canvas-sync')\n"
        "except SystemExit:\n"
        "    pass\n"
        f"print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}} & set({HEAVY!r}))))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60
    )
    return list(json.loads(done.stdout.strip().splitlines()[-1]))


def test_version_imports_no_database_http_or_scheduler_library() -> None:
    assert _loaded_after(["--version"]) == []


def test_one_command_loads_only_its_own_module() -> None:
    # `sync --help` loads its own module (its options come from the settings), never the
    # database until it runs, nor the scheduler or canvasapi (only `init` and creating the
    # push targets use canvasapi, through requests); `status` no longer loads the scheduler.
    loaded = _loaded_after(["sync", "--help"])
    assert "pydantic" in loaded
    assert not {"sqlalchemy", "alembic", "apscheduler", "canvasapi", "requests"} & set(loaded)
    assert not {"apscheduler", "alembic"} & set(_loaded_after(["status", "--help"]))


def test_help_loads_no_library_only_running_the_command_needs() -> None:
    # `sync --help` loads neither httpx nor the Canvas client (only `init` needs service.setup);
    # the others load no database, HTTP, config-schema or template library: `push` imports
    # its plan type only for type checking, `report` its renderers, `status` and `user` the
    # settings, and `user` the accounts, when they run.
    assert "httpx" not in _loaded_after(["sync", "--help"])
    for command in ("push", "report", "status", "user"):
        assert _loaded_after([command, "--help"]) == ["rich"], command


def test_every_command_is_listed_where_the_lazy_group_finds_it() -> None:
    for module in pkgutil.iter_modules(canvas_sync.cli.__path__):
        importlib.import_module(f"canvas_sync.cli.{module.name}")
    assert set(cli.commands) == set(COMMAND_MODULES)
    for name, module in COMMAND_MODULES.items():
        assert cli.commands[name].callback is not None
        assert cli.commands[name].callback.__module__ == f"canvas_sync.cli.{module}", name
