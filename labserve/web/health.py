"""Liveness and readiness, for load balancers and orchestrators (no key needed)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from labserve.web.audit_log import get_audit_log
from labserve.web.extension import get_registry

health = Blueprint("health", __name__)


@health.get("/healthz")
def healthz() -> Any:
    """Cheap: the process is up and answering."""
    return jsonify({"status": "ok"})


@health.get("/readyz")
def readyz() -> Any:
    """200 once every model has loaded and predictions can be audited; 503 with the reason."""
    registry = get_registry()
    statuses = registry.statuses()
    audit_log = get_audit_log()
    audit_problem = audit_log.unavailable_reason if audit_log is not None else None
    if registry.all_ready() and audit_problem is None:
        return jsonify({"status": "ready", "models": statuses})
    waiting = [f"{name}: {status}" for name, status in statuses.items() if status != "ready"]
    if audit_problem is not None:
        waiting.append(f"audit log: {audit_problem}")
    return (
        jsonify({"status": "not_ready", "reason": "; ".join(waiting), "models": statuses}),
        503,
    )
