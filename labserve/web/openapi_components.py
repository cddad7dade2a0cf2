"""The parts of the OpenAPI document that every model shares: schemas, headers, answers.

Kept apart from the per-model operations (``openapi_models``) so that each schema here can be
read against the one route that produces it. Every schema states exactly what the server
answers: the contract test (``tests/test_api_contract.py``) runs Schemathesis against a live
server and fails on any difference.
"""

from __future__ import annotations

from typing import Any

from labserve.db.audit import MAX_LIST_LIMIT
from labserve.web.predicting import MAX_VERSION
from labserve.web.request_context import REQUEST_ID_HEADER

Schema = dict[str, Any]

#: What each error status means on this server; the descriptions are shown in the docs.
ERROR_STATUSES: dict[int, str] = {
    400: "the body is not JSON, is empty, or is not a JSON object",
    401: "the API key is missing (when keys are required) or invalid or revoked",
    404: "no such model or version",
    413: "the body is larger than LABSERVE_MAX_CONTENT_LENGTH",
    415: "the Content-Type is not one this route reads",
    422: "a value is invalid; `field` names it",
    429: "rate limited (LABSERVE_RATE_LIMIT); retry after `Retry-After` seconds",
    503: "the model has not loaded (still loading, or its artifact failed)",
}

#: One typical answer per error status, as the docs show it.
ERROR_EXAMPLES: dict[int, tuple[str, str, str | None]] = {
    400: ("invalid_json", "the request body is not valid JSON: Expecting value", None),
    401: ("unauthorized", "invalid or revoked API key", None),
    404: ("model_not_found", "model 'diagnosis' has no version '7'", None),
    413: ("payload_too_large", "The data value transmitted exceeds the capacity limit.", None),
    415: (
        "unsupported_media_type",
        "send JSON with 'Content-Type: application/json' (got text/plain)",
        None,
    ),
    422: ("invalid_input", "inputs[0].radius_mean: must be at least 0.0", "inputs[0].radius_mean"),
    429: ("rate_limited", "600 per 1 minute", None),
    503: ("model_not_ready", "model 'diagnosis' is not ready: loading", None),
}

#: Optional keys: anonymous calls are accepted, and a key that is sent must be valid.
OPTIONAL_KEY: list[dict[str, list[str]]] = [{}, {"bearer": []}, {"apiKey": []}]
REQUIRED_KEY: list[dict[str, list[str]]] = [{"bearer": []}, {"apiKey": []}]
NO_KEY: list[dict[str, list[str]]] = []

SECURITY_SCHEMES: Schema = {
    "bearer": {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key made by `labserve keys create NAME`: "
        "`Authorization: Bearer lsk_...`.",
    },
    "apiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "The same API key in the `X-API-Key` header.",
    },
}

HEADERS: Schema = {
    "RequestId": {
        "description": "the request id (yours, if you sent a valid `X-Request-ID`); it is "
        "also in the log lines and the audit record of this request",
        "required": True,
        "schema": {"type": "string", "pattern": "^[A-Za-z0-9._\\-]{1,64}$"},
    },
    "RetryAfter": {
        "description": "seconds until the limit resets",
        "required": True,
        "schema": {"type": "integer", "minimum": 0},
    },
    "WWWAuthenticate": {
        "description": "the authentication scheme",
        "required": True,
        "schema": {"type": "string", "const": 'Bearer realm="labserve"'},
    },
}

ERROR: Schema = {
    "type": "object",
    "description": "Every error of the API has this shape.",
    "required": ["error", "message", "field"],
    "additionalProperties": False,
    "properties": {
        "error": {"type": "string", "description": "short machine-readable code"},
        "message": {"type": "string", "description": "what is wrong, for a person"},
        "field": {"type": ["string", "null"], "description": "the input at fault, if any"},
    },
}

WARNINGS: Schema = {
    "type": "array",
    "description": "inputs outside the training range (accepted, but flagged)",
    "items": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
}

