"""The page session: its secret, its cookie flags, and CSRF tokens on every form.

The session is a cookie signed with the app's secret key. The secret comes from
``LABSERVE_SECRET_KEY`` (or ``LABSERVE_SECRET_KEY_FILE``), else from ``<instance>/secret_key``,
generated once with permissions 0600, so every worker and every restart signs alike and
nothing secret lives in the repository.

The cookie is HttpOnly and SameSite=Strict, and Secure whenever the request came over https
(``LABSERVE_SESSION_COOKIE_SECURE`` forces it either way: set it to true behind a proxy that
terminates TLS). Over plain http on the loopback interface, as ``labserve serve`` runs
locally, a Secure cookie would never come back, so it is not set there.

Every POST outside ``/api/`` must carry the session's CSRF token (Flask-WTF), so another
site cannot make a signed-in browser submit a form. The API is exempt: it authenticates with
a header, which another site cannot make a browser send.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

from flask import Flask, Request, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import RequestEntityTooLarge

from labserve.settings import Settings
from labserve.web.errors import error_response

SECRET_FILE = "secret_key"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS", "TRACE"}


def instance_secret_key(instance_path: Path) -> str:
    """The instance's secret, created once (0600) by whichever process gets there first."""
    path = instance_path / SECRET_FILE
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=instance_path, prefix=".secret-")
        try:
            os.fchmod(handle, 0o600)
            os.write(handle, secrets.token_urlsafe(48).encode("ascii"))
            os.fsync(handle)
            os.close(handle)
            with contextlib.suppress(FileExistsError):  # another worker made it first
                os.link(temporary, path)  # atomic: the file appears whole or not at all
        finally:
            os.unlink(temporary)
    secret = path.read_text(encoding="ascii").strip()
    if len(secret) < 32:
        raise RuntimeError(f"{path} holds no usable secret; delete it to generate a new one")
    return secret


class AdaptiveSecureSessionInterface(SecureCookieSessionInterface):
    """Secure cookies over https (or always/never when configured)."""

    def __init__(self, secure: bool | None) -> None:
        self.secure = secure

    def get_cookie_secure(self, app: Flask) -> bool:
        if self.secure is not None:
            return self.secure
        return bool(request and request.is_secure)


def is_api_request(req: Request) -> bool:
    return req.path == "/api" or req.path.startswith("/api/")


def init_sessions(app: Flask, settings: Settings) -> CSRFProtect:
    app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or (
        settings.secret_key or instance_secret_key(settings.instance_path)
    )
    app.config.update(
        SESSION_COOKIE_NAME="labserve_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        # checked where it matters, below: not every POST is a form
        WTF_CSRF_CHECK_DEFAULT=False,
        # the token lives as long as the session: a page left open over lunch still submits
        WTF_CSRF_TIME_LIMIT=None,
        # pages send no Referer (Referrer-Policy: no-referrer); the token and SameSite=Strict
        # are the protection, so Flask-WTF's https Referer check would only refuse every form
        WTF_CSRF_SSL_STRICT=False,
    )
    app.session_interface = AdaptiveSecureSessionInterface(settings.session_cookie_secure)
    csrf = CSRFProtect(app)

    @app.before_request
    def check_csrf_token() -> None:
        if (
            request.routing_exception is None  # a 404 or 405 is answered as such
            and request.method not in SAFE_METHODS
            and not is_api_request(request)
            and app.config.get("WTF_CSRF_ENABLED", True)
        ):
            try:
                csrf.protect()
            except RequestEntityTooLarge:
                return  # the token is in a body too large to read: the view refuses it all

    @app.errorhandler(CSRFError)
    def csrf_failed(exc: CSRFError) -> Any:
        return error_response(
            400,
            "csrf_failed",
            "This form was not sent from a page of this site, or the page is from an earlier "
            "session: reload the page and send the form again.",
        )

    return csrf
