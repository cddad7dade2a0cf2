"""The fast lane: a successful JSON prediction answered without Flask's per-request machinery.

Why: a one-row prediction takes the model tens of microseconds, while Flask's request
context, session, URL routing, eight hooks and response object cost several times that
(profiled with py-spy; ``benchmarks/serve.py`` measures both lanes side by side). This WSGI
middleware answers ``POST /api/diagnosis`` and ``POST /api/v1/models/<name>/predict`` itself
when the request is an ordinary one that will succeed, with the same model calls, the same
audit record (journaled before the answer), the same metrics and the same response bytes and
headers as the Flask route.

Everything else goes to the Flask app untouched: other routes, a query string (``?version``),
a cookie (a signed-in page), a missing key when keys are required, a key that fails or lacks
the ``predict`` scope, request or row rate limits (which the Flask hooks count), and any input
the model layer refuses. The lane decides before its first side effect, so a handed-over
request is processed exactly once, by the code that owns its error. The one failure it answers
itself is a refused audit record (503 ``audit_unavailable``): by then the refusal is counted.

Run on the server's event loop (``labserve serve``), the lane stages its record for the turn's
one journal write (``labserve.journal.turns``) and leaves the server a ``DeferredAnswer``: the
answer goes out after that write, or becomes the 503 if the write failed. The prediction and
the request are counted then, by ``settle``, so a refused prediction is never counted as made.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable, Iterable, Sequence
from functools import partial
from io import BytesIO
from typing import Any

from flask import Flask

from labserve.buffered_wsgi import DEFERRED_ANSWER, DeferredAnswer
from labserve.db import AuditRecord
from labserve.models.base import ROW_PREFIX, Prediction, ServedModel
from labserve.web import audit_log as audit_module
from labserve.web import limits as limits_module
from labserve.web import persistence
from labserve.web.api import TUTORIAL_CLASSIFIER, diagnosis_answer, envelope_answer
from labserve.web.auth import key_in
from labserve.web.errors import audit_unavailable_message
from labserve.web.extension import REGISTRY_KEY, SETTINGS_KEY
from labserve.web.json_body import parse_json
from labserve.web.metrics import observe_request, record_predictions
from labserve.web.predicting import (
    PredictionResult,
    audit_record,
    predict_envelope,
    predictions_of,
)
from labserve.web.request_context import REQUEST_ID_HEADER, request_id_from
from labserve.web.security import SECURITY_HEADERS

log = logging.getLogger(__name__)

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
#: Larger bodies (big batches) go to Flask: the lane's saving is per request, not per row.
MAX_BODY_BYTES = 64 * 1024
TUTORIAL_PATH = "/api/diagnosis"
TUTORIAL_RULE = "/api/diagnosis"
ENVELOPE_PATH = re.compile(r"/api/v1/models/([^/]+)/predict")
ENVELOPE_RULE = "/api/v1/models/<name>/predict"
JSON_HEADERS = [("Content-Type", "application/json")]
SECURITY = list(SECURITY_HEADERS.items())
#: Flask's answer to a request without a key reads the (absent) session cookie, so it varies
#: with the cookie; the lane's answer carries the same header.
VARY_COOKIE = [("Vary", "Cookie")]


class _HandOver(Exception):
    """The request is not the lane's: Flask answers it."""


