"""Default settings; each can be overridden by a ``LABSERVE_<NAME>`` environment variable."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Largest number of rows in one JSON predict request.
    "MAX_BATCH_ROWS": 10_000,
    # "background": the server answers /healthz at once and /readyz turns 200 when loaded;
    # "sync": create_app returns only after loading (tests, one-off scripts).
    "LOAD_MODELS": "background",
    "SUMMARIZER_BACKEND": "extractive",
    "SUMMARIZER_MODEL": None,
    # Request bodies above this get 413 before they are read whole.
    "MAX_CONTENT_LENGTH": 16 * 1024 * 1024,
    # e.g. "600/minute": per API key, or per client address when anonymous. None: no limit.
    "RATE_LIMIT": None,
    # Shared rate-limit counts across replicas; memory when unset.
    "REDIS_URL": None,
    # SQLAlchemy URL; the default is a SQLite file in the instance folder.
    "DATABASE_URL": None,
    # Apply schema migrations when the app starts (``labserve serve`` does it once anyway).
    "MIGRATE_ON_START": True,
    # true: every /api/ route needs a key (``labserve keys create NAME``).
    "REQUIRE_API_KEY": False,
    # Record every prediction in the audit log (false only to measure what auditing costs).
    "AUDIT": True,
    # "full": audit records keep the inputs; "hash": only their sha256.
    "AUDIT_INPUTS": "full",
    # A revoked key may keep working this long in a running worker (0: check every call).
    "API_KEY_CACHE_SECONDS": 5,
    "LOG_FORMAT": "text",
    "LOG_LEVEL": "INFO",
}


def resolve_instance_path(test_config: dict[str, Any] | None) -> Path:
    """Instance folder: test config, then LABSERVE_INSTANCE_PATH, then ./instance."""
    configured = (test_config or {}).get("INSTANCE_PATH") or os.environ.get(
        "LABSERVE_INSTANCE_PATH"
    )
    return Path(configured or "instance").resolve()