MODEL_INFO: Schema = {
    "type": "object",
    "required": [
        "name",
        "title",
        "summary",
        "kind",
        "capability",
        "version",
        "status",
        "input_schema",
    ],
    "properties": {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "kind": {"type": "string", "description": "how it is served: sklearn, onnx, ..."},
        "capability": {"type": "string", "description": "tabular or text"},
        "version": {"type": "string", "description": "the promoted version"},
        "status": {
            "type": "string",
            "description": "`ready`, `loading` or `failed: <reason>`",
        },
        "input_schema": {
            "type": ["object", "null"],
            "description": "JSON Schema of one input row (as in the predict route)",
        },
    },
}

MODEL_LIST: Schema = {
    "type": "object",
    "required": ["models"],
    "properties": {
        "models": {"type": "array", "items": {"$ref": "#/components/schemas/ModelInfo"}}
    },
}

MODEL_CARD: Schema = {
    "type": "object",
    "description": "metadata.json of the version as stored, plus how it is served. Keys "
    "beyond these depend on the kind of model and on how it was saved (metrics, "
    "feature_importances, libraries, ...).",
    "required": ["name", "version", "kind", "capability", "title", "registration"],
    "properties": {
        "name": {"type": "string"},
        "version": {"type": "string"},
        "kind": {"type": "string"},
        "capability": {"type": "string"},
        "title": {"type": "string"},
        "registration": {
            "type": "object",
            "description": "when and from what this version was added to the store",
            "properties": {
                "added_at": {"type": "string"},
                "source": {"type": "string"},
                "version": {"type": "string"},
            },
        },
        "metrics": {"type": "object", "description": "cross-validated and held-out metrics"},
    },
}

NUMBER_FEATURE: Schema = {
    "type": "object",
    "required": [
        "name",
        "type",
        "label",
        "unit",
        "description",
        "minimum",
        "maximum",
        "training_min",
        "training_max",
        "integer",
    ],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "type": {"const": "number"},
        "label": {"type": "string"},
        "unit": {"type": "string"},
        "description": {"type": "string"},
        "minimum": {"type": ["number", "null"], "description": "hard limit (refused below)"},
        "maximum": {"type": ["number", "null"], "description": "hard limit (refused above)"},
        "training_min": {"type": ["number", "null"], "description": "warned below"},
        "training_max": {"type": ["number", "null"], "description": "warned above"},
        "integer": {"type": "boolean", "description": "only whole numbers were seen"},
    },
}

CATEGORY_FEATURE: Schema = {
    "type": "object",
    "required": ["name", "type", "label", "unit", "description", "categories"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string"},
        "type": {"const": "category"},
        "label": {"type": "string"},
        "unit": {"type": "string"},
        "description": {"type": "string"},
        "categories": {"type": "array", "description": "the values it takes (empty: any text)"},
    },
}

TABULAR_CARD: Schema = {
    "allOf": [
        {"$ref": "#/components/schemas/ModelCard"},
        {
            "type": "object",
            "required": ["features"],
            "properties": {
                "task": {"enum": ["classification", "regression"]},
                "classes": {"type": "array"},
                "features": {
                    "type": "array",
                    "items": {
                        "oneOf": [
                            {"$ref": "#/components/schemas/NumberFeature"},
                            {"$ref": "#/components/schemas/CategoryFeature"},
                        ]
                    },
                },
                "examples": {
                    "type": "object",
                    "description": "typical cases (per class), each an input row",
                    "additionalProperties": {"type": "object"},
                },
            },
        },
    ]
}

VERSION_LIST: Schema = {
    "type": "object",
    "required": ["model", "promoted", "versions"],
    "properties": {
        "model": {"type": "string"},
        "promoted": {"type": ["string", "null"], "description": "the version served by default"},
        "versions": {
            "type": "array",
            "description": "oldest first",
            "items": {
                "type": "object",
                "required": ["version", "promoted", "kind", "added_at", "source"],
                "properties": {
                    "version": {"type": "string"},
                    "promoted": {"type": "boolean"},
                    "kind": {"type": "string"},
                    "added_at": {"type": ["string", "null"], "description": "ISO 8601"},
                    "source": {"type": ["string", "null"], "description": "what it was added from"},
                },
            },
        },
    },
}

