"""Revision 0003: scopes on API keys; keys issued before it keep ``predict`` only."""

from __future__ import annotations

from datetime import UTC, datetime

from alembic import command
from sqlalchemy import text

from labserve.db import check_key, make_engine, upgrade_database
from labserve.db.keys import KEY_PREFIX, LOOKUP_CHARS, create_key, key_digest
from labserve.db.migrate import alembic_config


def test_keys_from_before_scopes_can_predict_only(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "0002")
    engine = make_engine(database_url)
    old_key = KEY_PREFIX + "x" * 43
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO api_keys (name, prefix, secret_sha256, created_at)"
                " VALUES ('old-robot', :prefix, :digest, :created)"
            ),
            {
                "prefix": old_key[:LOOKUP_CHARS],
                "digest": key_digest(old_key),
                "created": datetime.now(UTC),
            },
        )
    upgrade_database(database_url)
    caller = check_key(engine, old_key)
    assert caller is not None
    assert caller.scopes == frozenset({"predict"})
    assert not caller.allows("audit:read")
    auditor = check_key(engine, create_key(engine, "auditor", "audit:read,metrics"))
    assert auditor is not None
    assert auditor.scopes == frozenset({"audit:read", "metrics"})
    engine.dispose()
