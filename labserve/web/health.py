"""Liveness and readiness, for load balancers and orchestrators (no key needed)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from labserve.web.extension import get_registry

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Any:
    """Cheap: the process is up and answering."""
    return jsonify({"status": "ok"})


@health.get("/readyz")
def readyz() -> Any:
    """200 once every configured model has loaded; 503 with the reason until then."""
    registry = get_registry()
    statuses = registry.statuses()
    if registry.all_ready():
        return jsonify({"status": "ready", "models": statuses})
    waiting = [f"{name}: {status}" for name, status in statuses.items() if status != "ready"]
    return (
        jsonify({"status": "not_ready", "reason": "; ".join(waiting), "models": statuses}),
        503,
    )
