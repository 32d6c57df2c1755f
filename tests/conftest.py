"""Shared fixtures: database URLs for SQLite and PostgreSQL, and a running simulator.

Database tests take `database_url`, which runs them once on a fresh SQLite file and once on a
fresh PostgreSQL schema. PostgreSQL comes from $CANVAS_SYNC_TEST_POSTGRES_URL (set by .ci/run);
without it the PostgreSQL half is skipped locally, and in CI (CI=true) it fails instead.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

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
