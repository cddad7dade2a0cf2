"""Operations: health, readiness, metrics, request ids, headers, limits, logs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from prometheus_client.parser import text_string_to_metric_families

from labserve.web import create_app


def scrape(client: FlaskClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.mimetype == "text/plain"
    samples = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_healthz_and_readyz_when_ready(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.get_json()["models"]["diagnosis"] == "ready"


def test_readyz_is_503_with_a_reason_until_models_load(
    trained_instance: Path, tmp_path: Path
) -> None:
    import shutil

    shutil.copytree(trained_instance / "models", tmp_path / "models")
    (tmp_path / "models" / "diagnosis" / "1" / "model.skops").unlink()
    app = create_app({"INSTANCE_PATH": str(tmp_path), "LOAD_MODELS": "sync"})
    client = app.test_client()
    assert client.get("/healthz").status_code == 200
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "not_ready"
    assert "diagnosis: failed: artifact" in body["reason"]
    assert "model.skops is missing" in body["reason"]
    assert body["models"]["summarizer"] == "ready"
    predict = client.post("/api/diagnosis", json={"radius_mean": 1})
    assert predict.status_code == 503
    assert predict.get_json()["error"] == "model_not_ready"


def test_metrics_count_requests_predictions_and_batches(
    client: FlaskClient, malignant_row: dict, benign_row: dict
) -> None:
    before = scrape(client)
    client.post(
        "/api/v1/models/diagnosis/predict", json={"inputs": [malignant_row, benign_row, benign_row]}
    )
    client.post("/api/diagnosis", json={"radius_mean": "x"})
    after = scrape(client)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("labserve_predictions_total", model="diagnosis", label="Benign") == 2
    assert delta("labserve_predictions_total", model="diagnosis", label="Malignant") == 1
    route = "/api/v1/models/<name>/predict"
    assert delta("labserve_http_requests_total", method="POST", route=route, status="200") == 1
    assert (
        delta("labserve_http_requests_total", method="POST", route="/api/diagnosis", status="422")
        == 1
    )
    assert delta("labserve_http_request_duration_seconds_count", method="POST", route=route) == 1
    assert delta("labserve_batch_rows_sum", model="diagnosis") == 3
    assert value(after, "labserve_model_load_seconds", model="diagnosis") > 0


def test_request_id_on_every_response(client: FlaskClient) -> None:
    for response in (client.get("/"), client.get("/api/nowhere"), client.post("/api/diagnosis")):
        assert len(response.headers["X-Request-ID"]) == 32
    echoed = client.get("/healthz", headers={"X-Request-ID": "lab-run-42"})
    assert echoed.headers["X-Request-ID"] == "lab-run-42"
    replaced = client.get("/healthz", headers={"X-Request-ID": "bad id; with spaces"})
    assert replaced.headers["X-Request-ID"] != "bad id; with spaces"


@pytest.mark.parametrize(
    "url", ["/", "/models/diagnosis", "/api/v1/models", "/api/nowhere", "/healthz"]
)
def test_security_headers(client: FlaskClient, url: str) -> None:
    headers = client.get(url).headers
    csp = headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"


@pytest.fixture
def limited_client(app_config: dict[str, Any]) -> FlaskClient:
    return create_app({**app_config, "RATE_LIMIT": "3/minute"}).test_client()


def test_burst_gets_429_json_with_retry_after(
    limited_client: FlaskClient, benign_row: dict
) -> None:
    statuses = [
        limited_client.post("/api/diagnosis", json=benign_row).status_code for _ in range(5)
    ]
    assert statuses == [200, 200, 200, 429, 429]
    response = limited_client.post("/api/diagnosis", json=benign_row)
    assert response.is_json
    assert response.get_json()["error"] == "rate_limited"
    assert int(response.headers["Retry-After"]) > 0
    # health checks are never limited
    assert all(limited_client.get("/healthz").status_code == 200 for _ in range(5))


def test_limits_are_per_client_address(limited_client: FlaskClient, benign_row: dict) -> None:
    for _ in range(3):
        limited_client.post("/api/diagnosis", json=benign_row)
    other = limited_client.post(
        "/api/diagnosis", json=benign_row, environ_base={"REMOTE_ADDR": "127.0.0.9"}
    )
    assert other.status_code == 200


def test_oversized_body_gets_413_json(app_config: dict[str, Any]) -> None:
    client = create_app({**app_config, "MAX_CONTENT_LENGTH": 1024}).test_client()
    response = client.post(
        "/api/diagnosis", data=b"{" + b" " * 4096 + b"}", content_type="application/json"
    )
    assert response.status_code == 413
    assert response.get_json()["error"] == "payload_too_large"


def test_json_logs_carry_the_request_id(
    app_config: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    app = create_app({**app_config, "LOG_FORMAT": "json"})

    @app.get("/log-something")
    def log_something() -> str:
        app.logger.warning("hello from a request")
        return "ok"

    app.test_client().get("/log-something", headers={"X-Request-ID": "trace-7"})
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    (record,) = [r for r in lines if r["message"] == "hello from a request"]
    assert record["request_id"] == "trace-7"
    assert record["level"] == "WARNING"
    import logging

    from labserve.web.request_context import configure_logging

    configure_logging("text", "INFO")  # leave the text format for the other tests
    logging.getLogger().handlers[-1].close()


def test_debug_is_off(client: FlaskClient) -> None:
    assert client.application.debug is False
