"""Engine, migrations and transactions. Only `db/` imports SQLAlchemy (STYLE practice 2).

The schema of record is Alembic (`migrations/`): first use runs `upgrade head`, never `create_all`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.exc import ArgumentError, DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from canvas_sync.errors import CanvasSyncError, ConfigError, DatabaseUnavailable
from canvas_sync.files import create_private

if TYPE_CHECKING:
    # Alembic is imported only to migrate: every command checks the schema, few change it.
    from alembic.config import Config

__all__ = ["Database", "alembic_config", "database_errors", "migrations_dir"]


@contextmanager
def database_errors() -> Iterator[None]:
    """Turn a dropped connection or a failing server into one sentence (STYLE 3).

    A terminated PostgreSQL backend or an unreachable server surfaces as a driver error deep in
    SQLAlchemy; the person running the sync needs to know the database went away and that the
    transaction was rolled back, not a class name.
    """
    try:
        yield
    except CanvasSyncError:
        raise
    except (OperationalError, DBAPIError) as exc:
        if not isinstance(exc, OperationalError) and not exc.connection_invalidated:
            raise
        reason = " ".join(str(exc.orig).split())[:200] or type(exc.orig).__name__
        raise DatabaseUnavailable(
            f"The database failed mid-run ({reason}); what this step wrote was rolled back: "
            "check that the database is up and run the command again."
        ) from exc


def migrations_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "migrations"


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(migrations_dir()))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


#: Advisory-lock key serialising migrations on PostgreSQL ("canvas-sync migrate" in ASCII).
_KEY = int.from_bytes(b"cs-migr8", "big", signed=True)


def _private_sqlite_file(database: str | None) -> None:
    """Create a new SQLite database file 0600 before SQLite does (its journals inherit it)."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if path.parent.is_dir():  # else SQLite's own "unable to open" error says what to fix
        create_private(path)


_REVISION = re.compile(r"^(down_)?revision\b[^=]*=\s*(.+)$", re.MULTILINE)


@cache
def head_revision(versions: Path) -> str | None:
    """The newest migration: the one revision no other names as its down_revision. Read from
    the files' `revision = ...` lines, as Alembic writes them, without importing Alembic (a
    test checks it against Alembic's own answer)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in versions.glob("*.py"):
        for down, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            names = set(re.findall(r"[\"']([^\"']+)[\"']", value))
            (parents if down else revisions).update(names)
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def to_json(value: Any) -> str:
    """A JSON column's text: orjson, several times faster than json (a sync at 1,000 students
    writes some 20,000 values); json for what orjson refuses (an integer past 64 bits)."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value)


class Database:
    """One database: its engine, its session factory, and its migration state."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(
                url,
                future=True,
                pool_pre_ping=True,
                json_serializer=to_json,
                json_deserializer=orjson.loads,
            )
        except (ArgumentError, ModuleNotFoundError) as exc:
            raise ConfigError(
                f"Database URL is not usable ({type(exc).__name__}); "
                "set CANVAS_SYNC_DATABASE_URL to e.g. sqlite:///canvas_sync.db."
            ) from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
            _private_sqlite_file(self.engine.url.database)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def upgrade(self) -> None:
        """Apply migrations up to head (idempotent), one process at a time.

        Two first uses at once must not both create the tables: the migration runs in a
        transaction that first takes the database's write lock (SQLite `BEGIN IMMEDIATE`) or a
        transaction-level advisory lock (PostgreSQL, whose DDL is transactional), so the second
        process waits, then finds the schema at head and does nothing.
        """
        try:
            with self.engine.begin() as connection:
                if self.dialect == "sqlite":
                    connection.exec_driver_sql("BEGIN IMMEDIATE")
                elif self.dialect == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _KEY})
                from alembic import command

                config = alembic_config(self.url)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        except OperationalError as exc:
            raise ConfigError(
                f"Cannot open the database at {self.engine.url.render_as_string()}: "
                f"{str(exc.orig).strip()}; check CANVAS_SYNC_DATABASE_URL."
            ) from None

    def is_current(self) -> bool:
        """The schema is at the newest migration (Alembic's `alembic_version` row)."""
        with self.engine.connect() as connection:
            if not inspect(connection).has_table("alembic_version"):
                return False
            rows = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        head = head_revision(migrations_dir() / "versions")
        return head is not None and [row[0] for row in rows] == [head]

    def ensure_schema(self) -> None:
        """First use: migrate when the database is not at head."""
        try:
            current = self.is_current()
        except OperationalError:
            current = False
        if not current:
            self.upgrade()

    @contextmanager
    def transaction(self) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception."""
        session = self._sessions()
        try:
            with database_errors(), session.begin():
                yield session
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
