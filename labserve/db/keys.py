"""API keys: issued once, stored as a hash, checked in constant time.

A key is 32 random bytes (``secrets.token_urlsafe``), so a plain sha256 of it cannot be
brute-forced; a slow password hash (bcrypt, argon2) would protect low-entropy human passwords
and only add milliseconds to every API call here. The first characters are kept in clear as a
lookup prefix, which reveals nothing usable about the rest.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from labserve.db.schema import ApiKey

KEY_PREFIX = "lsk_"
LOOKUP_CHARS = 12


class DuplicateKeyName(ValueError):
    """An active key already has this name (revoke it first to re-issue)."""


@dataclass(frozen=True)
class KeyInfo:
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def create_key(engine: Engine, name: str) -> str:
    """Issue a key named ``name``; the plaintext is returned once and never stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("a key name must be 1 to 100 characters")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    with Session(engine) as session, session.begin():
        taken = session.scalar(
            select(func.count()).where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
        )
        if taken:
            raise DuplicateKeyName(f"an active key named {name!r} exists; revoke it first")
        session.add(
            ApiKey(
                name=name,
                prefix=key[:LOOKUP_CHARS],
                secret_sha256=_digest(key),
                created_at=datetime.now(UTC),
            )
        )
    return key


def list_keys(engine: Engine) -> list[KeyInfo]:
    with Session(engine) as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))
        return [KeyInfo(r.name, r.prefix, r.created_at, r.revoked_at) for r in rows]


def revoke_key(engine: Engine, name: str) -> bool:
    """Revoke the active key called ``name``; False when there is none."""
    with engine.begin() as connection:
        result = connection.execute(
            update(ApiKey)
            .where(ApiKey.name == name, ApiKey.revoked_at.is_(None))
            .values(revoked_at=datetime.now(UTC))
        )
        return bool(result.rowcount)


def verify_key(engine: Engine, key: str) -> str | None:
    """The name of the active key ``key``, or None. Hashes are compared in constant time."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    digest = _digest(key)
    with Session(engine) as session:
        candidates = session.execute(
            select(ApiKey.name, ApiKey.secret_sha256).where(
                ApiKey.prefix == key[:LOOKUP_CHARS], ApiKey.revoked_at.is_(None)
            )
        ).all()
    found = None
    for name, stored in candidates:
        if hmac.compare_digest(stored, digest):
            found = name
    return found


def any_keys_exist(engine: Engine) -> bool:
    with Session(engine) as session:
        return bool(session.scalar(select(func.count()).select_from(ApiKey)))


class CachedKeyVerifier:
    """``verify_key`` with a short in-process cache, so a busy client costs one query a while.

    A revoked key keeps working in a process for at most ``ttl_seconds`` (0 disables caching).
    """

    def __init__(self, engine: Engine, ttl_seconds: float = 5.0) -> None:
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self._cache: dict[str, tuple[str | None, float]] = {}

    def verify(self, key: str) -> str | None:
        import time

        if self.ttl_seconds <= 0:
            return verify_key(self.engine, key)
        digest = _digest(key)
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        name = verify_key(self.engine, key)
        if len(self._cache) > 10_000:  # bound memory against floods of random keys
            self._cache.clear()
        self._cache[digest] = (name, now + self.ttl_seconds)
        return name
