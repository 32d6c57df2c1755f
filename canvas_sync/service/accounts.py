"""Who may use the web app, and what they did: users, sign-in, sessions, API tokens, audit.

Passwords are hashed with argon2id (argon2-cffi's defaults, RFC 9106's memory-hard choice) and
never stored, logged or shown in clear. Session ids and API tokens are random (`secrets`), given
to the browser or the script once, and stored only as SHA-256 digests.

Failed sign-ins are counted per user name (names that do not exist too, so the answer never tells
which names exist): from the THROTTLE_AFTER-th failure on, the next attempt must wait a growing
delay, and after LOCK_AFTER failures the name is locked for LOCK_MINUTES. A good sign-in clears
the count.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from canvas_sync.db import Database, accounts
from canvas_sync.db.accounts import Action, User
from canvas_sync.errors import UsageError

__all__ = [
    "LOCK_AFTER",
    "LOCK_MINUTES",
    "ROLES",
    "THROTTLE_AFTER",
    "Action",
    "Database",
    "SignIn",
    "User",
    "accounts_database",
    "add_user",
    "cookie_key",
    "end_session",
    "issue_api_token",
    "list_actions",
    "list_users",
    "record_action",
    "remove_user",
    "session_user",
    "set_password",
    "sign_in",
    "token_user",
]

ROLES = ("ta", "instructor")
THROTTLE_AFTER = 3
LOCK_AFTER = 10
LOCK_MINUTES = 15
SESSION_IDLE_HOURS = 12
MIN_PASSWORD = 10
_HASHER = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verified against when the name is unknown, so both answers take the same time. Made on
    first use: argon2id is memory-hard (64 MiB a hash), a cost no command but sign-in pays."""
    return _HASHER.hash("not-a-password-of-anyone")


def _now() -> datetime:
    return datetime.now(UTC)


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


@dataclass(frozen=True)
class SignIn:
    """The outcome of a sign-in: a user and a fresh session id, or why not (one sentence)."""

    user: User | None
    session_id: str | None
    refusal: str | None


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise UsageError(f"The password is too short; use at least {MIN_PASSWORD} characters.")


def _check_name(name: str) -> str:
    cleaned = name.strip()
    if not cleaned or len(cleaned) > 120 or not cleaned.isprintable():
        raise UsageError("A user name is 1 to 120 printable characters; pick another name.")
    return cleaned


def add_user(database: Database, name: str, role: str, password: str, *, by: str) -> User:
    if role not in ROLES:
        raise UsageError(f"Unknown role {role!r}; use ta or instructor.")
    name = _check_name(name)
    _check_password(password)
    with database.transaction() as session:
        if accounts.user_by_name(session, name) is not None:
            raise UsageError(f"A user named {name!r} exists already; pick another name.")
        user = accounts.add_user(session, name, role, _HASHER.hash(password), _now())
        accounts.add_action(session, None, by, "user_add", f"{name} ({role})", _now())
    return user


def list_users(database: Database) -> list[User]:
    with database.transaction() as session:
        return accounts.list_users(session)


def remove_user(database: Database, name: str, *, by: str) -> None:
    with database.transaction() as session:
        if not accounts.remove_user(session, name):
            raise UsageError(f"No user named {name!r}; see 'canvas-sync user list'.")
        accounts.add_action(session, None, by, "user_remove", name, _now())


def set_password(database: Database, name: str, password: str, *, by: str) -> None:
    """A new password; the user's browsers are signed out."""
    _check_password(password)
    with database.transaction() as session:
        found = accounts.user_by_name(session, name)
        if found is None:
            raise UsageError(f"No user named {name!r}; see 'canvas-sync user list'.")
        accounts.set_password_hash(session, name, _HASHER.hash(password))
        accounts.drop_sessions_of(session, found[0].id)
        accounts.add_action(session, None, by, "user_passwd", name, _now())


