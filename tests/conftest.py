"""Shared fixtures: database URLs for SQLite and PostgreSQL, and a running simulator.

Database tests take `database_url`, which runs them once on a fresh SQLite file and once on a
fresh PostgreSQL database, or `db_session`, a session on a shared migrated database of each kind
whose work is rolled back after the test. PostgreSQL comes from $CANVAS_SYNC_TEST_POSTGRES_URL
(set by .ci/run); without it the PostgreSQL half is skipped locally, and in CI (CI=true) it fails
instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from canvas_sync.db import Database

POSTGRES_URL = os.environ.get("CANVAS_SYNC_TEST_POSTGRES_URL", "")


class PostgresDatabases:
    """Creates and drops throwaway databases on the test PostgreSQL server."""

    def create(self, template: str | None = None) -> str:
        """A new database (a copy of `template`'s database if given); its URL."""
        if not POSTGRES_URL:
            if os.environ.get("CI"):
                pytest.fail("CANVAS_SYNC_TEST_POSTGRES_URL is not set in CI; .ci/run sets it.")
            pytest.skip("PostgreSQL not configured (set CANVAS_SYNC_TEST_POSTGRES_URL)")
        name = f"cs_test_{uuid.uuid4().hex[:12]}"
        copy = "" if template is None else f' TEMPLATE "{template.rsplit("/", 1)[1]}"'
        self._admin(f'CREATE DATABASE "{name}"{copy}')
        return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name

    def drop(self, url: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')

    @staticmethod
    def _admin(sql: str) -> None:
        admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(sa.text(sql))
        admin.dispose()


@pytest.fixture(scope="session")
def postgres_databases() -> PostgresDatabases:
    return PostgresDatabases()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases,
) -> Iterator[str]:
    """A fresh, empty database of each kind (schema built by the code under test)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "canvas_sync.db"
        yield f"sqlite:///{path}"
        return
    url = postgres_databases.create()
    try:
        yield url
    finally:
        postgres_databases.drop(url)


@pytest.fixture
def postgres_url(postgres_databases: PostgresDatabases) -> Iterator[str]:
    """A fresh PostgreSQL database alone, for what only PostgreSQL deployments do."""
    url = postgres_databases.create()
    try:
        yield url
    finally:
        postgres_databases.drop(url)


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def migrated_url(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    postgres_databases: PostgresDatabases,
) -> Iterator[str]:
    """One database of each kind for the whole run, migrated to head by the code under test."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('shared-db') / 'canvas_sync.db'}"
    else:
        url = postgres_databases.create()
    database = Database(url)
    database.ensure_schema()
    database.dispose()
    yield url
    if request.param == "postgresql":
        postgres_databases.drop(url)


@pytest.fixture
def db_session(migrated_url: str) -> Iterator[Session]:
    """A session inside an outer transaction that is rolled back after the test (STYLE 11).

    Repository tests write through it on the shared migrated database and leave nothing behind;
    `session.commit()` in a test only releases a savepoint (join_transaction_mode).
    """
    engine = sa.create_engine(migrated_url)
    if engine.dialect.name == "sqlite":
        # pysqlite begins and ends transactions on its own, which breaks SAVEPOINT: hand that to
        # SQLAlchemy (the recipe in SQLAlchemy's SQLite dialect documentation).
        @sa.event.listens_for(engine, "connect")
        def _connect(dbapi_connection: Any, _record: Any) -> None:
            dbapi_connection.isolation_level = None
            dbapi_connection.execute("PRAGMA foreign_keys=ON")

        @sa.event.listens_for(engine, "begin")
        def _begin(connection: sa.Connection) -> None:
            connection.exec_driver_sql("BEGIN")

    with engine.connect() as connection:
        outer = connection.begin()
        session = Session(bind=connection, join_transaction_mode="create_savepoint")
        try:
            yield session
        finally:
            session.close()
            outer.rollback()
    engine.dispose()
