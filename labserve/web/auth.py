"""API keys on ``/api/`` routes: ``Authorization: Bearer <key>`` or ``X-API-Key: <key>``.

A presented key must be valid even when keys are optional (a typo should fail loudly, not
fall back to anonymous). With ``LABSERVE_REQUIRE_API_KEY=true`` every API route needs one;
the audit log needs one whenever any key exists.
"""

from __future__ import annotations

from flask import Flask, g, request

from labserve.db import any_keys_exist
from labserve.web.errors import ApiError
from labserve.web.extension import get_settings
from labserve.web.persistence import get_database

AUDIT_ENDPOINTS = {"api.list_audited_predictions"}
CHALLENGE = {"WWW-Authenticate": 'Bearer realm="labserve"'}


def presented_key() -> str | None:
    header = request.headers.get("Authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip() or None
    return request.headers.get("X-API-Key") or None


def caller_name() -> str:
    """Who made this request, for the audit log."""
    name = g.get("api_key_name")
    if name:
        return str(name)
    return "ui" if request.blueprint == "ui" else "anonymous"


def init_auth(app: Flask) -> None:
    @app.before_request
    def check_api_key() -> None:
        if not (request.path == "/api" or request.path.startswith("/api/")):
            return
        key = presented_key()
        database = get_database()
        if key is not None:
            name = database.keys.verify(key)
            if name is None:
                raise ApiError(401, "unauthorized", "invalid or revoked API key", headers=CHALLENGE)
            g.api_key_name = name
            return
        if get_settings().require_api_key or (
            request.endpoint in AUDIT_ENDPOINTS and any_keys_exist(database.engine)
        ):
            raise ApiError(
                401,
                "unauthorized",
                "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                headers=CHALLENGE,
            )
