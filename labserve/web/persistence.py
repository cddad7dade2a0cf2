"""The app's database: engine, migrations on start, the audit writer, key checks."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from flask import Flask, current_app
from sqlalchemy import Engine

from labserve.db import AuditWriter, default_database_url, make_engine, upgrade_database
from labserve.db.keys import CachedKeyVerifier

EXTENSION_KEY = "labserve.db"


@dataclass
class Database:
    url: str
    engine: Engine
    audit: AuditWriter
    keys: CachedKeyVerifier


def database_url(app: Flask) -> str:
    return str(app.config.get("DATABASE_URL") or default_database_url(Path(app.instance_path)))


def init_database(app: Flask) -> Database:
    url = database_url(app)
    if app.config["MIGRATE_ON_START"]:
        upgrade_database(url)
    engine = make_engine(url)
    database = Database(
        url=url,
        engine=engine,
        audit=AuditWriter(engine, mode=app.config["AUDIT_INPUTS"]),
        keys=CachedKeyVerifier(engine, float(app.config["API_KEY_CACHE_SECONDS"])),
    )
    app.extensions[EXTENSION_KEY] = database
    return database


def get_database() -> Database:
    database: Database = current_app.extensions[EXTENSION_KEY]
    return database
