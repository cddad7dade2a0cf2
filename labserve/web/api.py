"""The JSON API: ``/api/v1`` plus the tutorial's original routes as thin aliases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request

from labserve.db import list_predictions
from labserve.db.audit import MAX_LIST_LIMIT
from labserve.web.errors import ApiError
from labserve.web.extension import get_registry
from labserve.web.json_body import read_json_body, require_object
from labserve.web.persistence import get_database
from labserve.web.predicting import check_batch_size, get_model, predict_rows

api = Blueprint("api", __name__, url_prefix="/api/v1")
tutorial_api = Blueprint("tutorial_api", __name__, url_prefix="/api")

PREDICT_KEYS = {"inputs", "parameters"}


@api.get("/models")
def list_models() -> Any:
    return jsonify({"models": [model.info() for model in get_registry()]})


@api.get("/models/<name>")
def model_card(name: str) -> Any:
    return jsonify(get_model(name).card())


@api.post("/models/<name>/predict")
def predict(name: str) -> Any:
    get_registry().get(name)  # unknown model: 404 before the body is judged
    body = require_object(read_json_body())
    unknown = sorted(set(body) - PREDICT_KEYS)
    if unknown:
        raise ApiError(422, "invalid_input", f"unknown field {unknown[0]!r}", unknown[0])
    if "inputs" not in body:
        raise ApiError(422, "invalid_input", "inputs: field required", "inputs")
    rows = check_batch_size(body["inputs"])
    parameters = body.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise ApiError(422, "invalid_input", "parameters must be a JSON object", "parameters")
    result = predict_rows(name, rows, parameters)
    return jsonify(
        {"model": result.model, "version": result.version, "predictions": result.predictions}
    )


@api.get("/predictions")
def list_audited_predictions() -> Any:
    """The audit log: ``?model=&since=<ISO 8601>&limit=`` (newest first, at most 1000)."""
    args = request.args
    limit_text = args.get("limit", "100")
    if not limit_text.isdigit() or not 1 <= int(limit_text) <= MAX_LIST_LIMIT:
        raise ApiError(422, "invalid_input", f"limit must be 1 to {MAX_LIST_LIMIT}", "limit")
    since = None
    if args.get("since"):
        try:
            since = datetime.fromisoformat(args["since"])
        except ValueError:
            raise ApiError(
                422, "invalid_input", "since must be an ISO 8601 date or time", "since"
            ) from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    database = get_database()
    database.audit.flush()  # this worker's own recent predictions are listed at once
    records = list_predictions(
        database.engine, model=args.get("model") or None, since=since, limit=int(limit_text)
    )
    return jsonify({"predictions": records})


@tutorial_api.post("/diagnosis")
def tutorial_diagnosis() -> Any:
    """The tutorial's challenge: one JSON object of six features -> a diagnosis."""
    body = require_object(read_json_body())
    result = predict_rows("diagnosis", [body], row_prefix="")
    first = result.predictions[0]
    return jsonify(
        {
            "diagnosis": first["label"],
            "probability_malignant": first["probability_malignant"],
            "model_version": result.version,
        }
    )


@tutorial_api.post("/prediction")
def tutorial_summary() -> Any:
    """The tutorial's contract: ``{"text", "maxlen", "minlen"}`` -> ``[{"summary_text"}]``."""
    body = require_object(read_json_body())
    row = {"text": body["text"]} if "text" in body else {}
    parameters = {key: value for key, value in body.items() if key != "text"}
    result = predict_rows("summarizer", [row], parameters, row_prefix="", parameter_prefix="")
    return jsonify([{"summary_text": p["summary_text"]} for p in result.predictions])
