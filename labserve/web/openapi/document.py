"""The OpenAPI 3.1 document of the HTTP API, and the route that serves it.

Generated at request time from the registry and the settings, so a model's schema and its
documentation can never disagree, and the document says what this server does now: which
statuses it can answer (429 only with a rate limit), whether a key is required. The page at
``/docs`` (``labserve.web.docs``) renders it.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

import labserve
from labserve.db import any_keys_exist
from labserve.db.audit import MAX_LIST_LIMIT
from labserve.settings import Settings
from labserve.web.api import TUTORIAL_CLASSIFIER, TUTORIAL_SUMMARIZER
from labserve.web.extension import get_registry, get_settings
from labserve.web.openapi.components import (
    HEADERS,
    NO_KEY,
    OPTIONAL_KEY,
    REQUIRED_KEY,
    SECURITY_SCHEMES,
    api_responses,
    error_response,
    ok_response,
    ref,
)
from labserve.web.openapi.operations import ModelComponents, ModelOperations
from labserve.web.openapi.schemas import SCHEMAS, Schema
from labserve.web.openapi.tutorial import tutorial_diagnosis, tutorial_summary
from labserve.web.persistence import get_database

openapi = Blueprint("openapi", __name__)

DESCRIPTION = """\
Predictions from the models this server holds, one JSON route per model, plus CSV scoring.

Errors are JSON `{"error", "message", "field"}` with a 4xx status. NaN and Infinity are
refused, also as raw JSON tokens. Every response carries `X-Request-ID`.

API keys (`labserve keys create NAME --scopes ...`) go in `Authorization: Bearer <key>` or
`X-API-Key`. They are optional unless the server runs with `LABSERVE_REQUIRE_API_KEY=true`,
but a key that is sent must be valid and hold the route's scope: `predict` for predictions,
`audit:read` for the audit log (needed as soon as any key exists), `metrics` for `/metrics`
(when keys are required); `admin` holds them all.
"""

TAGS = [
    {"name": "models", "description": "what this server serves"},
    {"name": "tutorial", "description": "the original tutorial's routes, unchanged"},
    {"name": "audit", "description": "the log of predictions"},
    {
        "name": "operations",
        "description": "health and readiness (open, no limit), metrics (the `metrics` scope)",
    },
]


def shared_paths(settings: Settings, security: list[dict[str, list[str]]]) -> Schema:
    """The routes that do not belong to one model."""
    limited = bool(settings.rate_limit)
    keys_exist = security == OPTIONAL_KEY and any_keys_exist(get_database().engine)
    audit_security = REQUIRED_KEY if keys_exist else security
    since = {"type": "string", "anyOf": [{"format": "date"}, {"format": "date-time"}]}
    return {
        "/api/v1/models": {
            "get": {
                "tags": ["models"],
                "operationId": "list_models",
                "summary": "List models with their promoted version and input schema",
                "security": security,
                "responses": api_responses(ok_response(ref("ModelList")), limited=limited),
            }
        },
        "/api/v1/predictions": {
            "get": {
                "tags": ["audit"],
                "operationId": "list_predictions",
                "summary": "The audit log, newest first",
                "description": "Needs a key once any key exists.",
                "security": audit_security,
                "parameters": [
                    {
                        "name": "model",
                        "in": "query",
                        "description": "only this model's records (empty: every model)",
                        "schema": {"type": "string"},
                    },
                    {
                        "name": "since",
                        "in": "query",
                        "description": "only records at or after this ISO 8601 date or time "
                        "(UTC unless it has an offset)",
                        "schema": since,
                        "examples": {"a day": {"value": "2026-01-31"}},
                    },
                    {
                        "name": "limit",
                        "in": "query",
                        "description": "at most this many records",
                        "schema": {
                            "type": "integer",
                            "minimum": 1,
                            "maximum": MAX_LIST_LIMIT,
                            "default": 100,
                        },
                    },
                ],
                "responses": api_responses(
                    ok_response(ref("AuditList")), 403, 422, limited=limited
                ),
            }
        },
        "/api/v1/openapi.json": {
            "get": {
                "tags": ["models"],
                "operationId": "openapi",
                "summary": "This document",
                "security": security,
                "responses": api_responses(
                    ok_response(
                        {"type": "object", "required": ["openapi", "info", "paths"]},
                        "OpenAPI 3.1",
                    ),
                    limited=limited,
                ),
            }
        },
        "/healthz": {
            "get": {
                "tags": ["operations"],
                "operationId": "healthz",
                "summary": "Liveness: the process answers",
                "security": NO_KEY,
                "responses": {"200": ok_response(ref("Health"))},
            }
        },
        "/readyz": {
            "get": {
                "tags": ["operations"],
                "operationId": "readyz",
                "summary": "Readiness: 200 once every model has loaded",
                "security": NO_KEY,
                "responses": {
                    "200": ok_response(ref("Readiness"), "every model is ready"),
                    "503": ok_response(ref("Readiness"), "a model is not ready; `reason` says why"),
                },
            }
        },
        "/metrics": {
            "get": {
                "tags": ["operations"],
                "operationId": "metrics",
                "summary": "Prometheus metrics (text format), aggregated over workers",
                "description": "Open unless keys are required; then a key with the `metrics` "
                "scope. Never rate limited.",
                "security": security,
                "responses": {
                    "200": ok_response({"type": "string"}, "Prometheus text format", "text/plain"),
                    "401": error_response(401),
                    "403": error_response(403),
                },
            }
        },
    }


def build_spec(settings: Settings) -> dict[str, Any]:
    """The whole document, for the models served now."""
    registry = get_registry()
    security = REQUIRED_KEY if settings.require_api_key else OPTIONAL_KEY
    schemas: Schema = dict(SCHEMAS)
    components = ModelComponents(schemas)
    paths = shared_paths(settings, security)
    tags = list(TAGS)
    for model in registry:
        if not model.ready:
            continue
        operations = ModelOperations(
            model,
            components,
            max_batch_rows=settings.max_batch_rows,
            security=security,
            limited=bool(settings.rate_limit),
        )
        paths.update(operations.paths())
        tags.append({"name": model.name, "description": model.title})
        if model.name == TUTORIAL_CLASSIFIER:
            diagnosis = tutorial_diagnosis(operations)
            if diagnosis is not None:
                paths["/api/diagnosis"] = {"post": diagnosis}
        if model.name == TUTORIAL_SUMMARIZER:
            summary = tutorial_summary(operations)
            if summary is not None:
                paths["/api/prediction"] = {"post": summary}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "labserve",
            "version": labserve.__version__,
            "description": DESCRIPTION,
        },
        "tags": tags,
        "paths": paths,
        "components": {
            "schemas": schemas,
            "headers": HEADERS,
            "securitySchemes": SECURITY_SCHEMES,
        },
    }


@openapi.get("/api/v1/openapi.json")
def openapi_document() -> Any:
    return jsonify(build_spec(get_settings()))
