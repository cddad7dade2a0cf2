"""A fresh database per test, on SQLite and on a real PostgreSQL server.

PostgreSQL comes from ``LABSERVE_TEST_POSTGRES_URL`` (``scripts/start-postgres.sh`` prints
it; ``scripts/check`` starts the server). In CI a missing server fails the run; elsewhere the
PostgreSQL cases skip with the reason.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

POSTGRES_ENV = "LABSERVE_TEST_POSTGRES_URL"


def postgres_admin_url() -> str:
    url = os.environ.get(POSTGRES_ENV)
    if url:
        return url
    if os.environ.get("CI"):
        pytest.fail(f"{POSTGRES_ENV} is not set: CI must run the PostgreSQL tests (scripts/check)")
    pytest.skip(f"{POSTGRES_ENV} not set (run scripts/start-postgres.sh)")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.database)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'labserve.db'}"
        return
    admin_url = postgres_admin_url()
    name = f"labserve_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
