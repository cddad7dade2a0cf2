"""Every model a lab adds gets a page, the JSON API, CSV scoring and the OpenAPI contract,
generated from its schema: a multiclass classifier, a regressor, a categorical pipeline."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from labserve.models.store import ModelStore
from labserve.web import close_app, create_app
from tests.model_fixtures import LabModel


@pytest.fixture
def lab_app(
    lab_instance: Path, lab_store: ModelStore, lab_models: dict[str, LabModel], tmp_path: Path
) -> Iterator[Flask]:
    for name in ("wine", "diabetes", "categorical"):
        lab_store.add(name, lab_models[name].folder, source=f"test {name}")
    lab_store.add("wine", lab_models["no-proba"].folder)  # version 2: another model entirely
    app = create_app(
        {
            "INSTANCE_PATH": str(lab_instance),
            "LOAD_MODELS": "sync",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "MODEL_POLL_SECONDS": 0,
            "WTF_CSRF_ENABLED": False,  # the test client posts forms without the token
        }
    )
    yield app
    close_app(app)


@pytest.fixture
def lab_client(lab_app: Flask) -> FlaskClient:
    return lab_app.test_client()


def json_row(lab: LabModel, index: int = 0) -> dict[str, Any]:
    row = lab.X.iloc[index].to_dict()
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()}


def test_the_index_lists_every_model(lab_client: FlaskClient) -> None:
    page = lab_client.get("/").get_data(as_text=True)
    for name in ("wine", "diabetes", "categorical", "diagnosis", "summarizer"):
        assert f'href="/models/{name}"' in page


def test_a_classifier_page_is_generated_from_its_schema(
    lab_client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    wine = lab_models["wine"]
    page = lab_client.get("/models/wine").get_data(as_text=True)
    for index, name in enumerate(wine.X.columns):
        assert f'<input id="f{index}" name="{name}"' in page
    assert 'alcohol <span class="unit">(% vol)</span>' in page
    assert "(whole numbers)" in page  # magnesium is counted
    assert "typical class_1 case" in page
    assert "Confusion matrix, cross-validation" in page
    assert "Feature importance: impurity" in page
    assert "2 (promoted)" not in page
    assert "1 (promoted)" in page
    form = {name: str(value) for name, value in json_row(wine, 100).items()}
    result = lab_client.post("/models/wine", data=form).get_data(as_text=True)
    assert f'id="predicted-label">{wine.y[100]}<' in result
    assert result.count('aria-label="probability of class_') == 3


def test_a_pinned_version_has_its_own_page(lab_client: FlaskClient) -> None:
    page = lab_client.get("/models/wine?version=2").get_data(as_text=True)
    assert 'action="/models/wine?version=2"' in page
    assert "LinearSVC" in page
    assert lab_client.get("/models/wine?version=7").status_code == 404


def test_a_regressor_page_shows_the_value_and_the_fit(
    lab_client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    diabetes = lab_models["diabetes"]
    page = lab_client.get("/models/diabetes").get_data(as_text=True)
    assert "Predicted vs actual" in page
    assert page.count('class="plot-dot"') == 300
    assert re.search(r'class="plot-tick-label">\d+', page)  # the axes have values
    assert "R²" in page
    form = {name: str(value) for name, value in json_row(diabetes, 3).items()}
    result = lab_client.post("/models/diabetes", data=form).get_data(as_text=True)
    value = float(re.search(r'id="predicted-value">([^<]+)<', result)[1])  # type: ignore[index]
    expected = float(diabetes.estimator.predict(diabetes.X.iloc[[3]])[0])
    assert value == pytest.approx(expected, rel=1e-5)


def test_a_categorical_feature_is_a_select(
    lab_client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    categorical = lab_models["categorical"]
    page = lab_client.get("/models/categorical").get_data(as_text=True)
    assert re.search(r'<select id="f1" name="sex"', page)
    assert '<option value="F"' in page
    assert '<option value="M"' in page
    form = {name: str(value) for name, value in json_row(categorical, 0).items()}
    ok = lab_client.post("/models/categorical", data=form)
    assert ok.status_code == 200
    bad = lab_client.post("/models/categorical", data={**form, "sex": "X"})
    assert bad.status_code == 422
    assert re.search(r'<p id="f1-error" class="error">must be one of', bad.get_data(as_text=True))


def test_the_api_pins_versions_and_lists_them(
    lab_client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    row = json_row(lab_models["wine"], 0)
    promoted = lab_client.post("/api/v1/models/wine/predict", json={"inputs": [row]}).get_json()
    assert promoted["version"] == "1"
    assert set(promoted["predictions"][0]) == {"label", "probabilities", "warnings"}
    pinned = lab_client.post("/api/v1/models/wine/predict?version=2", json={"inputs": [row]})
    assert pinned.get_json()["version"] == "2"
    assert set(pinned.get_json()["predictions"][0]) == {"label", "warnings"}
    missing = lab_client.post("/api/v1/models/wine/predict?version=9", json={"inputs": [row]})
    assert (missing.status_code, missing.get_json()["error"]) == (404, "model_not_found")
    wrong = lab_client.post("/api/v1/models/wine/predict?version=x", json={"inputs": [row]})
    assert (wrong.status_code, wrong.get_json()["field"]) == (422, "version")
    versions = lab_client.get("/api/v1/models/wine/versions").get_json()
    assert versions["promoted"] == "1"
    assert [(v["version"], v["promoted"]) for v in versions["versions"]] == [
        ("1", True),
        ("2", False),
    ]
    assert versions["versions"][0]["source"] == "test wine"
    card = lab_client.get("/api/v1/models/wine?version=2").get_json()
    assert (card["version"], card["estimator"]) == ("2", "StandardScaler → LinearSVC")


def test_out_of_range_inputs_are_flagged_in_json_and_csv(
    lab_client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    row = {**json_row(lab_models["categorical"], 0), "bmi": 80.0}
    body = lab_client.post("/api/v1/models/categorical/predict", json={"inputs": [row]}).get_json()
    assert body["predictions"][0]["warnings"] == [
        {"field": "bmi", "message": "80 is outside the training range 18 to 42.2"}
    ]
    frame = lab_models["categorical"].X.head(3).copy()
    frame.loc[1, "bmi"] = 80.0
    frame.loc[2, "sex"] = "X"
    scored = lab_client.post(
        "/api/v1/models/categorical/predict.csv",
        data=frame.to_csv(index=False),
        content_type="text/csv",
    ).get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(scored)))
    assert list(rows[0])[-3:] == ["value", "warnings", "error"]
    assert rows[0]["warnings"] == ""
    assert rows[0]["error"] == ""
    assert rows[1]["warnings"] == "bmi: 80 is outside the training range 18 to 42.2"
    assert rows[2]["error"] == "sex: must be one of F, M"
    assert rows[2]["value"] == ""
    expected = lab_models["categorical"].estimator.predict(lab_models["categorical"].X.head(1))
    assert float(rows[0]["value"]) == pytest.approx(float(expected[0]))


def test_openapi_describes_each_model_and_matches_its_answers(
    lab_client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    spec = lab_client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    assert schemas["CategoricalInput"]["properties"]["sex"]["enum"] == ["F", "M"]
    assert schemas["WinePrediction"]["properties"]["label"]["enum"] == [
        "class_0",
        "class_1",
        "class_2",
    ]
    resolver_root = {"components": spec["components"]}
    for name in ("wine", "diabetes", "categorical"):
        operation = spec["paths"][f"/api/v1/models/{name}/predict"]["post"]
        request_schema = operation["requestBody"]["content"]["application/json"]["schema"]
        response_schema = operation["responses"]["200"]["content"]["application/json"]["schema"]
        body = {"inputs": [json_row(lab_models[name], i) for i in range(3)]}
        jsonschema.validate(body, {**request_schema, **resolver_root})
        answer = lab_client.post(f"/api/v1/models/{name}/predict", json=body).get_json()
        jsonschema.validate(answer, {**response_schema, **resolver_root})
