"""API keys, rate limits per key, and the audit log, as a caller meets them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from labserve.db import create_key, revoke_key
from labserve.web import close_app, create_app
from labserve.web.persistence import get_database


def issue_key(app: Flask, name: str, scopes: str = "predict") -> str:
    with app.app_context():
        return create_key(get_database().engine, name, scopes)


@pytest.fixture
def secured_app(app_config: dict[str, Any]) -> Flask:
    return create_app({**app_config, "REQUIRE_API_KEY": True, "RATE_LIMIT": "5/minute"})


def test_keys_required_then_rate_limited_then_audited(secured_app: Flask, benign_row: dict) -> None:
    """The issue's scenario: 401 without a key, 200 with one, 429 on a burst, all audited."""
    client = secured_app.test_client()
    key = issue_key(secured_app, "robot")
    auditor = issue_key(secured_app, "auditor", "audit:read")  # a budget of its own
    missing = client.post("/api/diagnosis", json=benign_row)
    assert missing.status_code == 401
    assert missing.get_json()["error"] == "unauthorized"
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = client.post(
        "/api/diagnosis", json=benign_row, headers={"Authorization": "Bearer lsk_nope"}
    )
    assert wrong.status_code == 401
    statuses = [
        client.post(
            "/api/diagnosis", json=benign_row, headers={"Authorization": f"Bearer {key}"}
        ).status_code
        for _ in range(7)
    ]
    assert statuses == [200] * 5 + [429] * 2
    limited = client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": key})
    assert limited.status_code == 429
    assert limited.is_json
    assert int(limited.headers["Retry-After"]) > 0
    audit = client.get("/api/v1/predictions", headers={"X-API-Key": auditor})
    assert audit.status_code == 200
    records = audit.get_json()["predictions"]
    assert len(records) == 5
    assert {r["caller"] for r in records} == {"robot"}
    assert all(r["model"] == "diagnosis" and r["outputs"][0]["label"] == "Benign" for r in records)


def test_keys_are_per_caller_for_rate_limits(secured_app: Flask, benign_row: dict) -> None:
    client = secured_app.test_client()
    first, second = issue_key(secured_app, "a"), issue_key(secured_app, "b")
    for _ in range(5):
        client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": first})
    assert (
        client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": first}).status_code
        == 429
    )
    assert (
        client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": second}).status_code
        == 200
    )


def test_revoked_key_is_refused(secured_app: Flask, benign_row: dict) -> None:
    client = secured_app.test_client()
    key = issue_key(secured_app, "temp")
    assert (
        client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": key}).status_code
        == 200
    )
    with secured_app.app_context():
        revoke_key(get_database().engine, "temp")
    assert (
        client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": key}).status_code
        == 401
    )


def test_every_api_route_needs_a_key_when_required(secured_app: Flask) -> None:
    client = secured_app.test_client()
    for url in (
        "/api/v1/models",
        "/api/v1/models/diagnosis",
        "/api/v1/predictions",
        "/api/nowhere",
    ):
        response = client.get(url)
        assert response.status_code == 401, url
        assert response.is_json
    # health and readiness stay open; pages ask people to sign in; metrics need a key
    for url in ("/healthz", "/readyz"):
        assert client.get(url).status_code == 200, url
    assert client.get("/").status_code == 303
    assert client.get("/metrics").status_code == 401


def test_optional_keys_still_reject_a_wrong_key(client: FlaskClient, benign_row: dict) -> None:
    assert client.post("/api/diagnosis", json=benign_row).status_code == 200
    response = client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": "lsk_typo"})
    assert response.status_code == 401


def test_audit_needs_a_key_once_keys_exist(app: Flask, client: FlaskClient) -> None:
    assert client.get("/api/v1/predictions").status_code == 200
    key = issue_key(app, "auditor", "audit:read")
    assert client.get("/api/v1/predictions").status_code == 401
    assert (
        client.get("/api/v1/predictions", headers={"Authorization": f"Bearer {key}"}).status_code
        == 200
    )


def test_audit_holds_exactly_the_predictions_made(
    app: Flask, client: FlaskClient, malignant_row: dict, benign_row: dict
) -> None:
    """API, tutorial routes and UI forms are all recorded, with caller and request id."""
    key = issue_key(app, "lims", "predict,audit:read")
    made = [
        client.post("/api/diagnosis", json=malignant_row, headers={"X-API-Key": key}),
        client.post(
            "/api/v1/models/diagnosis/predict", json={"inputs": [benign_row, malignant_row]}
        ),
        client.post("/prediction", data={k: str(v) for k, v in benign_row.items()}),
        client.post(
            "/api/prediction",
            json={"text": "One sentence here. And another one.", "maxlen": 5, "minlen": 1},
        ),
    ]
    # failed requests are not predictions
    client.post("/api/diagnosis", json={"radius_mean": -1})
    client.post("/prediction", data={"radius_mean": "abc"})
    records = client.get("/api/v1/predictions", headers={"X-API-Key": key}).get_json()[
        "predictions"
    ]
    assert len(records) == 4
    by_request = {r["request_id"]: r for r in records}
    assert set(by_request) == {m.headers["X-Request-ID"] for m in made}
    callers = [by_request[m.headers["X-Request-ID"]]["caller"] for m in made]
    assert callers == ["lims", "anonymous", "ui", "anonymous"]
    batch = by_request[made[1].headers["X-Request-ID"]]
    assert batch["rows"] == 2
    assert batch["inputs"] == [benign_row, malignant_row]
    assert [o["label"] for o in batch["outputs"]] == ["Benign", "Malignant"]
    assert batch["model_version"] == "1"
    assert batch["latency_ms"] > 0
    only_summaries = client.get("/api/v1/predictions?model=summarizer", headers={"X-API-Key": key})
    assert [r["model"] for r in only_summaries.get_json()["predictions"]] == ["summarizer"]


def test_hash_mode_keeps_only_a_digest(app_config: dict[str, Any], benign_row: dict) -> None:
    app = create_app({**app_config, "AUDIT_INPUTS": "hash"})
    client = app.test_client()
    client.post("/api/diagnosis", json=benign_row)
    (record,) = client.get("/api/v1/predictions").get_json()["predictions"]
    assert record["inputs"] is None
    assert len(record["inputs_sha256"]) == 64


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("limit=0", "limit"),
        ("limit=abc", "limit"),
        ("limit=5000", "limit"),
        ("since=yesterday", "since"),
    ],
)
def test_audit_query_validation(client: FlaskClient, query: str, field: str) -> None:
    response = client.get(f"/api/v1/predictions?{query}")
    assert response.status_code == 422
    assert response.get_json()["field"] == field


def test_audit_on_postgresql_and_sqlite(
    app_config: dict[str, Any], database_url: str, benign_row: dict
) -> None:
    app = create_app({**app_config, "DATABASE_URL": database_url})
    try:
        client = app.test_client()
        for _ in range(3):
            assert client.post("/api/diagnosis", json=benign_row).status_code == 200
        assert len(client.get("/api/v1/predictions").get_json()["predictions"]) == 3
    finally:
        close_app(app)  # before the database is dropped under its pooled connections


def test_keys_survive_an_app_restart(
    app_config: dict[str, Any], benign_row: dict, tmp_path: Path
) -> None:
    config = {**app_config, "REQUIRE_API_KEY": True}
    first = create_app(config)
    key = issue_key(first, "robot")
    second = create_app(config).test_client()
    assert (
        second.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": key}).status_code
        == 200
    )
