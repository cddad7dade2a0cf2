"""Reading a JSON request body strictly.

Python's json module accepts ``NaN`` and ``Infinity`` tokens, which are not JSON; a model fed
NaN answers nonsense, so they are refused here before anything else sees the body.
"""

from __future__ import annotations

import json
from typing import Any

from flask import request

from labserve.web.errors import ApiError


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON (numbers must be finite)")


def parse_json(data: bytes | str) -> Any:
    """Decode JSON text, refusing NaN/Infinity tokens; ValueError on anything malformed."""
    try:
        return json.loads(data, parse_constant=_reject_constant)
    except RecursionError:
        raise ValueError("JSON nested too deeply") from None


def read_json_body() -> Any:
    """The request's JSON document, or an ``ApiError`` with a 4xx status."""
    if not request.is_json:
        raise ApiError(
            415,
            "unsupported_media_type",
            f"send JSON with 'Content-Type: application/json' (got {request.mimetype or 'none'})",
        )
    raw = request.get_data(cache=True)
    if not raw.strip():
        raise ApiError(400, "invalid_json", "the request body is empty")
    try:
        return parse_json(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(400, "invalid_json", f"the request body is not valid JSON: {exc}") from None


def require_object(document: Any, what: str = "the request body") -> dict[str, Any]:
    if not isinstance(document, dict):
        raise ApiError(400, "invalid_input", f"{what} must be a JSON object")
    return document
