"""Web app accounts: argon2-hashed passwords, fresh session ids, throttled and locked sign-ins,
API tokens, the audit log, and the `user` commands (password never from argv, never echoed)."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from canvas_sync.errors import UsageError
from canvas_sync.service import accounts
from canvas_sync.settings import shipped_config

PASSWORD = "correct horse battery"
T0 = datetime(2026, 3, 2, 15, 0, tzinfo=UTC)


@pytest.fixture
def database(database_url: str) -> Iterator[accounts.Database]:
    made = accounts.accounts_database(database_url)
    try:
        yield made
    finally:
        made.dispose()


def _column(url: str, sql: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return [str(row[0]) for row in connection.execute(sa.text(sql))]
    finally:
        engine.dispose()


def test_password_is_stored_only_as_an_argon2_hash(
    database: accounts.Database, database_url: str
) -> None:
    accounts.add_user(database, "ta1", "ta", PASSWORD, by="test")
    [stored] = _column(database_url, "SELECT password_hash FROM web_users")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    with pytest.raises(UsageError, match="exists already"):
        accounts.add_user(database, "ta1", "ta", PASSWORD, by="test")
    with pytest.raises(UsageError, match="too short"):
        accounts.add_user(database, "ta2", "ta", "short", by="test")
    with pytest.raises(UsageError, match="Unknown role"):
        accounts.add_user(database, "ta3", "dean", PASSWORD, by="test")


def test_each_sign_in_gets_a_new_session_id_stored_hashed(
    database: accounts.Database, database_url: str
) -> None:
    accounts.add_user(database, "prof", "instructor", PASSWORD, by="test")
    first = accounts.sign_in(database, "prof", PASSWORD)
    second = accounts.sign_in(database, "prof", PASSWORD)
    assert first.session_id and second.session_id and first.session_id != second.session_id
    assert first.user is not None and first.user.role == "instructor"
    stored = _column(database_url, "SELECT id_hash FROM web_sessions")
    assert len(stored) == 2 and first.session_id not in stored
    user = accounts.session_user(database, first.session_id)
    assert user is not None and user.name == "prof"
    accounts.end_session(database, first.session_id)
    assert accounts.session_user(database, first.session_id) is None
    assert accounts.session_user(database, "made-up") is None
    accounts.set_password(database, "prof", PASSWORD + "!", by="test")  # signs browsers out
    assert accounts.session_user(database, second.session_id) is None


def test_failed_sign_ins_are_slowed_then_locked(database: accounts.Database) -> None:
    accounts.add_user(database, "ta1", "ta", PASSWORD, by="test")
    for n in range(accounts.THROTTLE_AFTER):
        assert accounts.sign_in(database, "ta1", "wrong", now=T0 + timedelta(seconds=n)).refusal
    # Now even the right password must wait a little.
    early = accounts.sign_in(database, "ta1", PASSWORD, now=T0 + timedelta(seconds=3))
    assert early.user is None and early.refusal is not None and "try again in" in early.refusal
    later = T0 + timedelta(seconds=60)
    assert accounts.sign_in(database, "ta1", PASSWORD, now=later).user is not None
    # The count starts again after a good sign-in; LOCK_AFTER failures lock the name.
    moment = later
    for _ in range(accounts.LOCK_AFTER):
        moment += timedelta(minutes=10)
        assert accounts.sign_in(database, "ta1", "wrong", now=moment).user is None
    locked = accounts.sign_in(database, "ta1", PASSWORD, now=moment + timedelta(minutes=10))
    assert locked.user is None and locked.refusal is not None and "try again" in locked.refusal
    free = moment + timedelta(minutes=accounts.LOCK_MINUTES + 1)
    assert accounts.sign_in(database, "ta1", PASSWORD, now=free).user is not None


def test_unknown_names_are_throttled_like_known_ones(database: accounts.Database) -> None:
    answers = [
        accounts.sign_in(database, "nobody", "x", now=T0 + timedelta(seconds=n)).refusal
        for n in range(accounts.THROTTLE_AFTER + 1)
    ]
    assert answers[0] == "Wrong name or password."
    assert answers[-1] is not None and "try again in" in answers[-1]


def test_api_token_is_shown_once_and_replaced(
    database: accounts.Database, database_url: str
) -> None:
    user = accounts.add_user(database, "ta1", "ta", PASSWORD, by="test")
    token = accounts.issue_api_token(database, user)
    assert accounts.token_user(database, token) == accounts.list_users(database)[0]
    assert token not in _column(database_url, "SELECT api_token_hash FROM web_users")
    newer = accounts.issue_api_token(database, user)
    assert accounts.token_user(database, token) is None
    assert accounts.token_user(database, newer) is not None


def test_actions_are_recorded_with_who_and_when(database: accounts.Database) -> None:
    accounts.add_user(database, "ta1", "ta", PASSWORD, by="admin")
    accounts.sign_in(database, "ta1", "nope")
    accounts.record_action(database, 598, "ta1", "resolve", "discrepancy 3: checked")
    actions = accounts.list_actions(database, 598)
    assert [(a.actor, a.action) for a in actions] == [
        ("ta1", "resolve"),
        ("ta1", "sign_in_failed"),
        ("admin", "user_add"),
    ]
    assert all(a.at is not None for a in actions)
    assert accounts.cookie_key(database) == accounts.cookie_key(database)


def _cli(url: str, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CANVAS_SYNC_DATABASE_URL": url}
    command = [sys.executable, "-m", "canvas_sync", "--config", str(shipped_config()), *args]
    return subprocess.run(
        command, input=stdin, env=env, capture_output=True, text=True, check=False
    )


@pytest.mark.slow
def test_user_commands(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'users.db'}"
    added = _cli(url, "user", "add", "prof", "--role", "instructor", "--password-stdin",
                 stdin=PASSWORD + "\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert PASSWORD not in added.stdout + added.stderr
    no_tty = _cli(url, "user", "add", "ta1", "--role", "ta")
    assert no_tty.returncode == 2 and "--password-stdin" in no_tty.stderr
    assert "argv" not in _cli(url, "user", "add", "--help").stdout
    listed = _cli(url, "user", "list")
    assert "prof" in listed.stdout and "instructor" in listed.stdout
    changed = _cli(url, "user", "passwd", "prof", "--password-stdin", stdin="another long one\n")
    assert changed.returncode == 0 and "another long one" not in changed.stdout
    removed = _cli(url, "user", "remove", "prof")
    assert removed.returncode == 0
    gone = _cli(url, "user", "remove", "prof")
    assert gone.returncode == 2 and "No user named 'prof'" in gone.stderr
