"""Web app accounts: users, sessions, API tokens, login throttling, the cookie key and the
audit log. Functions take a `Session`; the caller (service/) owns the transaction.

Secrets arrive here already hashed (argon2 for passwords, SHA-256 for session ids and API
tokens): nothing in these tables can be replayed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from canvas_sync.db.models import AuditRow, LoginThrottleRow, WebKeyRow, WebSessionRow, WebUserRow

__all__ = [
    "Action",
    "Throttle",
    "User",
    "add_action",
    "add_session",
    "add_user",
    "clear_failures",
    "drop_session",
    "drop_sessions_of",
    "get_key",
    "get_user",
    "list_actions",
    "list_users",
    "note_failure",
    "remove_user",
    "session_user",
    "set_key",
    "set_password_hash",
    "set_token_hash",
    "throttle_of",
    "touch_session",
    "user_by_name",
    "user_by_token_hash",
]


@dataclass(frozen=True)
class User:
    id: int
    name: str
    role: str  # ta | instructor
    created_at: datetime
    has_api_token: bool


@dataclass(frozen=True)
class Throttle:
    failures: int
    last_failure_at: datetime
    locked_until: datetime | None


@dataclass(frozen=True)
class Action:
    id: int
    course_id: int | None
    at: datetime
    actor: str
    action: str
    detail: str


def _user(row: WebUserRow) -> User:
    return User(row.id, row.name, row.role, row.created_at, row.api_token_hash is not None)


# --- users ------------------------------------------------------------------------------------


def add_user(session: Session, name: str, role: str, password_hash: str, now: datetime) -> User:
    row = WebUserRow(name=name, role=role, password_hash=password_hash, created_at=now)
    session.add(row)
    session.flush()
    return _user(row)


def list_users(session: Session) -> list[User]:
    return [_user(r) for r in session.scalars(select(WebUserRow).order_by(WebUserRow.name))]


def _row_by_name(session: Session, name: str) -> WebUserRow | None:
    return session.scalars(select(WebUserRow).where(WebUserRow.name == name)).first()


def user_by_name(session: Session, name: str) -> tuple[User, str] | None:
    """The user and their password hash (to verify a sign-in)."""
    row = _row_by_name(session, name)
    return None if row is None else (_user(row), row.password_hash)


def get_user(session: Session, user_id: int) -> User | None:
    row = session.get(WebUserRow, user_id)
    return None if row is None else _user(row)


def remove_user(session: Session, name: str) -> bool:
    row = _row_by_name(session, name)
    if row is None:
        return False
    drop_sessions_of(session, row.id)
    session.delete(row)
    return True


def set_password_hash(session: Session, name: str, password_hash: str) -> bool:
    row = _row_by_name(session, name)
    if row is None:
        return False
    row.password_hash = password_hash
    return True


def set_token_hash(session: Session, user_id: int, token_hash: str | None) -> None:
    row = session.get(WebUserRow, user_id)
    assert row is not None
    row.api_token_hash = token_hash


def user_by_token_hash(session: Session, token_hash: str) -> User | None:
    query = select(WebUserRow).where(WebUserRow.api_token_hash == token_hash)
    row = session.scalars(query).first()
    return None if row is None else _user(row)


# --- sessions ---------------------------------------------------------------------------------


def add_session(session: Session, id_hash: str, user_id: int, now: datetime) -> None:
    session.add(WebSessionRow(id_hash=id_hash, user_id=user_id, created_at=now, last_seen=now))


def session_user(session: Session, id_hash: str, *, idle_since: datetime) -> User | None:
    """The user of a live session (last seen after `idle_since`)."""
    row = session.get(WebSessionRow, id_hash)
    if row is None or row.last_seen < idle_since:
        return None
    return get_user(session, row.user_id)


def touch_session(session: Session, id_hash: str, now: datetime) -> None:
    row = session.get(WebSessionRow, id_hash)
    if row is not None:
        row.last_seen = now


def drop_session(session: Session, id_hash: str) -> None:
    session.execute(delete(WebSessionRow).where(WebSessionRow.id_hash == id_hash))


def drop_sessions_of(session: Session, user_id: int) -> None:
    session.execute(delete(WebSessionRow).where(WebSessionRow.user_id == user_id))


# --- login throttling -------------------------------------------------------------------------


def throttle_of(session: Session, name: str) -> Throttle | None:
    row = session.get(LoginThrottleRow, name)
    return None if row is None else Throttle(row.failures, row.last_failure_at, row.locked_until)


def note_failure(
    session: Session, name: str, now: datetime, locked_until: datetime | None
) -> Throttle:
    row = session.get(LoginThrottleRow, name)
    if row is None:
        row = LoginThrottleRow(name=name, failures=0, last_failure_at=now)
        session.add(row)
    row.failures += 1
    row.last_failure_at, row.locked_until = now, locked_until
    return Throttle(row.failures, row.last_failure_at, row.locked_until)


def clear_failures(session: Session, name: str) -> None:
    session.execute(delete(LoginThrottleRow).where(LoginThrottleRow.name == name))


# --- keys -------------------------------------------------------------------------------------


def get_key(session: Session, name: str) -> str | None:
    row = session.get(WebKeyRow, name)
    return None if row is None else row.value


def set_key(session: Session, name: str, value: str) -> None:
    session.add(WebKeyRow(name=name, value=value))
    session.flush()


# --- audit ------------------------------------------------------------------------------------


def add_action(
    session: Session, course_id: int | None, actor: str, action: str, detail: str, now: datetime
) -> None:
    session.add(AuditRow(course_id=course_id, at=now, actor=actor, action=action, detail=detail))


def list_actions(session: Session, course_id: int | None, limit: int = 200) -> list[Action]:
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if course_id is not None:
        query = query.where((AuditRow.course_id == course_id) | (AuditRow.course_id.is_(None)))
    return [
        Action(r.id, r.course_id, r.at, r.actor, r.action, r.detail) for r in session.scalars(query)
    ]
