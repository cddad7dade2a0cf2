"""The published OpenAPI document is valid, complete, and matches what the API answers.

Schemathesis checks every operation against a live server (tests/test_api_contract.py); these
are the quick checks of what the document promises: every route, the keys, the statuses, and
examples that the server accepts and answers as shown.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient
from openapi_spec_validator import validate

from labserve.db import create_key
from labserve.web import close_app, create_app
from labserve.web.persistence import get_database

OPTIONAL = [{}, {"bearer": []}, {"apiKey": []}]
REQUIRED = [{"bearer": []}, {"apiKey": []}]
#: Never rate limited; of them, /metrics needs the `metrics` scope once keys are required.
OPERATIONS_ROUTES = {"/healthz", "/readyz", "/metrics"}
#: Open whatever the keys.
OPEN_ROUTES = {"/healthz", "/readyz"}


def document(client: FlaskClient, **headers: str) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json", headers=headers)
    assert response.status_code == 200
    spec: dict[str, Any] = response.get_json()
    return spec


def operations(spec: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def conforms(value: Any, schema: dict[str, Any], spec: dict[str, Any]) -> None:
    """Validate ``value`` against a schema of the document (its $refs resolved)."""
    jsonschema.Draft202012Validator({**schema, "components": spec["components"]}).validate(value)


@pytest.fixture
def app_with(app_config: dict[str, Any]) -> Iterator[Any]:
    """Apps with changed settings, closed afterwards."""
    made: list[Flask] = []

    def make(**settings: Any) -> Flask:
        made.append(create_app({**app_config, **settings}))
        return made[-1]

    yield make
    for app in made:
        close_app(app)


def test_spec_is_valid_openapi(client: FlaskClient) -> None:
    spec = document(client)
    validate(spec)
    assert spec["openapi"] == "3.1.0"
    assert "/api/v1/models/diagnosis/predict" in spec["paths"]
    assert "/api/diagnosis" in spec["paths"]


def test_every_route_is_documented(app: Flask, client: FlaskClient) -> None:
    """Each API and operations route of the app, once per served model; the summarizer has no
    CSV route (it is not tabular: its predict.csv answers 422 for any file)."""
    served = ["diagnosis", "summarizer"]
    expected = set()
    for rule in app.url_map.iter_rules():
        if not (rule.rule.startswith("/api") or rule.rule in OPERATIONS_ROUTES):
            continue
        methods = {m.lower() for m in rule.methods or ()} - {"head", "options"}
        names = served if "<name>" in rule.rule else [""]
        for name, method in ((n, m) for n in names for m in methods):
            path = rule.rule.replace("<name>", name)
            if not (name == "summarizer" and path.endswith("predict.csv")):
                expected.add((path, method))
    assert {(path, method) for path, method, _ in operations(document(client))} == expected


def test_keys_are_optional_by_default_and_never_asked_of_health_routes(
    client: FlaskClient,
) -> None:
    spec = document(client)
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "apiKey"}
    assert spec["components"]["securitySchemes"]["apiKey"]["name"] == "X-API-Key"
    for path, _, operation in operations(spec):
        if path in OPEN_ROUTES:
            assert operation["security"] == []
            assert "401" not in operation["responses"]
        else:
            assert operation["security"] == OPTIONAL, path
            assert "401" in operation["responses"], path


def test_required_keys_are_documented_as_required(app_with: Any) -> None:
    app = app_with(REQUIRE_API_KEY=True)
    with app.app_context():
        key = create_key(get_database().engine, "docs")
    spec = document(app.test_client(), **{"X-API-Key": key})
    for path, _, operation in operations(spec):
        assert operation["security"] == ([] if path in OPEN_ROUTES else REQUIRED), path


def test_the_audit_log_needs_a_key_once_one_exists(app: Flask, client: FlaskClient) -> None:
    audit = "/api/v1/predictions"
    assert document(client)["paths"][audit]["get"]["security"] == OPTIONAL
    with app.app_context():
        key = create_key(get_database().engine, "docs")
    spec = document(client, Authorization=f"Bearer {key}")
    assert spec["paths"][audit]["get"]["security"] == REQUIRED
    assert spec["paths"]["/api/v1/models"]["get"]["security"] == OPTIONAL
    assert client.get(audit).status_code == 401


def test_429_is_documented_only_with_a_rate_limit(
    client: FlaskClient, app_with: Any, malignant_row: dict[str, float]
) -> None:
    assert not any("429" in op["responses"] for _, _, op in operations(document(client)))
    limited = app_with(RATE_LIMIT="3/minute").test_client()
    spec = document(limited)
    for path, _, operation in operations(spec):
        assert ("429" in operation["responses"]) == (path not in OPERATIONS_ROUTES), path
    answers = [limited.post("/api/diagnosis", json=malignant_row) for _ in range(4)]  # per route
    refused = answers[-1]
    assert refused.status_code == 429
    documented = spec["paths"]["/api/diagnosis"]["post"]["responses"]["429"]
    conforms(refused.get_json(), documented["content"]["application/json"]["schema"], spec)
    assert refused.headers["Retry-After"].isdigit()
    assert set(documented["headers"]) == {"X-Request-ID", "Retry-After"}


def test_a_wrong_key_gets_the_documented_401(client: FlaskClient) -> None:
    spec = document(client)
    response = client.get("/api/v1/models", headers={"Authorization": "Bearer lsk_wrong"})
    assert response.status_code == 401
    documented = spec["paths"]["/api/v1/models"]["get"]["responses"]["401"]
    conforms(response.get_json(), documented["content"]["application/json"]["schema"], spec)
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="labserve"'


def test_published_input_schema_agrees_with_the_validator(
    client: FlaskClient, malignant_row: dict
) -> None:
    spec = document(client)
    schema = spec["components"]["schemas"]["DiagnosisInput"]
    jsonschema.validate(malignant_row, schema)  # what the API accepts, the schema accepts
    bad = {**malignant_row, "radius_mean": -1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    assert client.post("/api/diagnosis", json=bad).status_code == 422


def test_tutorial_routes_are_typed_from_the_models(client: FlaskClient) -> None:
    spec = document(client)
    diagnosis = spec["paths"]["/api/diagnosis"]["post"]
    body = diagnosis["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/DiagnosisInput"}
    answer = diagnosis["responses"]["200"]["content"]["application/json"]["schema"]
    assert answer["properties"]["diagnosis"]["enum"] == ["Benign", "Malignant"]
    summary = spec["paths"]["/api/prediction"]["post"]
    body = summary["requestBody"]["content"]["application/json"]["schema"]
    assert set(body["properties"]) == {"text", "maxlen", "minlen", "strip_digits", "return_sources"}
    assert body["required"] == ["text"]
    assert body["additionalProperties"] is False
    parameters = spec["components"]["schemas"]["SummarizerParameters"]["properties"]
    assert body["properties"]["maxlen"] == parameters["maxlen"]


def test_json_examples_are_accepted_and_answered_as_documented(client: FlaskClient) -> None:
    """Every request example is served with 200, and the answer is the documented example
    answer (the models are deterministic) and fits the documented schema."""
    spec = document(client)
    tried = 0
    for path, method, operation in operations(spec):
        body = operation.get("requestBody", {}).get("content", {}).get("application/json")
        if body is None:
            continue
        ok = operation["responses"]["200"]["content"]["application/json"]
        assert set(body["examples"]) == set(ok["examples"]), path
        for label, example in body["examples"].items():
            response = client.open(path, method=method, json=example["value"])
            assert response.status_code == 200, (path, label, response.get_json())
            conforms(response.get_json(), ok["schema"], spec)
            assert response.get_json() == ok["examples"][label]["value"], (path, label)
            tried += 1
    assert tried >= 6  # two typical cases for each diagnosis route, a text for each summary


def test_csv_examples_are_scored_as_documented(client: FlaskClient) -> None:
    spec = document(client)
    operation = spec["paths"]["/api/v1/models/diagnosis/predict.csv"]["post"]
    content = operation["requestBody"]["content"]
    example = content["text/csv"]["example"]
    assert re.search(content["text/csv"]["schema"]["pattern"], example)
    expected = operation["responses"]["200"]["content"]["text/csv"]["example"]
    raw = client.post("/api/v1/models/diagnosis/predict.csv", data=example, content_type="text/csv")
    assert raw.status_code == 200
    assert raw.get_data(as_text=True) == expected
    multipart = client.post(
        "/api/v1/models/diagnosis/predict.csv",
        data=content["multipart/form-data"]["example"],
        content_type="multipart/form-data",
    )
    assert multipart.status_code == 200
    assert multipart.get_data(as_text=True) == expected


def test_shared_answers_fit_their_schemas(client: FlaskClient, malignant_row: dict) -> None:
    client.post("/api/diagnosis", json=malignant_row)
    spec = document(client)
    for path in (
        "/api/v1/models",
        "/api/v1/models/diagnosis",
        "/api/v1/models/summarizer",
        "/api/v1/models/diagnosis/versions",
        "/api/v1/predictions",
        "/healthz",
        "/readyz",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        conforms(response.get_json(), schema["schema"], spec)


def test_component_names_stay_unique(tmp_path: Path) -> None:
    """``wine-onnx`` and ``wine_onnx`` would both be ``WineOnnx``: the second gets a number."""
    from labserve.models.summarizer import SummarizerModel
    from labserve.web.openapi.operations import ModelComponents

    components = ModelComponents({})
    first, second = SummarizerModel(), SummarizerModel()
    first.name, second.name = "wine-onnx", "wine_onnx"
    assert components.name(first, "Input") == "WineOnnxInput"
    assert components.name(second, "Input") == "WineOnnx2Input"
    assert components.name(first, "Input") == "WineOnnxInput"
