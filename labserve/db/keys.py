"""API keys: issued once, stored as a hash, checked in constant time.

A key is 32 random bytes (``secrets.token_urlsafe``), so a plain sha256 of it cannot be
brute-forced; a slow password hash (bcrypt, argon2) would protect low-entropy human passwords
and only add milliseconds to every API call here. The first characters are kept in clear as a
lookup prefix, which reveals nothing usable about the rest.

Each key carries scopes, the surfaces it may use: ``predict`` (every prediction route and
page), ``audit:read`` (the audit log of every caller), ``metrics`` (``/metrics``) and
``admin`` (all of them). A key gets ``predict`` unless told otherwise, so a key handed to a
robot cannot read what other callers sent.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.orm import Session

from labserve.db.schema import ApiKey

KEY_PREFIX = "lsk_"
LOOKUP_CHARS = 12
#: Every scope a key can hold; ``admin`` implies all the others.
SCOPES = ("predict", "audit:read", "metrics", "admin")
DEFAULT_SCOPES = ("predict",)


class DuplicateKeyName(ValueError):
    """An active key already has this name (revoke it first to re-issue)."""


@dataclass(frozen=True)
class KeyInfo:
    name: str
    prefix: str
    created_at: datetime
    revoked_at: datetime | None
    scopes: tuple[str, ...] = DEFAULT_SCOPES


@dataclass(frozen=True)
class Caller:
    """A checked key: who it is, what it may do, and its digest (what a page session keeps)."""

    name: str
    scopes: frozenset[str]
    digest: str

    def allows(self, scope: str) -> bool:
        return scope in self.scopes or "admin" in self.scopes


def parse_scopes(text: str | tuple[str, ...] | list[str]) -> tuple[str, ...]:
    """``"predict,metrics"`` -> ``("predict", "metrics")``; ValueError names an unknown one."""
    parts = text.split(",") if isinstance(text, str) else list(text)
    scopes = tuple(dict.fromkeys(part.strip() for part in parts if part.strip()))
    if not scopes:
        raise ValueError(f"give at least one scope of {', '.join(SCOPES)}")
    unknown = [scope for scope in scopes if scope not in SCOPES]
    if unknown:
        raise ValueError(f"unknown scope {unknown[0]!r}; scopes are {', '.join(SCOPES)}")
    return scopes


def key_digest(key: str) -> str:
    """The sha256 of a key, as stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


_digest = key_digest


def create_key(
    engine: Engine, name: str, scopes: tuple[str, ...] | list[str] | str = DEFAULT_SCOPES
) -> str:
    """Issue a key named ``name`` holding ``scopes``; the plaintext is returned once and never
    stored."""
    name = name.strip()
    if not name or len(name) > 100:
        raise ValueError("a key name must be 1 to 100 characters")
    chosen = parse_scopes(scopes)
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
                scopes=",".join(chosen),
            )
        )
    return key


def list_keys(engine: Engine) -> list[KeyInfo]:
    with Session(engine) as session:
        rows = session.scalars(select(ApiKey).order_by(ApiKey.created_at, ApiKey.id))
        return [
            KeyInfo(r.name, r.prefix, r.created_at, r.revoked_at, tuple(r.scopes.split(",")))
            for r in rows
        ]


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
    caller = check_key(engine, key)
    return caller.name if caller is not None else None


def check_key(engine: Engine, key: str) -> Caller | None:
    """The active key ``key`` with its scopes, or None."""
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    return _find(engine, ApiKey.prefix == key[:LOOKUP_CHARS], _digest(key))


def check_digest(engine: Engine, digest: str) -> Caller | None:
    """The active key whose sha256 is ``digest`` (a signed-in page session keeps only that)."""
    if len(digest) != 64:
        return None
    return _find(engine, ApiKey.secret_sha256 == digest, digest)


def _find(engine: Engine, where: Any, digest: str) -> Caller | None:
    with Session(engine) as session:
        candidates = session.execute(
            select(ApiKey.name, ApiKey.secret_sha256, ApiKey.scopes).where(
                where, ApiKey.revoked_at.is_(None)
            )
        ).all()
    found = None
    for name, stored, scopes in candidates:
        if hmac.compare_digest(stored, digest):
            found = Caller(name, frozenset(scopes.split(",")), digest)
    return found


def any_keys_exist(engine: Engine) -> bool:
    with Session(engine) as session:
        return bool(session.scalar(select(func.count()).select_from(ApiKey)))


class CachedKeyVerifier:
    """``check_key`` with a short in-process cache, so a busy client costs one query a while.

    A revoked key (or a changed scope) keeps its old standing in a process for at most
    ``ttl_seconds`` (0 disables caching).
    """

    def __init__(self, engine: Engine, ttl_seconds: float = 5.0) -> None:
        self.engine = engine
        self.ttl_seconds = ttl_seconds
        self._cache: dict[str, tuple[Caller | None, float]] = {}

    def verify(self, key: str) -> Caller | None:
        """The caller holding ``key``, or None."""
        return self._cached(_digest(key), lambda: check_key(self.engine, key))

    def verify_digest(self, digest: str) -> Caller | None:
        """The caller whose key has this sha256 (a signed-in page), or None."""
        return self._cached(digest, lambda: check_digest(self.engine, digest))

    def _cached(self, digest: str, look_up: Callable[[], Caller | None]) -> Caller | None:
        if self.ttl_seconds <= 0:
            return look_up()
        now = time.monotonic()
        hit = self._cache.get(digest)
        if hit is not None and hit[1] > now:
            return hit[0]
        caller = look_up()
        if len(self._cache) > 10_000:  # bound memory against floods of random keys
            self._cache.clear()
        self._cache[digest] = (caller, now + self.ttl_seconds)
        return caller
