"""Signing in on the pages: a key typed once, kept for the browser session.

The key is checked like any presented key (failures count against the address's budget);
the session keeps its digest, never the key. ``next`` may only name a path of this site, so
the sign-in page cannot be used to send people elsewhere.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, redirect, render_template, request, session, url_for

from labserve.web.auth import check_presented_key, sign_in
from labserve.web.errors import ApiError

login = Blueprint("login", __name__)


def safe_next(target: str | None) -> str:
    """A local path to go back to after signing in; anything else becomes the home page."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return url_for("ui.index")
    return target


@login.get("/login")
def login_page() -> Any:
    return render_template("login.html", next=safe_next(request.args.get("next")), error=None)


@login.post("/login")
def submit_login() -> Any:
    target = safe_next(request.form.get("next"))
    key = request.form.get("key", "").strip()
    try:
        caller = check_presented_key(key)
    except ApiError as exc:
        message = "That key is not valid (or was revoked)." if exc.status == 401 else exc.message
        page = render_template("login.html", next=target, error=message)
        return page, exc.status, exc.headers if exc.status == 429 else {}
    sign_in(caller)
    return redirect(target, code=303)


@login.post("/logout")
def logout() -> Any:
    session.clear()
    return redirect(url_for("login.login_page"), code=303)