AUDIT_RECORD: Schema = {
    "type": "object",
    "required": [
        "id",
        "created_at",
        "model",
        "model_version",
        "caller",
        "request_id",
        "rows",
        "inputs",
        "inputs_sha256",
        "outputs",
        "latency_ms",
    ],
    "properties": {
        "id": {"type": "integer"},
        "created_at": {"type": "string", "description": "ISO 8601, UTC"},
        "model": {"type": "string"},
        "model_version": {"type": "string"},
        "caller": {"type": "string", "description": "key name, `ui` or `anonymous`"},
        "request_id": {"type": "string"},
        "rows": {"type": "integer", "minimum": 0},
        "inputs": {
            "description": "the inputs as sent; null when LABSERVE_AUDIT_INPUTS=hash; for a "
            "CSV file its sha256 and row count",
        },
        "inputs_sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
        "outputs": {"description": "the predictions (for a CSV file, the label counts)"},
        "latency_ms": {"type": "number", "minimum": 0},
    },
}

AUDIT_LIST: Schema = {
    "type": "object",
    "required": ["predictions"],
    "properties": {
        "predictions": {
            "type": "array",
            "maxItems": MAX_LIST_LIMIT,
            "items": {"$ref": "#/components/schemas/AuditRecord"},
        }
    },
}

HEALTH: Schema = {
    "type": "object",
    "required": ["status"],
    "additionalProperties": False,
    "properties": {"status": {"const": "ok"}},
}

READINESS: Schema = {
    "type": "object",
    "required": ["status", "models"],
    "properties": {
        "status": {"enum": ["ready", "not_ready"]},
        "reason": {"type": "string", "description": "which models are not ready, and why"},
        "models": {
            "type": "object",
            "description": "the status of each model",
            "additionalProperties": {"type": "string"},
        },
    },
}

SCHEMAS: Schema = {
    "Error": ERROR,
    "Warnings": WARNINGS,
    "ModelInfo": MODEL_INFO,
    "ModelList": MODEL_LIST,
    "ModelCard": MODEL_CARD,
    "NumberFeature": NUMBER_FEATURE,
    "CategoryFeature": CATEGORY_FEATURE,
    "TabularCard": TABULAR_CARD,
    "VersionList": VERSION_LIST,
    "AuditRecord": AUDIT_RECORD,
    "AuditList": AUDIT_LIST,
    "Health": HEALTH,
    "Readiness": READINESS,
}

VERSION_PARAMETER: Schema = {
    "name": "version",
    "in": "query",
    "required": False,
    "description": "a stored version to use instead of the promoted one (see `/versions`)",
    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_VERSION},
}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def request_id_header() -> Schema:
    return {REQUEST_ID_HEADER: {"$ref": "#/components/headers/RequestId"}}


def error_response(status: int) -> Schema:
    """The JSON error answer of one status, with the headers that come with it."""
    headers = request_id_header()
    if status == 401:
        headers["WWW-Authenticate"] = {"$ref": "#/components/headers/WWWAuthenticate"}
    if status == 429:
        headers["Retry-After"] = {"$ref": "#/components/headers/RetryAfter"}
    code, message, field = ERROR_EXAMPLES[status]
    example = {"error": code, "message": message, "field": field}
    return {
        "description": ERROR_STATUSES[status],
        "headers": headers,
        "content": {"application/json": {"schema": ref("Error"), "example": example}},
    }


def api_responses(ok: Schema, *statuses: int, limited: bool) -> Schema:
    """The answers of an ``/api/`` route: OK, the given errors, 401 (a key that is sent must
    be valid) and, when rate limits are on, 429."""
    errors = {401, *statuses} | ({429} if limited else set())
    return {"200": ok, **{str(s): error_response(s) for s in sorted(errors)}}


def ok_response(
    schema: Schema,
    description: str = "OK",
    media_type: str = "application/json",
    examples: Schema | None = None,
) -> Schema:
    content: Schema = {"schema": schema}
    if examples:
        content["examples"] = examples
    return {
        "description": description,
        "headers": request_id_header(),
        "content": {media_type: content},
    }


def json_request_body(schema: Schema, examples: Schema | None = None) -> Schema:
    content: Schema = {"schema": schema}
    if examples:
        content["examples"] = examples
    return {"required": True, "content": {"application/json": content}}
