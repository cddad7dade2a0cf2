"""The JSON API: the tutorial's routes verbatim, the v1 envelope, and every bad input."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

PREDICT = "/api/v1/models/diagnosis/predict"


def test_tutorial_route_classifies_known_cases(
    client: FlaskClient, malignant_row: dict, benign_row: dict
) -> None:
    malignant = client.post("/api/diagnosis", json=malignant_row)
    assert malignant.status_code == 200
    body = malignant.get_json()
    assert list(body) == ["diagnosis", "probability_malignant", "model_version"]
    assert body["diagnosis"] == "Malignant"
    assert body["probability_malignant"] > 0.5
    benign = client.post("/api/diagnosis", json=benign_row).get_json()
    assert benign["diagnosis"] == "Benign"
    assert benign["probability_malignant"] < 0.5
    assert benign["model_version"] == body["model_version"]


def test_batch_envelope(client: FlaskClient, malignant_row: dict, benign_row: dict) -> None:
    response = client.post(PREDICT, json={"inputs": [malignant_row, benign_row, malignant_row]})
    assert response.status_code == 200
    body = response.get_json()
    assert body["model"] == "diagnosis"
    assert body["version"] == "1"
    labels = [p["label"] for p in body["predictions"]]
    assert labels == ["Malignant", "Benign", "Malignant"]
    for prediction in body["predictions"]:
        assert list(prediction) == ["label", "probabilities", "warnings"]
        assert set(prediction["probabilities"]) == {"Benign", "Malignant"}
        assert sum(prediction["probabilities"].values()) == pytest.approx(1.0)
        assert prediction["warnings"] == []
    single = client.post("/api/diagnosis", json=benign_row).get_json()
    assert body["predictions"][1]["probabilities"]["Malignant"] == single["probability_malignant"]


def test_batch_at_the_limit_is_served(client: FlaskClient, benign_row: dict) -> None:
    response = client.post(PREDICT, json={"inputs": [benign_row] * 10_000})
    assert response.status_code == 200
    assert len(response.get_json()["predictions"]) == 10_000


def test_model_listing_and_card(client: FlaskClient) -> None:
    listing = client.get("/api/v1/models").get_json()
    by_name = {m["name"]: m for m in listing["models"]}
    diagnosis = by_name["diagnosis"]
    assert diagnosis["status"] == "ready"
    assert diagnosis["version"] == "1"
    assert diagnosis["kind"] == "sklearn"
    assert diagnosis["capability"] == "tabular"
    assert set(diagnosis["input_schema"]["properties"]) == {
        "radius_mean",
        "texture_mean",
        "smoothness_mean",
        "texture_se",
        "smoothness_se",
        "symmetry_se",
    }
    card = client.get("/api/v1/models/diagnosis").get_json()
    assert card["version"] == diagnosis["version"]
    assert card["metrics"]["held_out"]["roc_auc"] > 0.9
    assert len(card["artifact"]["sha256"]) == 64


ROW = {
    "radius_mean": 13.54,
    "texture_mean": 14.36,
    "smoothness_mean": 0.09779,
    "texture_se": 0.7886,
    "smoothness_se": 0.008462,
    "symmetry_se": 0.0198,
}


def without(key: str) -> dict[str, Any]:
    return {k: v for k, v in ROW.items() if k != key}


# (route, raw body, content type, status, error code, field)
BAD_REQUESTS = [
    (
        "/api/diagnosis",
        json.dumps(without("texture_se")),
        "application/json",
        422,
        "invalid_input",
        "texture_se",
    ),
    (
        "/api/diagnosis",
        json.dumps({**ROW, "age": 40}),
        "application/json",
        422,
        "invalid_input",
        "age",
    ),
    (
        "/api/diagnosis",
        json.dumps({**ROW, "radius_mean": "big"}),
        "application/json",
        422,
        "invalid_input",
        "radius_mean",
    ),
    (
        "/api/diagnosis",
        json.dumps({**ROW, "radius_mean": "13.5"}),
        "application/json",
        422,
        "invalid_input",
        "radius_mean",
    ),
    (
        "/api/diagnosis",
        json.dumps({**ROW, "radius_mean": None}),
        "application/json",
        422,
        "invalid_input",
        "radius_mean",
    ),
    (
        "/api/diagnosis",
        json.dumps({**ROW, "radius_mean": True}),
        "application/json",
        422,
        "invalid_input",
        "radius_mean",
    ),
    (
        "/api/diagnosis",
        json.dumps({**ROW, "radius_mean": {}}),
        "application/json",
        422,
        "invalid_input",
        "radius_mean",
    ),
    (
        "/api/diagnosis",
        json.dumps({**ROW, "radius_mean": -3.0}),
        "application/json",
        422,
        "invalid_input",
        "radius_mean",
    ),
    (
        "/api/diagnosis",
        json.dumps({**ROW, "texture_mean": 1e300}),
        "application/json",
        422,
        "invalid_input",
        "texture_mean",
    ),
    (
        "/api/diagnosis",
        json.dumps({**ROW, "symmetry_se": 2.5}),
        "application/json",
        422,
        "invalid_input",
        "symmetry_se",
    ),
    ("/api/diagnosis", '{"radius_mean": NaN}', "application/json", 400, "invalid_json", None),
    ("/api/diagnosis", '{"radius_mean": Infinity}', "application/json", 400, "invalid_json", None),
    ("/api/diagnosis", '{"radius_mean": -Infinity}', "application/json", 400, "invalid_json", None),
    (
        "/api/diagnosis",
        json.dumps(ROW).replace("13.54", "1e999"),
        "application/json",
        422,
        "invalid_input",
        "radius_mean",
    ),
    ("/api/diagnosis", "{radius_mean: 1", "application/json", 400, "invalid_json", None),
    ("/api/diagnosis", "", "application/json", 400, "invalid_json", None),
    ("/api/diagnosis", b"\xff\xfe\x00", "application/json", 400, "invalid_json", None),
    ("/api/diagnosis", "[" * 100_000, "application/json", 400, "invalid_json", None),
    ("/api/diagnosis", json.dumps([ROW]), "application/json", 400, "invalid_input", None),
    ("/api/diagnosis", "42", "application/json", 400, "invalid_input", None),
    ("/api/diagnosis", json.dumps(ROW), "text/plain", 415, "unsupported_media_type", None),
    (
        "/api/diagnosis",
        "radius_mean=1",
        "application/x-www-form-urlencoded",
        415,
        "unsupported_media_type",
        None,
    ),
    (PREDICT, json.dumps({"inputs": []}), "application/json", 422, "invalid_input", "inputs"),
    (PREDICT, json.dumps({"inputs": ROW}), "application/json", 422, "invalid_input", "inputs"),
    (PREDICT, json.dumps({}), "application/json", 422, "invalid_input", "inputs"),
    (
        PREDICT,
        json.dumps({"inputs": [ROW], "extra": 1}),
        "application/json",
        422,
        "invalid_input",
        "extra",
    ),
    (
        PREDICT,
        json.dumps({"inputs": [ROW], "parameters": {"maxlen": 3}}),
        "application/json",
        422,
        "invalid_input",
        "parameters.maxlen",
    ),
    (
        PREDICT,
        json.dumps({"inputs": [ROW], "parameters": [1]}),
        "application/json",
        422,
        "invalid_input",
        "parameters",
    ),
    (
        PREDICT,
        json.dumps({"inputs": [ROW, 7]}),
        "application/json",
        422,
        "invalid_input",
        "inputs[1]",
    ),
    (
        PREDICT,
        json.dumps({"inputs": [ROW, {**ROW, "smoothness_se": -0.1}]}),
        "application/json",
        422,
        "invalid_input",
        "inputs[1].smoothness_se",
    ),
    (
        PREDICT,
        json.dumps({"inputs": [ROW] * 10_001}),
        "application/json",
        422,
        "invalid_input",
        "inputs",
    ),
    (
        "/api/v1/models/unknown/predict",
        json.dumps({"inputs": [ROW]}),
        "application/json",
        404,
        "model_not_found",
        None,
    ),
]


@pytest.mark.parametrize(
    ("route", "body", "content_type", "status", "code", "field"),
    BAD_REQUESTS,
    ids=[f"{i}-{r[0].rsplit('/', 1)[-1]}-{r[3]}" for i, r in enumerate(BAD_REQUESTS)],
)
def test_bad_requests_get_json_errors(
    client: FlaskClient,
    route: str,
    body: str | bytes,
    content_type: str,
    status: int,
    code: str,
    field: str | None,
) -> None:
    response = client.post(route, data=body, content_type=content_type)
    assert response.status_code == status
    assert response.is_json
    error = response.get_json()
    assert set(error) == {"error", "message", "field"}
    assert error["error"] == code
    assert error["field"] == field
    assert error["message"]
    assert "Traceback" not in error["message"]


@pytest.mark.parametrize(
    ("method", "url", "status", "code"),
    [
        ("GET", "/api/nowhere", 404, "not_found"),
        ("GET", "/api/v1/models/unknown", 404, "model_not_found"),
        ("GET", "/api/diagnosis", 405, "method_not_allowed"),
        ("DELETE", "/api/v1/models/diagnosis/predict", 405, "method_not_allowed"),
        ("POST", "/api/v1/models", 405, "method_not_allowed"),
    ],
)
def test_unknown_urls_and_methods_under_api_are_json(
    client: FlaskClient, method: str, url: str, status: int, code: str
) -> None:
    response = client.open(url, method=method)
    assert response.status_code == status
    assert response.is_json
    assert response.get_json()["error"] == code


def test_method_not_allowed_says_what_is(client: FlaskClient) -> None:
    response = client.get("/api/diagnosis")
    assert response.headers["Allow"]
    assert "POST" in response.headers["Allow"]


def test_unknown_page_is_html(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"no such URL" in response.data


def test_unexpected_errors_reveal_nothing(
    client: FlaskClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from labserve.models.sklearn_model import SklearnModel

    def explode(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret internal detail /etc/passwd")

    monkeypatch.setattr(SklearnModel, "predict_valid", explode)
    response = client.post("/api/diagnosis", json=ROW)
    assert response.status_code == 500
    assert response.get_json() == {
        "error": "internal_error",
        "message": "internal server error; see the server log",
        "field": None,
    }
    assert b"secret" not in response.data
    assert b"Traceback" not in response.data


def test_predictions_explain_themselves_on_request(
    client: FlaskClient, malignant_row: dict
) -> None:
    plain = client.post(PREDICT, json={"inputs": [malignant_row]}).get_json()["predictions"][0]
    assert "contributions" not in plain
    body = client.post(
        PREDICT, json={"inputs": [malignant_row], "parameters": {"explain": True}}
    ).get_json()
    prediction = body["predictions"][0]
    explained = prediction["contributions"]
    assert explained["class"] == "Malignant"
    assert set(explained["values"]) == set(ROW)
    total = explained["baseline"] + sum(explained["values"].values())
    # exact in scikit-learn's arithmetic; the served probability is rounded to 4 decimals
    assert total == pytest.approx(prediction["probabilities"]["Malignant"], abs=6e-5)
    refused = client.post(
        "/api/v1/models/summarizer/predict",
        json={"inputs": [{"text": "A text."}], "parameters": {"explain": True}},
    )
    assert (refused.status_code, refused.get_json()["field"]) == (422, "parameters.explain")
