"""Private files and clear messages (issue 11, items 5 and 6).

The database, its journal and the reports are created 0600 under a 022 umask; a token in a
config others may read is refused; every unreadable config is one sentence naming the file with
exit 2; two first uses of a fresh database migrate once.
"""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from cli_helpers import cli_env
from click.testing import CliRunner, Result

from canvas_sync.cli import cli
from canvas_sync.db import Database
from canvas_sync.settings import shipped_config
from canvas_sync.simulator import Simulator

NOW = datetime(2026, 5, 20, 17, 0, 0, tzinfo=UTC)
TOKEN = "files-test-token-77c2"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(students=8, seed=598, now=NOW, token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
def env(sim: Simulator, tmp_path: Path) -> dict[str, str]:
    return cli_env(sim, TOKEN, tmp_path / "private.db")


@pytest.fixture
def usual_umask() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def invoke(env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _config_error(result: Result, path: Path, *words: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.output
    assert str(path) in lines[0] and "unexpected" not in lines[0]
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


def test_database_journal_and_reports_are_private(
    env: dict[str, str], tmp_path: Path, usual_umask: None
) -> None:
    assert invoke(env, "sync").exit_code == 0
    database = tmp_path / "private.db"
    assert _mode(database) == 0o600
    out = tmp_path / "report.html"
    assert invoke(env, "report", "--format", "html", "--output", str(out)).exit_code == 0
    assert _mode(out) == 0o600
    engine = Database(env["CANVAS_SYNC_DATABASE_URL"]).engine
    with engine.connect() as connection:  # a write in progress: SQLite's rollback journal
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        connection.exec_driver_sql("DELETE FROM sync_runs")
        journal = tmp_path / "private.db-journal"
        assert journal.exists() and _mode(journal) == 0o600
        connection.exec_driver_sql("ROLLBACK")
    engine.dispose()


def test_a_token_in_a_config_others_can_read_is_refused(
    env: dict[str, str], tmp_path: Path, usual_umask: None
) -> None:
    config = tmp_path / "with-token.toml"
    text = shipped_config().read_text(encoding="utf-8")
    config.write_text(text.replace("[canvas]\n", f'[canvas]\ntoken = "{TOKEN}"\n', 1))
    config.chmod(0o644)
    without_env = {k: v for k, v in env.items() if k != "CANVAS_TOKEN"}
    refused = invoke({**without_env, "CANVAS_SYNC_CONFIG": str(config)}, "sync")
    message = _config_error(refused, config, "chmod 600", "CANVAS_TOKEN")
    assert TOKEN not in refused.output and "0644" in message
    config.chmod(0o600)
    assert invoke({**without_env, "CANVAS_SYNC_CONFIG": str(config)}, "sync").exit_code == 0


def test_a_config_that_is_not_utf8_names_the_file(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "latin1.toml"
    config.write_bytes('[course]\nname = "Café"\n'.encode("latin-1"))
    result = invoke({**env, "CANVAS_SYNC_CONFIG": str(config)}, "sync")
    _config_error(result, config, "UTF-8")


def test_absurdly_deep_toml_names_the_file(env: dict[str, str], tmp_path: Path) -> None:
    config = tmp_path / "deep.toml"
    config.write_text("x = " + "[" * 100_000 + "]" * 100_000 + "\n", encoding="utf-8")
    result = invoke({**env, "CANVAS_SYNC_CONFIG": str(config)}, "sync")
    _config_error(result, config, "nested too deeply")


def test_a_directory_or_a_symlink_loop_in_include_says_which(
    env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "courses").mkdir()
    loop = tmp_path / "loop.toml"
    loop.symlink_to(tmp_path / "loop.toml")
    for name, words in (("courses", ("is a directory",)), ("loop.toml", ("symlink loop",))):
        config = tmp_path / f"main-{name}.toml"
        text = shipped_config().read_text(encoding="utf-8")
        config.write_text(f'include = ["{name}"]\n' + text, encoding="utf-8")
        result = invoke({**env, "CANVAS_SYNC_CONFIG": str(config)}, "status")
        line = _config_error(result, config, *words)
        assert "does not exist" not in line and name in line
    direct = invoke({**env, "CANVAS_SYNC_CONFIG": str(loop)}, "sync")
    _config_error(direct, loop, "symlink loop")


def test_first_uses_at_once_migrate_once(database_url: str) -> None:
    """Several processes' first use of a fresh database: one migrates, the others wait."""
    gate = threading.Barrier(4)
    errors: list[BaseException] = []

    def first_use() -> None:
        database = Database(database_url)
        try:
            gate.wait()
            database.ensure_schema()
            assert database.is_current()
        except BaseException as exc:  # collected for the assertion below
            errors.append(exc)
        finally:
            database.dispose()

    threads = [threading.Thread(target=first_use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []


class _Redirects(BaseHTTPRequestHandler):
    """A Canvas URL that sends everything to a login page on another host."""

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self.send_response(302)
        self.send_header("Location", "https://sso.elsewhere.example/login?next=%2F")
        self.send_header("Content-Length", "0")
        self.end_headers()


def test_a_redirect_to_another_host_is_one_sentence(env: dict[str, str]) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Redirects)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        result = invoke({**env, "CANVAS_URL": url}, "sync")
    finally:
        server.shutdown()
        server.server_close()
    assert result.exit_code == 1, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert "redirect (302) to https://sso.elsewhere.example" in lines[0]
    assert "NoneType" not in lines[0] and TOKEN not in lines[0]
