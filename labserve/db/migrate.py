"""Alembic migrations shipped inside the package, applied programmatically.

No alembic.ini in the working directory is needed: the configuration is built here, so
``labserve db upgrade`` works from anywhere and the server can upgrade itself on start.

Upgrades are serialised: N replicas that start at once (a Swarm or Kubernetes rollout, each
running ``labserve serve``) must not race to create the same tables. On PostgreSQL the
upgrade holds a session-level advisory lock; on SQLite an exclusive ``flock`` on a file next
to the database. Whoever comes second waits, then finds the schema current and does nothing.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import make_url

MIGRATIONS = Path(__file__).with_name("migrations")
# pg_advisory_lock key: "labserve" in ASCII, as a signed 64-bit integer. Any fixed number
# works as long as nothing else in the database uses it for another purpose.
MIGRATION_LOCK_KEY = int.from_bytes(b"labserve", "big", signed=True)

log = logging.getLogger(__name__)


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade_database(url: str) -> None:
    """Bring the database at ``url`` to the newest schema (a no-op when it is there)."""
    with migration_lock(url):
        command.upgrade(alembic_config(url), "head")


@contextlib.contextmanager
def migration_lock(url: str) -> Iterator[None]:
    """Hold the database's migration lock (blocking until it is free) for the ``with`` body."""
    backend = make_url(url).get_backend_name()
    if backend == "postgresql":
        with _postgres_advisory_lock(url):
            yield
    elif backend == "sqlite":
        with _sqlite_file_lock(url):
            yield
    else:  # pragma: no cover - labserve supports SQLite and PostgreSQL only
        yield


@contextlib.contextmanager
def _postgres_advisory_lock(url: str) -> Iterator[None]:
    from labserve.db.engine import make_engine

    # A connection of its own, in autocommit: the lock belongs to the session, so it is
    # released when this connection closes even if the process dies mid-migration, and no
    # transaction stays open (idle in transaction) while alembic works on its own connection.
    engine = make_engine(url).execution_options(isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            got = connection.execute(
                text("SELECT pg_try_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
            ).scalar()
            if not got:
                log.info("waiting for another process to finish the schema migration")
                connection.execute(
                    text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
            try:
                yield
            finally:
                connection.execute(
                    text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
    finally:
        engine.dispose()


@contextlib.contextmanager
def _sqlite_file_lock(url: str) -> Iterator[None]:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        yield  # private to this process: nobody to race with
        return
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not POSIX: SQLite's own locking has to do
        yield
        return
    lock_path = Path(database).with_name(Path(database).name + ".migrate.lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def current_revision(url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext

    from labserve.db.engine import make_engine

    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
