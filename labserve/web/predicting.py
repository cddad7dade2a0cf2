"""Running a prediction on behalf of a request: the one place API, UI and tutorial routes share.

Auditing and metrics hook in here, so every surface is recorded the same way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app

from labserve.db import AuditRecord
from labserve.models.base import PARAMETER_PREFIX, ROW_PREFIX, Prediction, ServedModel
from labserve.web.auth import caller_name
from labserve.web.errors import ApiError
from labserve.web.extension import get_registry
from labserve.web.metrics import record_predictions
from labserve.web.persistence import get_database
from labserve.web.request_context import current_request_id


@dataclass(frozen=True)
class PredictionResult:
    model: str
    version: str
    predictions: list[Prediction]


def get_model(name: str) -> ServedModel[Any]:
    """The named model, loaded; ModelNotFound / ModelNotReady otherwise."""
    model = get_registry().get(name)
    model.require_ready()
    return model


def check_batch_size(rows: object, field: str = "inputs") -> Sequence[object]:
    if not isinstance(rows, list):
        raise ApiError(422, "invalid_input", f"{field} must be a JSON array of objects", field)
    if not rows:
        raise ApiError(422, "invalid_input", f"{field} must hold at least one row", field)
    limit = int(current_app.config["MAX_BATCH_ROWS"])
    if len(rows) > limit:
        raise ApiError(
            422, "invalid_input", f"{field} holds {len(rows)} rows; the limit is {limit}", field
        )
    return rows


def predict_rows(
    name: str,
    rows: Sequence[object],
    parameters: Mapping[str, Any] | None = None,
    *,
    row_prefix: str = ROW_PREFIX,
    parameter_prefix: str = PARAMETER_PREFIX,
) -> PredictionResult:
    """Validate and predict ``rows`` with the named model; count and audit the result."""
    started = time.perf_counter()
    model = get_model(name)
    valid = model.validate(rows, row_prefix=row_prefix)
    params = model.validate_parameters(parameters, field_prefix=parameter_prefix)
    predictions = model.predict_valid(valid, params)
    record_predictions(model.name, predictions, len(valid))
    if current_app.config["AUDIT"]:
        audit(model, rows, parameters, predictions, started)
    return PredictionResult(model=model.name, version=model.version, predictions=predictions)


def audit(
    model: ServedModel[Any],
    rows: Sequence[object],
    parameters: Mapping[str, Any] | None,
    predictions: list[Prediction],
    started: float,
) -> None:
    """Queue the audit record (the database write happens off the request thread)."""
    get_database().audit.submit(
        AuditRecord(
            model=model.name,
            model_version=model.version,
            caller=caller_name(),
            request_id=current_request_id(),
            inputs={"rows": rows, "parameters": parameters} if parameters else rows,
            outputs=predictions,
            latency_ms=(time.perf_counter() - started) * 1000,
            rows=len(predictions),
        )
    )
