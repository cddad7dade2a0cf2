"""The web layer: the Flask application factory. It adapts HTTP to the model layer only."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider

from labserve.settings import Settings
from labserve.web import extension
from labserve.web.audit_log import close_audit_log, init_audit_log
from labserve.web.auth import init_auth
from labserve.web.errors import register_error_handlers
from labserve.web.json_body import parse_json
from labserve.web.limits import init_limits
from labserve.web.metrics import init_metrics
from labserve.web.persistence import close_database, init_database
from labserve.web.request_context import configure_logging, init_request_ids
from labserve.web.security import init_security_headers
from labserve.web.sessions import init_sessions


class StrictJSONProvider(DefaultJSONProvider):
    """Flask's JSON, minus the NaN/Infinity tokens Python would otherwise accept or write.

    A model can answer a non-finite number (a regressor fed values far outside its training
    range); it goes out as ``null``, which JSON parsers read, never as ``NaN``.
    """

    sort_keys = False  # keep the documented field order of responses

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        return parse_json(s)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        try:
            return super().dumps(obj, allow_nan=False, **kwargs)
        except ValueError:
            return super().dumps(finite_or_null(obj), allow_nan=False, **kwargs)


def finite_or_null(value: Any) -> Any:
    """``value`` with every NaN or infinite float replaced by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_null(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [finite_or_null(item) for item in value]
    return value


class LabserveFlask(Flask):
    """Flask, minus a per-request cost: whether a hook or view is a coroutine function is
    looked up once per function (Flask asks ``inspect`` on every call of every hook)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync: dict[Any, Any] = {}

    def ensure_sync(self, func: Any) -> Any:
        try:
            return self._sync[func]
        except KeyError:
            made = self._sync[func] = super().ensure_sync(func)
            return made
        except TypeError:  # an unhashable callable: ask every time
            return super().ensure_sync(func)


def create_app(config: Settings | Mapping[str, Any] | None = None) -> Flask:
    """Build the app from one ``Settings`` (read now from defaults, ``instance/config.py``
    and ``LABSERVE_*`` unless given); keys of a mapping override them, and keys that are not
    settings (``TESTING``) go to Flask's own config."""
    settings = config if isinstance(config, Settings) else Settings.load(config)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    app = LabserveFlask(__name__, instance_path=str(settings.instance_path))
    app.json = StrictJSONProvider(app)
    app.config["MAX_CONTENT_LENGTH"] = settings.max_content_length
    if isinstance(config, Mapping):
        app.config.update(
            {k: v for k, v in config.items() if k.lower() not in Settings.model_fields}
        )
    app.debug = False
    app.extensions[extension.SETTINGS_KEY] = settings

    configure_logging(settings.log_format, settings.log_level)
    register_error_handlers(app)
    init_request_ids(app)
    init_metrics(app)
    init_database(app, settings)
    init_audit_log(app, settings)
    init_auth(app)  # before the limiter: limits are counted per key
    init_limits(app, settings)
    init_sessions(app, settings)  # its CSRF check runs after both: a 401/429 comes first
    init_security_headers(app)

    from labserve.web.api import api, tutorial_api
    from labserve.web.csv_routes import csv_api
    from labserve.web.docs import docs
    from labserve.web.health import health
    from labserve.web.login import login
    from labserve.web.openapi import openapi
    from labserve.web.ui import ui

    app.register_blueprint(health)
    app.register_blueprint(api)
    app.register_blueprint(csv_api)
    app.register_blueprint(openapi)
    app.register_blueprint(tutorial_api)
    app.register_blueprint(ui)
    app.register_blueprint(login)
    app.register_blueprint(docs)

    extension.init_app(app, settings)
    if settings.fast_lane:
        from labserve.web.fast_lane import FastLane

        app.wsgi_app = FastLane(app, app.wsgi_app)  # type: ignore[method-assign]
    return app


def close_app(app: Flask) -> None:
    """Stop what the app started (the store watcher, the audit writer, database pools)."""
    registry = app.extensions.get(extension.REGISTRY_KEY)
    if registry is not None:
        registry.close()
    close_audit_log(app)
    close_database(app)


def app_from_settings(settings: Settings) -> Flask:
    """The WSGI app of one production worker (granian calls this in each worker process).

    A forked worker inherits the server's signal handlers, which only set a flag in the
    parent: a SIGTERM while the worker loads its models would be lost, and the shutdown would
    wait for the worker to be killed. Until granian installs the worker's own handlers (right
    after this returns), SIGTERM ends a loading worker at once; it has no request yet.
    """
    import gc
    import signal

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, signal.SIG_DFL)
    app = create_app(settings)
    # The ~400,000 objects of the loaded libraries and models live as long as the worker:
    # kept out of the collector's sweeps, a full collection no longer walks them all.
    gc.collect()
    gc.freeze()
    return app
