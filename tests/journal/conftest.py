"""Fixtures of the journal tests: a journal folder and a migrated database (SQLite and
PostgreSQL, from tests/database_fixtures.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from labserve.db import upgrade_database
from labserve.journal import make_shipper_engine


@pytest.fixture
def journal_dir(tmp_path: Path) -> Path:
    return tmp_path / "journal"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade_database(database_url)
    engine = make_shipper_engine(database_url)
    yield engine
    engine.dispose()