class FastLane:
    """WSGI middleware in front of ``app.wsgi_app`` (see the module docstring)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app = app
        self.wsgi_app = wsgi_app
        extensions = app.extensions
        self.settings = extensions[SETTINGS_KEY]
        self.registry = extensions[REGISTRY_KEY]
        self.audit_log = extensions.get(audit_module.EXTENSION_KEY)
        self.database = extensions.get(persistence.EXTENSION_KEY)
        self.limits = extensions[limits_module.EXTENSION_KEY]
        #: A body Flask would refuse as too large (413) is Flask's to refuse.
        self.max_body_bytes = min(MAX_BODY_BYTES, self.settings.max_content_length)
        #: With request or row budgets every request is counted by Flask's hooks.
        self.open = self.limits.requests is None and self.limits.rows is None

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        answer = self.answer(environ) if self.open else None
        if answer is None:
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        start_response(status, headers)
        return [body]

    def answer(self, environ: dict[str, Any]) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """The whole answer, or None to hand the request over (nothing done yet)."""
        if (
            environ["REQUEST_METHOD"] != "POST"
            or environ.get("QUERY_STRING")
            or "HTTP_COOKIE" in environ
        ):
            return None
        path = environ.get("PATH_INFO", "")
        envelope = None if path == TUTORIAL_PATH else ENVELOPE_PATH.fullmatch(path)
        if envelope is None and path != TUTORIAL_PATH:
            return None
        content_type = environ.get("CONTENT_TYPE", "")
        length = environ.get("CONTENT_LENGTH", "")
        if (
            content_type.partition(";")[0].strip().lower() != "application/json"
            or not length.isdigit()
            or int(length) > self.max_body_bytes
        ):
            return None
        started = time.perf_counter()
        raw = environ["wsgi.input"].read(int(length))
        environ["wsgi.input"] = BytesIO(raw)  # Flask reads it again if the request goes there
        try:
            caller, anonymous = self.caller(environ)
            if envelope is None:
                model = self.model(TUTORIAL_CLASSIFIER)
                positive = getattr(model, "positive_class", None)
                body = parse_json(raw)
                if positive is None or not isinstance(body, dict):
                    raise _HandOver
                rows: Sequence[object] = [body]
                parameters, row_prefix = None, ""
            else:
                model = self.model(envelope.group(1))
                body = parse_json(raw)
                if not isinstance(body, dict):
                    raise _HandOver
                rows, parameters = predict_envelope(body, self.settings.max_batch_rows)
                row_prefix = ROW_PREFIX
            if self.audit_log is not None and self.audit_log.unavailable_reason is not None:
                raise _HandOver  # Flask refuses it, and counts the refusal
            predicted = time.perf_counter()
            predictions = predictions_of(model, rows, parameters, row_prefix)
        except Exception:  # bad input, unknown model, a key to refuse: Flask's to answer
            return None
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
        result = PredictionResult(model.name, model.version, predictions)
        payload = envelope_answer(result) if envelope else diagnosis_answer(result, str(positive))
        rule = ENVELOPE_RULE if envelope else TUTORIAL_RULE
        answer = self.json_answer("200 OK", payload, request_id, anonymous)
        audit_log = self.audit_log
        if audit_log is None:
            made(model.name, predictions, rule, started)
            return answer
        record = audit_record(
            model, rows, parameters, predictions, predicted, caller=caller, request_id=request_id
        )
        finish = partial(self.settle, audit_log, record, predictions, rule, started, anonymous)
        if DEFERRED_ANSWER in environ:
            # On the event loop: the record goes out with this turn's others, then the answer.
            environ[DEFERRED_ANSWER] = DeferredAnswer(audit_log.stage(record), finish)
            return answer
        return finish(audit_log.write(record)) or answer

    def settle(
        self,
        audit_log: audit_module.AuditLog,
        record: AuditRecord,
        predictions: list[Prediction],
        rule: str,
        started: float,
        anonymous: bool,
        reason: str | None,
    ) -> tuple[str, list[tuple[str, str]], bytes] | None:
        """Once the record's journal write is done (``reason`` None) or failed: count the
        prediction and keep the answer (None), or the 503 to send instead (``DeferredAnswer``)."""
        if reason is None or audit_log.answer_without(record, reason):
            made(record.model, predictions, rule, started)
            return None
        observe_request("POST", rule, 503, time.perf_counter() - started)
        return self.refusal(reason, record.request_id, anonymous)

    def refusal(
        self, reason: str, request_id: str, anonymous: bool
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        """503 ``audit_unavailable``: the record cannot be kept (the refusal is counted)."""
        log.error("prediction refused, its audit record cannot be kept: %s", reason)
        payload = {
            "error": "audit_unavailable",
            "message": audit_unavailable_message(reason),
            "field": None,
        }
        return self.json_answer("503 SERVICE UNAVAILABLE", payload, request_id, anonymous)

    def json_answer(
        self, status: str, payload: dict[str, Any], request_id: str, anonymous: bool
    ) -> tuple[str, list[tuple[str, str]], bytes]:
        """The bytes and headers Flask's ``jsonify`` would send for ``payload``."""
        data = f"{self.app.json.dumps(payload, separators=(',', ':'))}\n".encode()
        headers = [
            *JSON_HEADERS,
            ("Content-Length", str(len(data))),
            *SECURITY,
            (REQUEST_ID_HEADER, request_id),
            *(VARY_COOKIE if anonymous else ()),
        ]
        return status, headers, data

    def caller(self, environ: dict[str, Any]) -> tuple[str, bool]:
        """Who calls (for the audit record) and whether anonymously; ``_HandOver`` when the
        key is missing but required, fails, lacks the scope, or the address is locked out."""
        key = key_in(environ.get("HTTP_AUTHORIZATION", ""), environ.get("HTTP_X_API_KEY"))
        if key is None:
            if self.settings.require_api_key:
                raise _HandOver
            return "anonymous", True
        failures = self.limits.auth_failures
        address = environ.get("REMOTE_ADDR") or "unknown"
        if failures is not None and not self.limits.limiter.test(
            failures, "auth-failures", address
        ):
            raise _HandOver
        if self.database is None:
            raise _HandOver
        found = self.database.keys.verify(key)
        if found is None or not found.allows("predict"):
            raise _HandOver
        return str(found.name), False

    def model(self, name: str) -> ServedModel:
        model: ServedModel = self.registry.get(name, None)
        model.require_ready()
        return model


def made(model: str, predictions: list[Prediction], rule: str, started: float) -> None:
    """Count an answered prediction and its request."""
    record_predictions(model, predictions, len(predictions))
    observe_request("POST", rule, 200, time.perf_counter() - started)
