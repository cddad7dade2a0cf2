"""Schema upgrades started at the same moment by several processes (replicas) do not race."""

from __future__ import annotations

import multiprocessing
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from labserve.db.migrate import current_revision
from tests.database_fixtures import postgres_admin_url

PROCESSES = 6


def _upgrade(url: str, barrier: Any, results: Any) -> None:
    """One 'replica': wait for all the others, then upgrade at the same moment."""
    from labserve.db import upgrade_database

    barrier.wait(60)
    try:
        upgrade_database(url)
        results.put("ok")
    except Exception as exc:  # report to the parent rather than die silently
        results.put(f"{type(exc).__name__}: {exc}")


def upgrade_concurrently(url: str) -> list[str]:
    context = multiprocessing.get_context("spawn")
    barrier = context.Barrier(PROCESSES)
    results = context.Queue()
    processes = [
        context.Process(target=_upgrade, args=(url, barrier, results)) for _ in range(PROCESSES)
    ]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in processes]
    for process in processes:
        process.join(30)
        assert process.exitcode == 0
    return outcomes


@pytest.fixture
def empty_postgres_database() -> Iterator[str]:
    admin_url = postgres_admin_url()
    name = f"labserve_migrate_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def assert_migrated_once(url: str) -> None:
    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            versions = connection.execute(text("SELECT version_num FROM alembic_version")).all()
        assert len(versions) == 1
        assert {"predictions", "api_keys"} <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert current_revision(url) == versions[0][0]


def test_concurrent_upgrades_on_one_postgresql(empty_postgres_database: str) -> None:
    outcomes = upgrade_concurrently(empty_postgres_database)
    assert outcomes == ["ok"] * PROCESSES, outcomes
    assert_migrated_once(empty_postgres_database)


def test_concurrent_upgrades_on_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'labserve.db'}"
    outcomes = upgrade_concurrently(url)
    assert outcomes == ["ok"] * PROCESSES, outcomes
    assert_migrated_once(url)
