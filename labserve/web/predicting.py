"""Running a prediction on behalf of a request: the one place API, UI and tutorial routes share.

Auditing and metrics hook in here, so every surface is recorded the same way.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flask import request

from labserve.db import AuditRecord
from labserve.models.base import PARAMETER_PREFIX, ROW_PREFIX, Prediction, ServedModel
from labserve.models.errors import InvalidInput
from labserve.web.audit_log import get_audit_log
from labserve.web.auth import caller_name
from labserve.web.extension import get_registry
from labserve.web.limits import charge_rows  # issue 13: rows count against the row budget
from labserve.web.metrics import record_predictions
from labserve.web.request_context import current_request_id


@dataclass(frozen=True)
class PredictionResult:
    model: str
    version: str
    predictions: list[Prediction]


#: The fields of a ``/api/v1/models/<name>/predict`` body.
PREDICT_KEYS = {"inputs", "parameters"}
#: The largest version number a request may name (the API documentation says so).
MAX_VERSION = 999_999_999


def whole_number(text: str, low: int, high: int) -> int | None:
    """``text`` as a whole number from ``low`` to ``high``, else None.

    ASCII digits only: ``"²".isdigit()`` is true but ``int("²")`` fails, and a number of
    thousands of digits is refused before ``int`` would raise on it.
    """
    digits = text.lstrip("0") or "0"
    if not (text.isascii() and text.isdigit()) or len(digits) > len(str(high)):
        return None
    value = int(digits)
    return value if low <= value <= high else None


def requested_version() -> str | None:
    """``?version=N`` pins a stored version; without it the promoted version answers."""
    version = request.args.get("version")
    if version is None:
        return None
    number = whole_number(version, 1, MAX_VERSION)
    if number is None:
        raise InvalidInput(
            f"version must be a whole number from 1 to {MAX_VERSION} (a stored version)",
            field="version",
        )
    return str(number)


def get_model(name: str, version: str | None = None) -> ServedModel:
    """The named model (its pinned version, if any), loaded; ModelNotFound / ModelNotReady."""
    model = get_registry().get(name, version)
    model.require_ready()
    return model


def checked_rows(rows: object, limit: int, field: str = "inputs") -> Sequence[object]:
    """``rows`` if it is a non-empty JSON array of at most ``limit`` rows; else InvalidInput."""
    if not isinstance(rows, list):
        raise InvalidInput(f"{field} must be a JSON array of objects", field=field)
    if not rows:
        raise InvalidInput(f"{field} must hold at least one row", field=field)
    if len(rows) > limit:
        raise InvalidInput(f"{field} holds {len(rows)} rows; the limit is {limit}", field=field)
    return rows


def predict_envelope(
    body: Mapping[str, Any], max_rows: int
) -> tuple[Sequence[object], dict[str, Any] | None]:
    """The rows and parameters of a ``{"inputs", "parameters"}`` body; else InvalidInput."""
    unknown = sorted(set(body) - PREDICT_KEYS)
    if unknown:
        raise InvalidInput(f"unknown field {unknown[0]!r}", field=unknown[0])
    if "inputs" not in body:
        raise InvalidInput("inputs: field required", field="inputs")
    rows = checked_rows(body["inputs"], max_rows)
    parameters = body.get("parameters")
    if parameters is not None and not isinstance(parameters, dict):
        raise InvalidInput("parameters must be a JSON object", field="parameters")
    return rows, parameters


def predict_rows(
    model: ServedModel,
    rows: Sequence[object],
    parameters: Mapping[str, Any] | None = None,
    *,
    row_prefix: str = ROW_PREFIX,
    parameter_prefix: str = PARAMETER_PREFIX,
) -> PredictionResult:
    """Validate and predict ``rows`` with ``model``; count and audit the result."""
    charge_rows(len(rows))  # issue 13: 429 when the caller's row budget cannot hold them
    started = time.perf_counter()
    predictions = predictions_of(model, rows, parameters, row_prefix, parameter_prefix)
    # The record is journaled before the answer goes out (JournalUnavailable if not), and only
    # then are the predictions counted: a refused prediction is not counted as made.
    audit_log = get_audit_log()
    if audit_log is not None:
        audit_log.record(
            audit_record(
                model,
                rows,
                parameters,
                predictions,
                started,
                caller=caller_name(),
                request_id=current_request_id(),
            )
        )
    record_predictions(model.name, predictions, len(predictions))
    return PredictionResult(model=model.name, version=model.version, predictions=predictions)


def predictions_of(
    model: ServedModel,
    rows: Sequence[object],
    parameters: Mapping[str, Any] | None,
    row_prefix: str = ROW_PREFIX,
    parameter_prefix: str = PARAMETER_PREFIX,
) -> list[Prediction]:
    """The model's answer for ``rows``, with no side effect (InvalidInput on a bad row)."""
    valid = model.validate(rows, row_prefix=row_prefix)
    params = model.validate_parameters(parameters, field_prefix=parameter_prefix)
    return model.predict_valid(valid, params)


def audit_record(
    model: ServedModel,
    rows: Sequence[object],
    parameters: Mapping[str, Any] | None,
    predictions: list[Prediction],
    started: float,
    *,
    caller: str,
    request_id: str,
) -> AuditRecord:
    """The audit record of a prediction that began at ``started`` (``time.perf_counter``)."""
    return AuditRecord(
        model=model.name,
        model_version=model.version,
        caller=caller,
        request_id=request_id,
        inputs={"rows": rows, "parameters": parameters} if parameters else rows,
        outputs=predictions,
        latency_ms=(time.perf_counter() - started) * 1000,
        rows=len(predictions),
    )
