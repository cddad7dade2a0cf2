"""The building blocks of operations: error answers, security, headers, the version query.

Which statuses a route documents is decided by the route (``api_responses``); what each status
means and how its answer looks is decided here, once.
"""

from __future__ import annotations

from labserve.web.openapi.schemas import Schema
from labserve.web.predicting import MAX_VERSION
from labserve.web.request_context import REQUEST_ID_HEADER

#: What each error status means on this server; the descriptions are shown in the docs.
ERROR_STATUSES: dict[int, str] = {
    400: "the body is not JSON, is empty, or is not a JSON object",
    401: "the API key is missing (when keys are required) or invalid or revoked",
    403: "the API key lacks the scope this route needs (`predict`; `audit:read` for the "
    "audit log, `metrics` for /metrics)",
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
    403: ("forbidden", "this key lacks the 'predict' scope", None),
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
