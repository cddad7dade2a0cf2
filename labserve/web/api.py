"""The JSON API: ``/api/v1`` plus the tutorial's original routes as thin aliases."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, jsonify, request

from labserve.db import list_predictions
from labserve.db.audit import MAX_LIST_LIMIT
from labserve.models.errors import InvalidInput, ModelNotReady
from labserve.web.audit_log import get_audit_log
from labserve.web.extension import get_registry, get_settings
from labserve.web.json_body import read_json_body, require_object
from labserve.web.persistence import get_database
from labserve.web.predicting import (
    PredictionResult,
    get_model,
    predict_envelope,
    predict_rows,
    requested_version,
    whole_number,
)

api = Blueprint("api", __name__, url_prefix="/api/v1")
tutorial_api = Blueprint("tutorial_api", __name__, url_prefix="/api")

#: The models the tutorial's routes always meant (its contract names them).
TUTORIAL_CLASSIFIER = "diagnosis"
TUTORIAL_SUMMARIZER = "summarizer"


@api.get("/models")
def list_models() -> Any:
    return jsonify({"models": [model.info() for model in get_registry()]})


@api.get("/models/<name>")
def model_card(name: str) -> Any:
    return jsonify(get_model(name, requested_version()).card())


@api.get("/models/<name>/versions")
def model_versions(name: str) -> Any:
    """Every stored version, which one is promoted, and what each was added from."""
    store = get_registry().store
    get_registry().get(name)  # unknown model: 404
    promoted = store.promoted(name)
    versions = []
    for version in store.versions(name):
        info = store.info(name, version)
        versions.append(
            {
                "version": version,
                "promoted": version == promoted,
                "kind": info.kind,
                "added_at": info.registration.get("added_at"),
                "source": info.registration.get("source"),
            }
        )
    return jsonify({"model": name, "promoted": promoted, "versions": versions})


@api.post("/models/<name>/predict")
def predict(name: str) -> Any:
    model = get_model(name, requested_version())  # unknown model: 404 before the body is judged
    body = require_object(read_json_body())
    rows, parameters = predict_envelope(body, get_settings().max_batch_rows)
    return jsonify(envelope_answer(predict_rows(model, rows, parameters)))


def envelope_answer(result: PredictionResult) -> dict[str, Any]:
    return {"model": result.model, "version": result.version, "predictions": result.predictions}


@api.get("/predictions")
def list_audited_predictions() -> Any:
    """The audit log: ``?model=&since=<ISO 8601>&limit=`` (newest first, at most 1000)."""
    args = request.args
    limit = whole_number(args.get("limit", "100"), 1, MAX_LIST_LIMIT)
    if limit is None:
        raise InvalidInput(f"limit must be 1 to {MAX_LIST_LIMIT}", field="limit")
    since = None
    if "since" in args:  # empty is an error too, not "no filter": the schema says a date
        try:
            since = datetime.fromisoformat(args["since"])
        except ValueError:
            raise InvalidInput("since must be an ISO 8601 date or time", field="since") from None
        if since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
    database = get_database()
    audit_log = get_audit_log()
    if audit_log is not None:  # an app that ships its own records lists them at once
        audit_log.ship_now()
    records = list_predictions(
        database.engine, model=args.get("model") or None, since=since, limit=limit
    )
    return jsonify({"predictions": records})


@tutorial_api.post("/diagnosis")
def tutorial_diagnosis() -> Any:
    """The tutorial's challenge: one JSON object of six features -> a diagnosis."""
    model = get_model(TUTORIAL_CLASSIFIER, requested_version())
    positive = getattr(model, "positive_class", None)
    if positive is None:
        raise ModelNotReady(model.name, "the tutorial route needs a binary classifier")
    body = require_object(read_json_body())
    return jsonify(diagnosis_answer(predict_rows(model, [body], row_prefix=""), positive))


def diagnosis_answer(result: PredictionResult, positive: str) -> dict[str, Any]:
    """The tutorial's answer: the label and the positive class's probability."""
    first = result.predictions[0]
    return {
        "diagnosis": first["label"],
        "probability_malignant": first["probabilities"][positive],
        "model_version": result.version,
    }


@tutorial_api.post("/prediction")
def tutorial_summary() -> Any:
    """The tutorial's contract: ``{"text", "maxlen", "minlen"}`` -> ``[{"summary_text"}]``."""
    model = get_model(TUTORIAL_SUMMARIZER, requested_version())
    body = require_object(read_json_body())
    row = {"text": body["text"]} if "text" in body else {}
    parameters = {key: value for key, value in body.items() if key != "text"}
    result = predict_rows(model, [row], parameters, row_prefix="", parameter_prefix="")
    return jsonify([{"summary_text": p["summary_text"]} for p in result.predictions])
