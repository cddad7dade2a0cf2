"""Turning errors into HTTP, in one place.

API errors are JSON ``{"error": code, "message": text, "field": name-or-null}``; pages get an
HTML page. A 500 says nothing internal: the traceback goes to the log only.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, jsonify, render_template, request
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from labserve.journal import DatabaseUnavailable, JournalUnavailable
from labserve.models.errors import ArtifactError, InvalidInput, ModelNotFound, ModelNotReady

log = logging.getLogger(__name__)


class ApiError(Exception):
    """An HTTP error to report as JSON, raised by the web layer itself."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.field = field
        self.headers = headers or {}


def wants_json() -> bool:
    """API paths (and clients that only accept JSON) get JSON errors; people get pages."""
    if request.path in ("/api", "/metrics") or request.path.startswith("/api/"):
        return True  # programs: the API and the Prometheus scrape
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return best == "application/json" and not request.accept_mimetypes.accept_html


def audit_unavailable_message(reason: str) -> str:
    return f"the audit log cannot record this prediction ({reason}); nothing was answered"


def error_response(
    status: int, code: str, message: str, field: str | None = None
) -> tuple[Response | str, int]:
    if wants_json():
        return jsonify({"error": code, "message": message, "field": field}), status
    return render_template("error.html", status=status, code=code, message=message), status


HTTP_CODES: dict[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def register_error_handlers(app: Flask) -> None:
    @app.errorhandler(ApiError)
    def api_error(exc: ApiError) -> Any:
        response = app.make_response(error_response(exc.status, exc.code, exc.message, exc.field))
        response.headers.update(exc.headers)
        return response

    @app.errorhandler(InvalidInput)
    def invalid_input(exc: InvalidInput) -> Any:
        return error_response(422, exc.code, exc.message, exc.field)

    @app.errorhandler(ModelNotFound)
    def model_not_found(exc: ModelNotFound) -> Any:
        return error_response(404, exc.code, exc.message, None)

    @app.errorhandler(ModelNotReady)
    def model_not_ready(exc: ModelNotReady) -> Any:
        return error_response(503, exc.code, str(exc), None)

    @app.errorhandler(ArtifactError)
    def artifact_error(exc: ArtifactError) -> Any:
        log.error("artifact error: %s", exc)
        return error_response(503, exc.code, "the model's artifact could not be used", None)

    @app.errorhandler(JournalUnavailable)
    def audit_unavailable(exc: JournalUnavailable) -> Any:
        log.error("prediction refused, its audit record cannot be kept: %s", exc.reason)
        return error_response(503, "audit_unavailable", audit_unavailable_message(exc.reason), None)

    @app.errorhandler(DatabaseUnavailable)
    @app.errorhandler(SQLAlchemyError)
    def database_unavailable(exc: Exception) -> Any:
        log.error("database unavailable on %s %s: %s", request.method, request.path, exc)
        return error_response(503, "database_unavailable", "the database is unavailable", None)

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException) -> Any:
        status = exc.code or 500
        message = exc.description or exc.name
        if status == 404:
            message = f"no such URL: {request.path}"
        elif status == 405:
            message = f"{request.method} is not allowed on {request.path}"
        body, status = error_response(status, HTTP_CODES.get(status, "http_error"), message)
        response = app.make_response((body, status))
        # keep the exception's own headers (Allow on 405, Retry-After on 429, ...)
        for name, value in exc.get_headers():
            if name.lower() != "content-type":
                response.headers[name] = value
        return response

    @app.errorhandler(Exception)
    def unexpected(exc: Exception) -> Any:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return error_response(500, "internal_error", "internal server error; see the server log")
