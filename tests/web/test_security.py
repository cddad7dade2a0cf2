"""Issue 13, "No door left open", as an attacker meets it in one process (Flask test client).

Every surface needs a key when keys are required; pages sign in once and carry CSRF tokens;
scopes keep the audit log and /metrics apart from prediction keys; wrong keys are limited;
rows count; CSV cells cannot run as formulas; summarizer requests are bounded.
"""

from __future__ import annotations

import io
import re
import stat
from csv import DictReader
from functools import partial
from pathlib import Path
from typing import Any
from unittest.mock import patch

import pytest
from flask import Flask
from flask.testing import FlaskClient

from labserve.db import create_key
from labserve.models.csv_scoring import CsvScorer
from labserve.web import close_app, create_app
from labserve.web.persistence import get_database
from tests.conftest import FEATURES

CSV_HEADER = ",".join(FEATURES)


def issue_key(app: Flask, name: str, scopes: str = "predict") -> str:
    with app.app_context():
        return create_key(get_database().engine, name, scopes)


def csrf_token(page: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert found, "the page has no CSRF token"
    return found[1]


@pytest.fixture
def secured(app_config: dict[str, Any]) -> Any:
    """Keys required, CSRF on (as served)."""
    app = create_app({**app_config, "REQUIRE_API_KEY": True, "WTF_CSRF_ENABLED": True})
    yield app
    close_app(app)


# -- every surface needs a key -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/"),
        ("GET", "/models/diagnosis"),
        ("POST", "/models/diagnosis"),
        ("POST", "/prediction"),
        ("POST", "/models/diagnosis/batch"),
    ],
)
def test_pages_send_people_to_sign_in(secured: Flask, method: str, path: str) -> None:
    response = secured.test_client().open(path, method=method, data={"radius_mean": "1"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/login?next=")


def test_the_page_upload_is_no_open_copy_of_the_csv_api(secured: Flask) -> None:
    response = secured.test_client().post(
        "/models/diagnosis/batch",
        data=f"{CSV_HEADER}\n17.99,10.38,0.1184,0.9053,0.006399,0.03003\n",
        content_type="text/csv",
    )
    assert response.status_code == 303
    assert b"Malignant" not in response.data


def test_metrics_need_the_metrics_scope(secured: Flask) -> None:
    client = secured.test_client()
    assert client.get("/metrics").status_code == 401
    predictor = issue_key(secured, "robot")
    denied = client.get("/metrics", headers={"X-API-Key": predictor})
    assert denied.status_code == 403
    assert denied.get_json()["error"] == "forbidden"
    scraper = issue_key(secured, "prometheus", "metrics")
    assert client.get("/metrics", headers={"X-API-Key": scraper}).status_code == 200
    for open_path in ("/healthz", "/readyz"):
        assert client.get(open_path).status_code == 200


def test_sign_in_once_then_use_the_pages(secured: Flask) -> None:
    client = secured.test_client()
    key = issue_key(secured, "clinician")
    login = client.get("/login?next=/models/diagnosis")
    assert login.status_code == 200
    token = csrf_token(login.get_data(as_text=True))
    wrong = client.post("/login", data={"key": "lsk_wrong", "csrf_token": token, "next": "/"})
    assert wrong.status_code == 401
    assert "not valid" in wrong.get_data(as_text=True)
    signed_in = client.post(
        "/login", data={"key": key, "csrf_token": token, "next": "/models/diagnosis"}
    )
    assert signed_in.status_code == 303
    assert signed_in.headers["Location"] == "/models/diagnosis"
    cookie = signed_in.headers["Set-Cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Secure" not in cookie  # plain http on the loopback: a Secure cookie never returns
    assert key not in cookie  # the session keeps a digest, never the key
    page = client.get("/models/diagnosis")
    assert page.status_code == 200
    form = {name: "0.5" for name in FEATURES} | {"radius_mean": "17.99", "texture_mean": "10.38"}
    token = csrf_token(page.get_data(as_text=True))
    assert client.post("/models/diagnosis", data=form).status_code == 400  # no token
    assert client.put("/models/diagnosis", data=form).status_code == 405  # not a form at all
    answered = client.post("/models/diagnosis", data={**form, "csrf_token": token})
    assert answered.status_code in (200, 422)
    assert 'id="predicted-label"' in answered.get_data(as_text=True)


def test_a_revoked_key_signs_the_page_session_out(secured: Flask) -> None:
    from labserve.db import revoke_key

    client = secured.test_client()
    key = issue_key(secured, "temp")
    token = csrf_token(client.get("/login").get_data(as_text=True))
    client.post("/login", data={"key": key, "csrf_token": token, "next": "/"})
    assert client.get("/").status_code == 200
    with secured.app_context():
        revoke_key(get_database().engine, "temp")
    assert client.get("/").status_code == 303


def test_sign_in_never_redirects_off_site(secured: Flask) -> None:
    client = secured.test_client()
    key = issue_key(secured, "someone")
    for target in ("https://evil.example/", "//evil.example/", "/\\evil.example"):
        token = csrf_token(client.get("/login").get_data(as_text=True))
        answer = client.post("/login", data={"key": key, "csrf_token": token, "next": target})
        assert answer.headers["Location"] == "/", target


def test_session_cookie_is_secure_over_https(secured: Flask) -> None:
    client = secured.test_client()
    page = client.get("/login", base_url="https://labserve.example")
    assert "Secure" in page.headers["Set-Cookie"]


def test_forms_need_the_csrf_token_even_without_keys(app_config: dict[str, Any]) -> None:
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True})
    client = app.test_client()
    row = dict.fromkeys(FEATURES, "0.5")
    refused = client.post("/models/diagnosis", data=row)
    assert refused.status_code == 400
    assert "reload the page" in refused.get_data(as_text=True)
    token = csrf_token(client.get("/models/diagnosis").get_data(as_text=True))
    assert client.post("/models/diagnosis", data={**row, "csrf_token": token}).status_code == 200
    # the JSON API authenticates with a header, so it needs no token
    assert client.post("/api/diagnosis", json={k: 0.5 for k in FEATURES}).status_code in (200, 422)
    close_app(app)


def test_an_upload_too_large_to_read_its_token_is_refused_on_the_page(
    app_config: dict[str, Any],
) -> None:
    """The token sits in a body too large to read: the page names the size, not the token."""
    app = create_app({**app_config, "WTF_CSRF_ENABLED": True, "MAX_CONTENT_LENGTH": 2048})
    client = app.test_client()
    token = csrf_token(client.get("/models/diagnosis").get_data(as_text=True))
    page = client.post(
        "/models/diagnosis/batch",
        data={"csrf_token": token, "file": (io.BytesIO(b"x" * 4096), "cases.csv")},
        content_type="multipart/form-data",
    )
    assert page.status_code == 422
    assert "larger than the upload limit" in page.get_data(as_text=True)
    close_app(app)


def test_the_secret_is_made_once_per_instance_with_0600(tmp_path: Path) -> None:
    from labserve.web.sessions import instance_secret_key

    first = instance_secret_key(tmp_path)
    assert instance_secret_key(tmp_path) == first
    assert len(first) >= 32
    assert stat.S_IMODE((tmp_path / "secret_key").stat().st_mode) == 0o600


def test_a_placeholder_secret_is_refused_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Replicas share a secret from a file; a placeholder left in it stops the start."""
    from labserve.settings import Settings, SettingsError

    secret = tmp_path / "secret-key"
    secret.write_text("CHANGE-ME")
    monkeypatch.setenv("LABSERVE_SECRET_KEY_FILE", str(secret))
    with pytest.raises(SettingsError, match="LABSERVE_SECRET_KEY: String should have at least 32"):
        Settings.load({"instance_path": tmp_path})
    secret.write_text("s" * 40)
    assert Settings.load({"instance_path": tmp_path}).secret_key == "s" * 40


# -- scopes --------------------------------------------------------------------------------------
def test_a_predict_key_cannot_read_other_callers_records(
    app: Flask, client: FlaskClient, benign_row: dict
) -> None:
    lims = issue_key(app, "lims")
    robot = issue_key(app, "robot")
    auditor = issue_key(app, "auditor", "audit:read")
    assert client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": lims}).status_code
    denied = client.get("/api/v1/predictions", headers={"X-API-Key": robot})
    assert denied.status_code == 403
    assert denied.get_json() == {
        "error": "forbidden",
        "message": "this key lacks the 'audit:read' scope",
        "field": None,
    }
    records = client.get("/api/v1/predictions", headers={"X-API-Key": auditor}).get_json()
    assert [r["caller"] for r in records["predictions"]] == ["lims"]
    # and an audit-only key predicts nothing
    refused = client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": auditor})
    assert refused.status_code == 403


def test_admin_holds_every_scope(app: Flask, client: FlaskClient) -> None:
    admin = issue_key(app, "root", "admin")
    assert client.get("/api/v1/predictions", headers={"X-API-Key": admin}).status_code == 200


# -- limits --------------------------------------------------------------------------------------
def test_wrong_keys_are_limited_per_address(app_config: dict[str, Any], benign_row: dict) -> None:
    app = create_app({**app_config, "AUTH_FAILURE_LIMIT": "5/minute"})
    client = app.test_client()
    good = issue_key(app, "robot")
    statuses = [
        client.post(
            "/api/diagnosis", json=benign_row, headers={"X-API-Key": f"lsk_guess{i}"}
        ).status_code
        for i in range(7)
    ]
    assert statuses == [401] * 5 + [429] * 2
    # guessing from this address is stopped, even with a right key; others are unaffected
    assert (
        client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": good}).status_code
        == 429
    )
    other = {"REMOTE_ADDR": "127.0.0.7"}
    assert (
        client.post(
            "/api/diagnosis", json=benign_row, headers={"X-API-Key": good}, environ_base=other
        ).status_code
        == 200
    )
    close_app(app)


def test_one_request_budget_across_routes(app_config: dict[str, Any], benign_row: dict) -> None:
    app = create_app({**app_config, "RATE_LIMIT": "4/minute"})
    client = app.test_client()
    statuses = [
        client.post("/api/diagnosis", json=benign_row).status_code,
        client.post("/api/v1/models/diagnosis/predict", json={"inputs": [benign_row]}).status_code,
        client.get("/api/v1/models").status_code,
        client.post("/prediction", data={k: str(v) for k, v in benign_row.items()}).status_code,
        client.get("/models/diagnosis").status_code,
        client.post("/api/diagnosis", json=benign_row).status_code,
    ]
    assert statuses == [200, 200, 200, 200, 429, 429]
    assert client.get("/healthz").status_code == 200  # probes are never limited
    close_app(app)


def test_batches_count_by_their_rows(app_config: dict[str, Any], benign_row: dict) -> None:
    app = create_app({**app_config, "RATE_LIMIT_ROWS": "10/minute"})
    client = app.test_client()
    batch = {"inputs": [benign_row] * 6}
    assert client.post("/api/v1/models/diagnosis/predict", json=batch).status_code == 200
    refused = client.post("/api/v1/models/diagnosis/predict", json=batch)
    assert refused.status_code == 429
    assert "prediction rows" in refused.get_json()["message"]
    assert int(refused.headers["Retry-After"]) > 0
    small = client.post("/api/v1/models/diagnosis/predict", json={"inputs": [benign_row] * 4})
    assert small.status_code == 200
    csv = f"{CSV_HEADER}\n" + "17.99,10.38,0.1184,0.9053,0.006399,0.03003\n"
    refused_csv = client.post(
        "/api/v1/models/diagnosis/predict.csv", data=csv, content_type="text/csv"
    )
    assert refused_csv.status_code == 429
    close_app(app)


def test_a_csv_stops_when_the_row_budget_runs_out(app_config: dict[str, Any]) -> None:
    """Rows past the budget come back unscored, each saying why; earlier chunks are scored."""
    app = create_app({**app_config, "RATE_LIMIT_ROWS": "5/minute"})
    client = app.test_client()
    with patch("labserve.web.csv_routes.CsvScorer", partial(CsvScorer, chunk_rows=2)):
        csv = f"{CSV_HEADER}\n" + "17.99,10.38,0.1184,0.9053,0.006399,0.03003\n" * 7
        scored = client.post(
            "/api/v1/models/diagnosis/predict.csv", data=csv, content_type="text/csv"
        )
    rows = list(DictReader(io.StringIO(scored.get_data(as_text=True))))
    assert len(rows) == 7  # the whole file, in order
    assert [row["label"] for row in rows[:4]] == ["Malignant"] * 4  # two chunks of two fit
    for row in rows[4:]:  # the third chunk would overrun 5: it and all after are refused
        assert row["label"] == ""
        assert row["error"].startswith("not scored: rate limit of 5 per 1 minute prediction rows")
    close_app(app)


# -- CSV cells -----------------------------------------------------------------------------------
FORMULA_CSV = (
    f"sample,{CSV_HEADER},note\n"
    '=HYPERLINK("http://x"),17.99,10.38,0.1184,0.9053,0.006399,0.03003,-1.5\n'
    "@SUM(1+1),17.99,10.38,0.1184,0.9053,0.006399,0.03003,+cmd|' /C calc'!A0\n"
)


@pytest.mark.parametrize("path", ["/api/v1/models/diagnosis/predict.csv", "upload"])
def test_scored_csv_cells_cannot_run_as_formulas(client: FlaskClient, path: str) -> None:
    if path == "upload":  # the page scores the file, then links to the scored file
        page = client.post(
            "/models/diagnosis/batch",
            data={"file": (io.BytesIO(FORMULA_CSV.encode()), "cases.csv")},
            content_type="multipart/form-data",
        )
        link = re.search(r'href="(/models/diagnosis/scored/[^"]+)"', page.get_data(as_text=True))
        assert link is not None
        response = client.get(link.group(1))
    else:
        response = client.post(path, data=FORMULA_CSV, content_type="text/csv")
    lines = response.get_data(as_text=True).splitlines()
    response.close()  # a sent file stays open until then
    assert lines[1].startswith('"\'=HYPERLINK(""http://x"")",17.99')
    assert lines[1].split(",")[7] == "-1.5"  # a plain number stays a number
    assert lines[2].startswith("'@SUM(1+1),")
    assert ",'+cmd|' /C calc'!A0," in lines[2]


def test_safe_cells_can_be_turned_off(app_config: dict[str, Any]) -> None:
    app = create_app({**app_config, "CSV_SAFE_CELLS": False})
    lines = (
        app.test_client()
        .post("/api/v1/models/diagnosis/predict.csv", data=FORMULA_CSV, content_type="text/csv")
        .get_data(as_text=True)
        .splitlines()
    )
    assert lines[2].startswith("@SUM(1+1),")
    close_app(app)


# -- summarizer ----------------------------------------------------------------------------------
def test_a_summarizer_request_has_a_character_budget(app_config: dict[str, Any]) -> None:
    app = create_app({**app_config, "SUMMARIZER_MAX_REQUEST_CHARS": 5_000})
    client = app.test_client()
    text = "Cells divide when growth factors bind their receptors. " * 40  # 2,240 characters
    ok = client.post("/api/v1/models/summarizer/predict", json={"inputs": [{"text": text}] * 2})
    assert ok.status_code == 200
    over = client.post("/api/v1/models/summarizer/predict", json={"inputs": [{"text": text}] * 3})
    assert over.status_code == 422
    assert over.get_json()["field"] == "inputs"
    assert "5,000 characters" in over.get_json()["message"]
    single = client.post("/api/prediction", json={"text": text * 3})
    assert single.status_code == 422
    assert single.get_json()["field"] == "text"
    close_app(app)


def test_the_summarizer_budget_defaults_to_two_million_characters() -> None:
    from labserve.settings import Settings

    assert Settings.load().summarizer_max_request_chars == 2_000_000
