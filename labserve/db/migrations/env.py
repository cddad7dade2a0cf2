"""Alembic environment: online migrations against the URL labserve configured."""

from __future__ import annotations

from alembic import context

from labserve.db.engine import make_engine
from labserve.db.schema import Base

config = context.config
engine = make_engine(config.get_main_option("sqlalchemy.url") or "")
try:
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata)
        with context.begin_transaction():
            context.run_migrations()
finally:
    engine.dispose()
