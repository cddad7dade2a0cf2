"""A request id on every response and every log line, and optional JSON logs.

A caller may send ``X-Request-ID`` (kept when it looks like an id); otherwise one is made.
The same id is stored with the audit record, so a log line, a response and an audit row of
one request can be matched.
"""

from __future__ import annotations

import logging
import re
import uuid

from flask import Flask, Response, g, has_request_context, request

REQUEST_ID_HEADER = "X-Request-ID"
ACCEPTABLE_ID = re.compile(r"^[A-Za-z0-9._\-]{1,64}$")


def current_request_id() -> str:
    if has_request_context():
        return str(g.get("request_id", "-"))
    return "-"


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record so formatters can print it."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current_request_id()
        return True


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def configure_logging(log_format: str, level: str) -> None:
    """Text (default) or JSON lines on stderr, each with the request id."""
    handler = logging.StreamHandler()
    handler.addFilter(RequestIdFilter())
    if log_format == "json":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(
            JsonFormatter(
                "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
                rename_fields={"levelname": "level", "asctime": "time"},
            )
        )
    else:
        handler.setFormatter(logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "_labserve", False)]:
        root.removeHandler(old)
    handler._labserve = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level)


def request_id_from(offered: str) -> str:
    """The caller's ``X-Request-ID`` when it looks like an id, else a fresh one."""
    return offered if ACCEPTABLE_ID.match(offered) else uuid.uuid4().hex


def init_request_ids(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER, ""))

    @app.after_request
    def echo_request_id(response: Response) -> Response:
        response.headers[REQUEST_ID_HEADER] = current_request_id()
        return response
