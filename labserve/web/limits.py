"""Rate limits per API key, or per client address for anonymous callers (Flask-Limiter).

Counts live in memory by default, or in Redis when ``LABSERVE_REDIS_URL`` is set so that
several replicas share them. Health, readiness, metrics and static files are never limited.
"""

from __future__ import annotations

from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

from labserve.settings import Settings

UNLIMITED_ENDPOINTS = {"health.healthz", "health.readyz", "metrics.scrape", "static"}


def caller_key() -> str:
    key_name = g.get("api_key_name")
    return f"key:{key_name}" if key_name else f"ip:{get_remote_address()}"


def init_limits(app: Flask, settings: Settings) -> Limiter | None:
    rate = settings.rate_limit
    if not rate:
        return None
    limiter = Limiter(
        key_func=caller_key,
        app=app,
        default_limits=[str(rate)],
        storage_uri=settings.redis_url or "memory://",
        headers_enabled=True,
        strategy="fixed-window",
    )

    @limiter.request_filter
    def exempt() -> bool:
        return request.endpoint in UNLIMITED_ENDPOINTS or request.endpoint is None

    return limiter
