"""Rate limits that hold as configured: one budget per caller, across routes and workers.

Three budgets, each a fixed window counted with ``limits``:

- ``LABSERVE_RATE_LIMIT`` (e.g. ``600/minute``): requests per caller, every route together
  but health, readiness, metrics and static files. The caller is the API key (or the page
  session's key), else the client address.
- ``LABSERVE_RATE_LIMIT_ROWS`` (e.g. ``100000/minute``): prediction rows per caller; a
  batch costs its rows, a CSV file the rows it holds (charged chunk by chunk before it is
  scored; rows past the budget come back unscored, their ``error`` cell saying why).
- ``LABSERVE_AUTH_FAILURE_LIMIT`` (default ``20/minute``): failed key checks per client
  address, so keys cannot be guessed at full speed; over it, even a right key gets 429.

Counts live in Redis when ``LABSERVE_REDIS_URL`` is set (replicas share them), else in the
storage ``LABSERVE_RATE_LIMIT_STORAGE_URL`` names (``labserve serve`` points its workers at
one shared-memory table in the instance folder), else in this process's memory.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

import labserve.web.limit_storage  # noqa: F401 - registers the labserve+shm storage scheme
from labserve.settings import Settings
from labserve.web.errors import ApiError

EXTENSION_KEY = "labserve.limits"
UNLIMITED_ENDPOINTS = {"health.healthz", "health.readyz", "metrics.scrape", "static"}
#: Routes that score CSV files: their rows are charged while the file is scored.
CSV_ENDPOINTS = {"csv_api.predict_csv", "ui.score_upload"}


@dataclass
class RateLimits:
    """The budgets of one app and the storage they are counted in."""

    limiter: FixedWindowRateLimiter
    requests: RateLimitItem | None
    rows: RateLimitItem | None
    auth_failures: RateLimitItem | None

    @classmethod
    def from_settings(cls, settings: Settings) -> RateLimits:
        url = settings.redis_url or settings.rate_limit_storage_url or "memory://"
        return cls(
            limiter=FixedWindowRateLimiter(storage_from_string(url)),
            requests=parse(settings.rate_limit) if settings.rate_limit else None,
            rows=parse(settings.rate_limit_rows) if settings.rate_limit_rows else None,
            auth_failures=(
                parse(settings.auth_failure_limit) if settings.auth_failure_limit else None
            ),
        )

    def retry_after(self, item: RateLimitItem, *identifiers: str) -> int:
        reset = self.limiter.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset - time.time()))

    def refuse(self, item: RateLimitItem, what: str, *identifiers: str) -> ApiError:
        wait = self.retry_after(item, *identifiers)
        return ApiError(
            429,
            "rate_limited",
            f"rate limit of {item} {what} reached; retry in {wait} s",
            headers={"Retry-After": str(wait)},
        )


def client_address() -> str:
    """The peer's address (behind a proxy, the proxy's unless the app is told otherwise)."""
    return request.remote_addr or "unknown"


def caller_id() -> str:
    """Whose budget a request spends: its key, else its client address."""
    key_name = g.get("api_key_name")
    return f"key:{key_name}" if key_name else f"ip:{client_address()}"


def get_limits() -> RateLimits:
    limits: RateLimits = current_app.extensions[EXTENSION_KEY]
    return limits


# -- failed authentication (called by labserve.web.auth) --------------------------------------
def check_auth_failures() -> None:
    """429 when this address has failed too many key checks lately."""
    limits = get_limits()
    item = limits.auth_failures
    if item is not None and not limits.limiter.test(item, "auth-failures", client_address()):
        raise limits.refuse(item, "failed key checks", "auth-failures", client_address())


def record_auth_failure() -> None:
    limits = get_limits()
    if limits.auth_failures is not None:
        limits.limiter.hit(limits.auth_failures, "auth-failures", client_address())


# -- rows ----------------------------------------------------------------------------------------
def charge_rows(rows: int) -> None:
    """Spend ``rows`` of the caller's row budget; 429 when it does not hold them."""
    limits = get_limits()
    item = limits.rows
    if item is None or rows <= 0:
        return
    caller = caller_id()
    # tested first, so that a refused batch spends nothing (a smaller one may still fit)
    if not limits.limiter.test(item, "rows", caller, cost=rows) or not limits.limiter.hit(
        item, "rows", caller, cost=rows
    ):
        raise limits.refuse(item, "prediction rows", "rows", caller)


def scored_rows_budget(rows: int) -> str | None:
    """``charge_rows`` for a CSV being scored: None when the rows fit, else why they are not
    scored (each such row of the file says so)."""
    try:
        charge_rows(rows)
    except ApiError as exc:
        return f"not scored: {exc.message}"
    return None


def init_limits(app: Flask, settings: Settings) -> RateLimits:
    limits = RateLimits.from_settings(settings)
    app.extensions[EXTENSION_KEY] = limits

    @app.before_request
    def count_request() -> None:
        if request.endpoint in UNLIMITED_ENDPOINTS or request.endpoint is None:
            return
        caller = caller_id()
        if limits.requests is not None and not limits.limiter.hit(
            limits.requests, "requests", caller
        ):
            raise limits.refuse(limits.requests, "requests", "requests", caller)
        if (
            request.endpoint in CSV_ENDPOINTS
            and limits.rows is not None
            and not limits.limiter.test(limits.rows, "rows", caller)
        ):
            raise limits.refuse(limits.rows, "prediction rows", "rows", caller)

    return limits
