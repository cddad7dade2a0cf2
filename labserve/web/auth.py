"""Who is calling and what they may do: API keys and their scopes, on every surface.

A program sends its key (``Authorization: Bearer <key>`` or ``X-API-Key: <key>``); a person
signs in once on ``/login`` and the page session keeps the key's digest (never the key) in a
signed, HttpOnly, SameSite=Strict cookie. Either way the caller's key is checked again on
every request (through a cache of ``LABSERVE_API_KEY_CACHE_SECONDS``), so a revoked key stops
working within that delay, pages included.

What needs a key:

- with ``LABSERVE_REQUIRE_API_KEY=true``: everything but ``/healthz``, ``/readyz``, static
  files and the sign-in page; prediction routes and forms need the ``predict`` scope,
  ``/metrics`` the ``metrics`` scope;
- always, once any key exists: the audit log, with the ``audit:read`` scope (it holds every
  caller's inputs).

A presented key must be valid even where keys are optional (a typo fails loudly instead of
falling back to anonymous). Failed checks count against a per-address budget
(``labserve.web.limits``).
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask, g, redirect, request, session, url_for
from werkzeug.wrappers import Response

from labserve.db import Caller, any_keys_exist
from labserve.web.errors import ApiError, wants_json
from labserve.web.extension import get_settings
from labserve.web.limits import check_auth_failures, record_auth_failure
from labserve.web.persistence import get_database
from labserve.web.sessions import is_api_request

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="labserve"'}
#: The session field holding the signed-in key's sha256.
SESSION_KEY = "key_sha256"
#: Never need a key: probes, the sign-in page and what it needs to render.
OPEN_ENDPOINTS = {
    "health.healthz",
    "health.readyz",
    "static",
    "login.login_page",
    "login.submit_login",
}
#: The scope each guarded route needs; any other route needs only a valid key (when required).
ENDPOINT_SCOPES = {
    "api.predict": "predict",
    "csv_api.predict_csv": "predict",
    "tutorial_api.tutorial_diagnosis": "predict",
    "tutorial_api.tutorial_summary": "predict",
    "ui.model_form": "predict",
    "ui.score_upload": "predict",
    "ui.tutorial_prediction": "predict",
    "api.list_audited_predictions": "audit:read",
    "metrics.scrape": "metrics",
}
#: Scopes whose routes need a key as soon as any key exists, even when keys are optional.
GUARDED_ONCE_KEYS_EXIST = {"audit:read"}


def presented_key() -> str | None:
    return key_in(request.headers.get("Authorization", ""), request.headers.get("X-API-Key"))


def key_in(authorization: str, x_api_key: str | None) -> str | None:
    """The key sent as ``Authorization: Bearer <key>``, else as ``X-API-Key``, else None."""
    if authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return x_api_key or None


def current_caller() -> Caller | None:
    caller: Caller | None = g.get("caller")
    return caller


def caller_name() -> str:
    """Who made this request, for the audit log."""
    caller = current_caller()
    if caller is not None:
        return caller.name
    return "ui" if request.blueprint == "ui" else "anonymous"


def check_presented_key(key: str) -> Caller:
    """The caller holding ``key``; 401 (and a failure counted) when it is not a live key."""
    check_auth_failures()
    caller = get_database().keys.verify(key)
    if caller is None:
        record_auth_failure()
        raise ApiError(401, "unauthorized", "invalid or revoked API key", headers=CHALLENGE)
    return caller


def session_caller() -> Caller | None:
    """The key a signed-in page session holds, if it is still live (else sign it out)."""
    digest = session.get(SESSION_KEY)
    if not isinstance(digest, str):
        return None
    caller = get_database().keys.verify_digest(digest)
    if caller is None:
        session.pop(SESSION_KEY, None)
    return caller


def sign_in(caller: Caller) -> None:
    session.clear()  # a fresh session (and CSRF token) on every sign-in
    session[SESSION_KEY] = caller.digest


def key_needed(scope: str | None) -> bool:
    if get_settings().require_api_key:
        return True
    return scope in GUARDED_ONCE_KEYS_EXIST and any_keys_exist(get_database().engine)


def to_sign_in() -> Response:
    """People are sent to the sign-in page, and back here afterwards."""
    if request.method == "GET":
        target = request.full_path.rstrip("?")
    else:  # a form posted without a session: back to its model's page
        name = (request.view_args or {}).get("name")
        target = url_for("ui.model_page", name=name) if name else "/"
    query = urlencode({"next": target})
    return redirect(f"{url_for('login.login_page')}?{query}", code=303)


def authenticate() -> Response | None:
    endpoint = request.endpoint
    if endpoint in OPEN_ENDPOINTS or (endpoint is None and not is_api_request(request)):
        return None  # an unknown page is a plain 404; an unknown API path needs a key first
    key = presented_key()
    caller = check_presented_key(key) if key is not None else session_caller()
    if caller is not None:
        g.caller = caller
        g.api_key_name = caller.name  # whose rate-limit budget this request spends
    scope = ENDPOINT_SCOPES.get(endpoint or "")
    if caller is None:
        if not key_needed(scope):
            return None
        if not wants_json() and endpoint != "metrics.scrape":
            return to_sign_in()
        raise ApiError(
            401,
            "unauthorized",
            "an API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
            headers=CHALLENGE,
        )
    if scope is not None and not caller.allows(scope):
        raise ApiError(403, "forbidden", f"this key lacks the {scope!r} scope")
    return None


def init_auth(app: Flask) -> None:
    app.before_request(authenticate)
