"""Persistence: the database, its migrations, API keys and the audit log (no Flask here)."""

from labserve.db.audit import AuditRecord, AuditWriter, export_predictions, list_predictions
from labserve.db.engine import default_database_url, make_engine
from labserve.db.keys import (
    SCOPES,
    Caller,
    DuplicateKeyName,
    any_keys_exist,
    check_key,
    create_key,
    list_keys,
    parse_scopes,
    revoke_key,
    verify_key,
)
from labserve.db.migrate import upgrade_database

__all__ = [
    "SCOPES",
    "AuditRecord",
    "Caller",
    "check_key",
    "parse_scopes",
    "AuditWriter",
    "DuplicateKeyName",
    "any_keys_exist",
    "create_key",
    "default_database_url",
    "export_predictions",
    "list_keys",
    "list_predictions",
    "make_engine",
    "revoke_key",
    "upgrade_database",
    "verify_key",
]
