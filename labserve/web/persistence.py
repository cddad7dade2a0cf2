"""The app's database: engine, migrations on start, key checks (audit records are shipped to
it from the journal, see ``audit_log``)."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Flask, current_app
from sqlalchemy import Engine

from labserve.db import make_engine, upgrade_database
from labserve.db.keys import CachedKeyVerifier
from labserve.settings import Settings

EXTENSION_KEY = "labserve.db"


@dataclass
class Database:
    url: str
    engine: Engine
    keys: CachedKeyVerifier


def init_database(app: Flask, settings: Settings) -> Database:
    url = settings.resolved_database_url()
    if settings.migrate_on_start:
        upgrade_database(url)
    engine = make_engine(url)
    database = Database(
        url=url,
        engine=engine,
        keys=CachedKeyVerifier(engine, settings.api_key_cache_seconds),
    )
    app.extensions[EXTENSION_KEY] = database
    return database


def close_database(app: Flask) -> None:
    database: Database | None = app.extensions.get(EXTENSION_KEY)
    if database is not None:
        database.engine.dispose()


def get_database() -> Database:
    database: Database = current_app.extensions[EXTENSION_KEY]
    return database
