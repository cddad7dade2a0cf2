"""Engines for the embedded SQLite default and for PostgreSQL (psycopg 3)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.pool import NullPool


def default_database_url(instance_path: Path) -> str:
    """The embedded default: one SQLite file in the instance folder."""
    return f"sqlite:///{instance_path / 'labserve.db'}"


def make_engine(url: str, *, pooled: bool = True) -> Engine:
    """An engine with settings that suit a multi-threaded, multi-process web server.

    SQLite gets WAL (readers do not block the writer) and a busy timeout (writers from several
    workers wait instead of failing); PostgreSQL gets pre-ping so a restarted server is noticed.
    Statement parameters are hidden from error messages and logs: they hold patients' inputs.

    ``pooled=False`` opens a connection per use. The journal shipper wants that for SQLite: a
    pooled connection keeps writing into a database file that was deleted under it, silently.
    """
    pool_options: dict[str, Any] = {} if pooled else {"poolclass": NullPool}
    if url.startswith("sqlite"):
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            hide_parameters=True,
            **pool_options,
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, hide_parameters=True, **pool_options)
