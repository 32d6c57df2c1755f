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


def _postgres_database() -> str:
    if not POSTGRES_URL:
        if os.environ.get("CI"):
            pytest.fail("CANVAS_SYNC_TEST_POSTGRES_URL is not set in CI; .ci/run sets it.")
        pytest.skip("PostgreSQL not configured (set CANVAS_SYNC_TEST_POSTGRES_URL)")
    name = f"cs_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    return POSTGRES_URL.rsplit("/", 1)[0] + "/" + name


def _drop_postgres(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = sa.create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A fresh, empty database of each kind (schema built by the code under test)."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("db") / "canvas_sync.db"
        yield f"sqlite:///{path}"
        return
    url = _postgres_database()
    try:
        yield url
    finally:
        _drop_postgres(url)


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database alone, for what only PostgreSQL deployments do."""
    url = _postgres_database()
    try:
        yield url
    finally:
        _drop_postgres(url)
