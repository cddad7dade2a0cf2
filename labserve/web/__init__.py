"""The web layer: the Flask application factory. It adapts HTTP to the model layer only."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from labserve.models.catalog import build_registry
from labserve.web import extension
from labserve.web.auth import init_auth
from labserve.web.config import DEFAULTS, resolve_instance_path
from labserve.web.errors import register_error_handlers
from labserve.web.json_body import parse_json
from labserve.web.limits import init_limits
from labserve.web.metrics import init_metrics
from labserve.web.persistence import init_database
from labserve.web.request_context import configure_logging, init_request_ids
from labserve.web.security import init_security_headers


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, minus the NaN/Infinity tokens Python would otherwise accept."""

    sort_keys = False  # keep the documented field order of responses

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the app: defaults, then ``instance/config.py``, then ``LABSERVE_*``, then tests."""
    instance_path = resolve_instance_path(test_config)
    app = Flask(__name__, instance_path=str(instance_path), instance_relative_config=True)
    app.json = StrictJSONProvider(app)
    app.config.from_mapping(DEFAULTS)
    app.config.from_pyfile("config.py", silent=True)
    app.config.from_prefixed_env("LABSERVE")
    if test_config:
        app.config.update(test_config)
    app.config["INSTANCE_PATH"] = str(instance_path)
    app.debug = False if not app.config.get("DEBUG") else app.debug
    instance_path.mkdir(parents=True, exist_ok=True)

    configure_logging(str(app.config["LOG_FORMAT"]), str(app.config["LOG_LEVEL"]))
    register_error_handlers(app)
    init_request_ids(app)
    init_metrics(app)
    init_database(app)
    init_auth(app)  # before the limiter: limits are counted per key
    init_limits(app)
    init_security_headers(app)

    from labserve.web.api import api, tutorial_api
    from labserve.web.csv_routes import csv_api
    from labserve.web.health import health
    from labserve.web.openapi import openapi
    from labserve.web.ui import ui

    app.register_blueprint(health)
    app.register_blueprint(api)
    app.register_blueprint(csv_api)
    app.register_blueprint(openapi)
    app.register_blueprint(tutorial_api)
    app.register_blueprint(ui)

    registry = build_registry(
        instance_path,
        summarizer_backend=str(app.config["SUMMARIZER_BACKEND"]),
        summarizer_model=app.config["SUMMARIZER_MODEL"],
    )
    extension.init_app(app, registry)
    return app
