"""save_model: a lab's fitted model becomes a folder that serves exactly what the notebook
predicts, described by metadata computed from the reference data."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labserve
from labserve.models.errors import InvalidInput, InvalidModelSource
from tests.conftest import serve_folder
from tests.model_fixtures import LabModel, diabetes_frame, wine_data


def metadata_of(folder: Path) -> dict[str, Any]:
    return json.loads((folder / "metadata.json").read_text())  # type: ignore[no-any-return]


def rows_of(frame: Any, n: int) -> list[dict[str, Any]]:
    return [
        {k: (v.item() if isinstance(v, np.generic) else v) for k, v in row.items()}
        for row in frame.head(n).to_dict(orient="records")
    ]


# -- multiclass classifier --------------------------------------------------------------------
def test_a_multiclass_classifier_serves_what_the_notebook_predicts(
    lab_models: dict[str, LabModel],
) -> None:
    wine = lab_models["wine"]
    meta = metadata_of(wine.folder)
    assert meta["kind"] == "sklearn"
    assert meta["task"] == "classification"
    assert meta["classes"] == ["class_0", "class_1", "class_2"]
    assert meta["description"] == "Wine cultivar from 13 chemical measurements"
    features = {f["name"]: f for f in meta["features"]}
    assert list(features) == list(wine.X.columns)
    assert features["alcohol"]["unit"] == "% vol"
    assert features["alcohol"]["training_min"] == float(wine.X["alcohol"].min())
    assert features["magnesium"]["integer"] is True
    cv = meta["metrics"]["cross_validation"]
    assert cv["method"].startswith("3-fold cross-validation")
    assert cv["n"] == 178
    assert 0.85 < cv["accuracy"] <= 1.0
    assert len(cv["confusion_matrix"]["matrix"]) == 3
    assert "roc_auc_ovr" in cv
    assert set(meta["examples"]) == {
        "typical class_0 case",
        "typical class_1 case",
        "typical class_2 case",
    }
    assert meta["feature_importances"]["method"].startswith("impurity")

    model = serve_folder(wine.folder, name="wine")
    predictions = model.predict(rows_of(wine.X, 20))
    expected = wine.estimator.predict_proba(wine.X.head(20))
    assert [p["label"] for p in predictions] == list(wine.estimator.predict(wine.X.head(20)))
    for prediction, row in zip(predictions, expected, strict=True):
        assert list(prediction["probabilities"]) == meta["classes"]
        assert list(prediction["probabilities"].values()) == pytest.approx(row, abs=1e-5)
        assert prediction["warnings"] == []


def test_typical_cases_predict_their_class(lab_models: dict[str, LabModel]) -> None:
    wine = lab_models["wine"]
    model = serve_folder(wine.folder, name="wine")
    for title, case in metadata_of(wine.folder)["examples"].items():
        assert model.predict([case])[0]["label"] == title.split()[1]


def test_inputs_outside_the_training_range_are_flagged_not_refused(
    lab_models: dict[str, LabModel],
) -> None:
    wine = lab_models["wine"]
    model = serve_folder(wine.folder, name="wine")
    row = {**rows_of(wine.X, 1)[0], "alcohol": 30.0, "hue": 0.01}
    (prediction,) = model.predict([row])
    assert prediction["warnings"] == [
        {"field": "alcohol", "message": "30 is outside the training range 11.03 to 14.83"},
        {"field": "hue", "message": "0.01 is outside the training range 0.48 to 1.71"},
    ]


# -- regressor --------------------------------------------------------------------------------
def test_a_regressor_serves_values(lab_models: dict[str, LabModel]) -> None:
    diabetes = lab_models["diabetes"]
    meta = metadata_of(diabetes.folder)
    assert meta["task"] == "regression"
    assert meta["classes"] == []
    cv = meta["metrics"]["cross_validation"]
    assert 0.3 < cv["r2"] < 0.7
    assert cv["mae"] > 0
    assert len(cv["predicted_vs_actual"]) == 300  # thinned for the card
    model = serve_folder(diabetes.folder, name="diabetes")
    predictions = model.predict(rows_of(diabetes.X, 10))
    expected = diabetes.estimator.predict(diabetes.X.head(10))
    assert [p["value"] for p in predictions] == pytest.approx(expected.tolist())
    assert set(predictions[0]) == {"value", "warnings"}
    assert model.output_columns == ["value", "warnings"]


# -- categorical columns ----------------------------------------------------------------------
def test_a_pipeline_with_a_categorical_column(lab_models: dict[str, LabModel]) -> None:
    categorical = lab_models["categorical"]
    meta = metadata_of(categorical.folder)
    sex = next(f for f in meta["features"] if f["name"] == "sex")
    assert sex == {
        "name": "sex",
        "type": "category",
        "label": "sex",
        "unit": "",
        "description": "",
        "categories": ["F", "M"],
    }
    assert meta["feature_importances"]["method"].startswith("permutation")
    assert meta["onnx"]["available"] is False
    model = serve_folder(categorical.folder, name="categorical")
    rows = rows_of(categorical.X, 8)
    predictions = model.predict(rows)
    expected = categorical.estimator.predict(categorical.X.head(8))
    assert [p["value"] for p in predictions] == pytest.approx(expected.tolist())
    schema = model.input_schema()
    assert schema["properties"]["sex"]["enum"] == ["F", "M"]
    with pytest.raises(InvalidInput, match="must be one of") as refused:
        model.predict([{**rows[0], "sex": "X"}])
    assert refused.value.field == "inputs[0].sex"


# -- a classifier without predict_proba -------------------------------------------------------
def test_a_classifier_without_probabilities_gives_labels(lab_models: dict[str, LabModel]) -> None:
    svm = lab_models["no-proba"]
    meta = metadata_of(svm.folder)
    assert meta["has_probabilities"] is False
    assert "accuracy" in meta["metrics"]["cross_validation"]
    model = serve_folder(svm.folder, name="svm")
    predictions = model.predict(rows_of(svm.X, 5))
    assert [p["label"] for p in predictions] == list(svm.estimator.predict(svm.X.head(5)))
    assert set(predictions[0]) == {"label", "warnings"}
    assert model.output_columns == ["label", "warnings"]


# -- ONNX -------------------------------------------------------------------------------------
def test_an_onnx_file_exported_with_skl2onnx(
    lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    wine = lab_models["wine-onnx"]
    folder = labserve.save_model(wine.folder, tmp_path / "onnx", reference=wine.X, target=wine.y)
    meta = metadata_of(folder)
    assert meta["kind"] == "onnx"
    assert meta["onnx_io"]["layout"] == "matrix"
    assert meta["onnx_io"]["probability_format"] == "zipmap"
    assert meta["classes"] == ["class_0", "class_1", "class_2"]
    assert [f["name"] for f in meta["features"]] == list(wine.X.columns)
    assert meta["metrics"]["reference"]["method"].startswith("the reference data given")
    model = serve_folder(folder, name="wine-onnx")
    predictions = model.predict(rows_of(wine.X, 30))
    expected = wine.estimator.predict_proba(wine.X.head(30))
    for prediction, row in zip(predictions, expected, strict=True):
        assert list(prediction["probabilities"].values()) == pytest.approx(row, abs=1e-5)
    assert [p["label"] for p in predictions] == list(wine.estimator.predict(wine.X.head(30)))


def test_an_onnx_regressor_with_a_column_per_input(tmp_path: Path) -> None:
    from skl2onnx import to_onnx
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = diabetes_frame()
    numbers = [c for c in X.columns if c != "sex"]
    prepare = ColumnTransformer([("s", OneHotEncoder(), ["sex"]), ("n", StandardScaler(), numbers)])
    estimator = make_pipeline(prepare, Ridge()).fit(X, y)
    onnx_model = to_onnx(estimator, X[:1])
    folder = labserve.save_model(onnx_model, tmp_path / "m", reference=X, target=y)
    meta = metadata_of(folder)
    assert meta["onnx_io"]["layout"] == "columns"
    assert meta["task"] == "regression"
    assert next(f for f in meta["features"] if f["name"] == "sex")["categories"] == ["F", "M"]
    model = serve_folder(folder, name="m")
    rows = rows_of(X, 5)
    values = [p["value"] for p in model.predict(rows)]
    assert values == pytest.approx(estimator.predict(X.head(5)).tolist(), rel=1e-6)


def test_an_onnx_matrix_needs_column_names(lab_models: dict[str, LabModel], tmp_path: Path) -> None:
    wine = lab_models["wine-onnx"]
    with pytest.raises(InvalidModelSource, match="--features"):
        labserve.save_model(wine.folder, tmp_path / "m")
    with pytest.raises(InvalidModelSource, match="takes 13 columns but 2 feature names"):
        labserve.save_model(wine.folder, tmp_path / "n", features=["a", "b"])


# -- what is refused --------------------------------------------------------------------------
def test_an_object_without_predict_is_refused(tmp_path: Path) -> None:
    from sklearn.preprocessing import StandardScaler

    X, _ = wine_data()
    with pytest.raises(InvalidModelSource, match="no predict method"):
        labserve.save_model(StandardScaler().fit(X), tmp_path / "m", reference=X)
    assert not (tmp_path / "m").exists()


def test_reference_data_that_does_not_match_the_model_is_refused(
    lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    wine = lab_models["wine"]
    with pytest.raises(InvalidModelSource, match="no column 'alcohol'"):
        labserve.save_model(
            wine.estimator, tmp_path / "m", reference=wine.X.drop(columns="alcohol")
        )


def test_a_model_fitted_on_an_array_needs_names(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    X, y = wine_data()
    model = LogisticRegression(max_iter=5000).fit(X.to_numpy(), y)
    with pytest.raises(InvalidModelSource, match="features= "):
        labserve.save_model(model, tmp_path / "a")
    with pytest.raises(InvalidModelSource, match="takes 13 features but 2"):
        labserve.save_model(model, tmp_path / "b", features=["x", "y"])
    folder = labserve.save_model(model, tmp_path / "c", reference=X.to_numpy(), features=list(X))
    served = serve_folder(folder, name="c")
    assert served.predict(rows_of(X, 1))[0]["label"] == y[0]


def test_a_threshold_decides_a_binary_classifier(tmp_path: Path) -> None:
    from sklearn.datasets import load_breast_cancer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    data = load_breast_cancer(as_frame=True)
    y = np.where(data.target == 0, "malignant", "benign")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000)).fit(data.data, y)
    with pytest.raises(InvalidModelSource, match="positive_class must be one of"):
        labserve.save_model(
            model, tmp_path / "x", reference=data.data, positive_class="tumour", threshold=0.3
        )
    folder = labserve.save_model(
        model,
        tmp_path / "m",
        reference=data.data,
        target=y,
        positive_class="malignant",
        threshold=0.05,
    )
    served = serve_folder(folder, name="m")
    rows = rows_of(data.data, 569)
    p = model.predict_proba(data.data)[:, list(model.classes_).index("malignant")]
    labels = [prediction["label"] for prediction in served.predict(rows)]
    assert labels == ["malignant" if v >= 0.05 else "benign" for v in np.round(p, 6)]
    assert labels.count("malignant") > list(model.predict(data.data)).count("malignant")
    cv = metadata_of(folder)["metrics"]["cross_validation"]
    assert cv["positive_class"] == "malignant"
    assert cv["sensitivity"] > 0.97  # a low threshold trades specificity for sensitivity


def test_a_non_empty_folder_is_not_overwritten_by_accident(
    lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    wine = lab_models["wine"]
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "notes.txt").write_text("mine")
    with pytest.raises(InvalidModelSource, match="not empty"):
        labserve.save_model(wine.estimator, tmp_path / "m", reference=wine.X)
    assert (tmp_path / "m" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("on_frame", [True, False])
def test_tree_ensembles_explain_exactly(lab_models: dict[str, LabModel], on_frame: bool) -> None:
    from sklearn.ensemble import ExtraTreesRegressor, RandomForestClassifier

    from labserve.models.contributions import tree_contributions

    wine = lab_models["wine"]
    X = wine.X if on_frame else wine.X.to_numpy()
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, wine.y)
    found = tree_contributions(forest, X)
    rebuilt = found.baseline + found.values.sum(axis=1)
    assert np.max(np.abs(rebuilt - forest.predict_proba(X))) < 1e-12
    diabetes = lab_models["diabetes"]
    trees = ExtraTreesRegressor(n_estimators=5, random_state=0).fit(diabetes.X, diabetes.y)
    found = tree_contributions(trees, diabetes.X)
    rebuilt = found.baseline + found.values.sum(axis=1)
    assert np.max(np.abs(rebuilt[:, 0] - trees.predict(diabetes.X))) < 1e-9


def test_a_served_forest_explains_each_prediction(lab_models: dict[str, LabModel]) -> None:
    wine = lab_models["wine"]
    model = serve_folder(wine.folder, name="wine")
    assert model.can_explain
    rows = rows_of(wine.X, 5)
    params = model.validate_parameters({"explain": True})
    for prediction in model.predict_valid(model.validate(rows), params):
        explained = prediction["contributions"]
        assert explained["class"] == prediction["label"]
        total = explained["baseline"] + sum(explained["values"].values())
        assert total == pytest.approx(prediction["probabilities"][prediction["label"]], abs=2e-5)
    assert "explain" in model.parameters_schema()["properties"]
    ridge = serve_folder(lab_models["diabetes"].folder, name="ridge")
    with pytest.raises(InvalidInput, match="cannot explain") as refused:
        ridge.validate_parameters({"explain": True})
    assert refused.value.field == "parameters.explain"
    assert "explain" not in ridge.parameters_schema()["properties"]  # not offered either


def test_inputs_beyond_float32_are_explained_as_the_forest_decides_them(
    lab_models: dict[str, LabModel],
) -> None:
    """Scaled values past float32's range become ±inf for the trees: paths still exist."""
    wine = lab_models["wine"]
    model = serve_folder(wine.folder, name="wine")
    row = {name: value * 1e300 for name, value in rows_of(wine.X, 1)[0].items()}
    params = model.validate_parameters({"explain": True})
    (prediction,) = model.predict_valid(model.validate([row]), params)
    explained = prediction["contributions"]
    total = explained["baseline"] + sum(explained["values"].values())
    assert total == pytest.approx(prediction["probabilities"][prediction["label"]], abs=2e-5)


def test_one_row_at_a_time_and_whole_batches_agree_exactly(lab_models: dict[str, LabModel]) -> None:
    """Small batches take plain-Python paths, large ones numpy: the answers are identical."""
    wine = lab_models["wine"]
    model = serve_folder(wine.folder, name="wine")
    rows = rows_of(wine.X, len(wine.X))
    assert model.predict(rows) == [model.predict([row])[0] for row in rows]
    # a linear model's dot products are summed in another order by BLAS for a batch
    diabetes = lab_models["diabetes"]
    ridge = serve_folder(diabetes.folder, name="diabetes")
    rows = rows_of(diabetes.X, len(diabetes.X))
    batch = [p["value"] for p in ridge.predict(rows)]
    assert batch == pytest.approx([ridge.predict([row])[0]["value"] for row in rows], rel=1e-12)
