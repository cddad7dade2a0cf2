"""Edges where the server and its OpenAPI document once disagreed (found by Schemathesis):
query numbers, empty filters, non-finite answers, CSV sent as a form field."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import jsonschema
import pytest
from flask import Flask
from flask.testing import FlaskClient

from labserve.models.store import ModelStore
from labserve.web import close_app, create_app
from tests.model_fixtures import LabModel

CARD = "/api/v1/models/diagnosis"


@pytest.mark.parametrize(
    "version",
    ["0", "00", "-1", "1.0", "", "\u00b2", "\u0661", "9" * 5000, "1000000000", " 1"],
)
def test_a_version_that_is_not_a_whole_number_in_range_is_refused(
    client: FlaskClient, version: str
) -> None:
    """Superscript and Arabic-Indic digits pass ``str.isdigit``; ``int`` fails on the first
    (it used to answer 500) and would take the second; thousands of digits overflow ``int``."""
    response = client.get(CARD, query_string={"version": version})
    assert response.status_code == 422
    assert response.get_json()["field"] == "version"


def test_a_version_with_leading_zeros_is_that_version(client: FlaskClient) -> None:
    assert client.get(CARD, query_string={"version": "0001"}).get_json()["version"] == "1"
    assert client.get(CARD, query_string={"version": "999999999"}).status_code == 404


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"limit": "\u00b2"}, "limit"),
        ({"limit": "0"}, "limit"),
        ({"limit": "1001"}, "limit"),
        ({"limit": "1" * 5000}, "limit"),
        ({"since": ""}, "since"),
        ({"since": "yesterday"}, "since"),
    ],
)
def test_bad_audit_filters_are_refused(client: FlaskClient, query: dict, field: str) -> None:
    response = client.get("/api/v1/predictions", query_string=query)
    assert response.status_code == 422
    assert response.get_json()["field"] == field


def test_audit_filters_at_their_limits(client: FlaskClient) -> None:
    for query in ({"limit": "1000"}, {"limit": "0007"}, {"since": "2026-01-31"}, {"model": ""}):
        assert client.get("/api/v1/predictions", query_string=query).status_code == 200, query


def test_json_answers_never_hold_nan_or_infinity(app: Flask) -> None:
    text = app.json.dumps({"a": [float("nan"), 1.5, {"b": float("-inf")}], "c": "x"})
    assert text == '{"a": [null, 1.5, {"b": null}], "c": "x"}'


@pytest.fixture
def diabetes_client(
    lab_instance: Path, lab_store: ModelStore, lab_models: dict[str, LabModel], tmp_path: Path
) -> Iterator[FlaskClient]:
    lab_store.add("diabetes", lab_models["diabetes"].folder)
    app = create_app(
        {
            "INSTANCE_PATH": str(lab_instance),
            "LOAD_MODELS": "sync",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
        }
    )
    yield app.test_client()
    close_app(app)


# numpy warns of the overflow (pytest makes warnings errors); a server logs it and answers
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_a_regression_that_overflows_answers_null_as_documented(
    diabetes_client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    """A linear model fed 1e308 (no hard limits, only warnings) computes inf - inf = NaN."""
    columns = list(lab_models["diabetes"].X.columns)
    row = {name: 1e308 if i % 2 else -1e308 for i, name in enumerate(columns)}
    response = diabetes_client.post(
        "/api/v1/models/diabetes/predict", json={"inputs": [row, {n: 0.0 for n in columns}]}
    )
    assert response.status_code == 200
    assert b"NaN" not in response.data
    assert b"Infinity" not in response.data
    overflowed, normal = response.get_json()["predictions"]
    assert overflowed["value"] is None
    assert isinstance(normal["value"], float)
    schemas = diabetes_client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    jsonschema.validate(overflowed, schemas["DiabetesPrediction"])


def test_csv_sent_as_a_multipart_text_field_is_scored(
    client: FlaskClient, benign_row: dict
) -> None:
    """``curl -F 'file=<cases.csv'`` sends the file's text as a field without a filename."""
    text = ",".join(benign_row) + "\n" + ",".join(map(str, benign_row.values())) + "\n"
    response = client.post(
        "/api/v1/models/diagnosis/predict.csv",
        data={"file": text},
        content_type="multipart/form-data",
    )
    assert response.status_code == 200
    assert response.get_data(as_text=True).splitlines()[1].split(",")[6] == "Benign"
    empty = client.post(
        "/api/v1/models/diagnosis/predict.csv",
        data={"other": (io.BytesIO(b"x"), "x.csv")},
        content_type="multipart/form-data",
    )
    assert empty.status_code == 422
    assert empty.get_json()["field"] == "file"