def _wait_needed(throttle: accounts.Throttle | None, now: datetime) -> int:
    """Seconds before the next attempt is allowed (0: now)."""
    if throttle is None:
        return 0
    if throttle.locked_until is not None and throttle.locked_until > now:
        return int((throttle.locked_until - now).total_seconds()) + 1
    if throttle.failures < THROTTLE_AFTER or throttle.failures >= LOCK_AFTER:
        return 0
    delay = timedelta(seconds=2 ** (throttle.failures - THROTTLE_AFTER + 1))
    left = throttle.last_failure_at + delay - now
    return max(0, int(left.total_seconds()) + (1 if left.microseconds else 0))


def sign_in(database: Database, name: str, password: str, *, now: datetime | None = None) -> SignIn:
    """Check a name and password; on success open a new session (a new id every time)."""
    moment = now or _now()
    key = name.strip()[:120]
    with database.transaction() as session:
        wait = _wait_needed(accounts.throttle_of(session, key), moment)
        if wait:
            return SignIn(None, None, f"Too many failed sign-ins; try again in {wait} s.")
        found = accounts.user_by_name(session, key)
        try:
            _HASHER.verify(found[1] if found else _dummy_hash(), password)
            ok = found is not None
        except (VerificationError, InvalidHashError):
            ok = False
        if not ok or found is None:
            previous = accounts.throttle_of(session, key)
            failures = (previous.failures if previous else 0) + 1
            lock = moment + timedelta(minutes=LOCK_MINUTES) if failures >= LOCK_AFTER else None
            accounts.note_failure(session, key, moment, lock)
            accounts.add_action(
                session, None, key, "sign_in_failed", "wrong name or password", moment
            )
            return SignIn(None, None, "Wrong name or password.")
        user = found[0]
        accounts.clear_failures(session, key)
        session_id = secrets.token_urlsafe(32)
        accounts.add_session(session, _digest(session_id), user.id, moment)
        accounts.add_action(session, None, user.name, "sign_in", user.role, moment)
    return SignIn(user, session_id, None)


def session_user(database: Database, session_id: str) -> User | None:
    """The user a browser's session id belongs to, or None (unknown, idle too long, removed)."""
    now = _now()
    with database.transaction() as session:
        id_hash = _digest(session_id)
        since = now - timedelta(hours=SESSION_IDLE_HOURS)
        user = accounts.session_user(session, id_hash, idle_since=since)
        if user is not None:
            accounts.touch_session(session, id_hash, now)
        return user


def end_session(database: Database, session_id: str) -> None:
    with database.transaction() as session:
        accounts.drop_session(session, _digest(session_id))


def issue_api_token(database: Database, user: User) -> str:
    """A new API token for scripts (replacing the old one); shown once, stored hashed."""
    token = "cs_" + secrets.token_urlsafe(32)
    with database.transaction() as session:
        accounts.set_token_hash(session, user.id, _digest(token))
        accounts.add_action(session, None, user.name, "api_token", "issued a new API token", _now())
    return token


def token_user(database: Database, token: str) -> User | None:
    with database.transaction() as session:
        return accounts.user_by_token_hash(session, _digest(token))


def cookie_key(database: Database) -> str:
    """The key that signs session cookies: made once, kept in the database so that restarts and
    several workers agree."""
    with database.transaction() as session:
        found = accounts.get_key(session, "cookie")
    if found is not None:
        return found
    # Two workers starting at once both try; the loser's insert fails and it reads the winner's.
    with contextlib.suppress(Exception), database.transaction() as session:
        accounts.set_key(session, "cookie", secrets.token_hex(32))
    with database.transaction() as session:
        found = accounts.get_key(session, "cookie")
    assert found is not None
    return found


def record_action(
    database: Database, course_id: int | None, actor: str, action: str, detail: str
) -> None:
    with database.transaction() as session:
        accounts.add_action(session, course_id, actor, action, detail, _now())


def list_actions(database: Database, course_id: int | None, limit: int = 200) -> list[Action]:
    with database.transaction() as session:
        return accounts.list_actions(session, course_id, limit)


def accounts_database(url: str) -> Database:
    """The database that holds the web app's users (the config's first database), migrated."""
    database = Database(url)
    database.ensure_schema()
    return database
