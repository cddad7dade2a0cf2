"""The published OpenAPI document is valid and matches what the API accepts."""

from __future__ import annotations

import jsonschema
import pytest
from flask.testing import FlaskClient
from openapi_spec_validator import validate


def test_spec_is_valid_openapi(client: FlaskClient) -> None:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    spec = response.get_json()
    validate(spec)
    assert "/api/v1/models/diagnosis/predict" in spec["paths"]
    assert "/api/diagnosis" in spec["paths"]


def test_published_input_schema_agrees_with_the_validator(
    client: FlaskClient, malignant_row: dict
) -> None:
    schema = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"][
        "DiagnosisInput"
    ]
    jsonschema.validate(malignant_row, schema)  # what the API accepts, the schema accepts
    bad = {**malignant_row, "radius_mean": -1}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    assert client.post("/api/diagnosis", json=bad).status_code == 422
