"""Training the built-in diagnosis model: reproducible, stratified, evaluated, fully described."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from labserve.models.artifacts import ARTIFACT_FILENAME, METADATA_FILENAME, sha256_file
from labserve.models.diagnosis import FEATURE_NAMES
from labserve.models.diagnosis.training import (
    bundled_data_path,
    load_training_data,
    train_diagnosis,
)
from labserve.models.evaluation import MIN_CALIBRATION_BIN
from labserve.models.tabular import Table
from tests.conftest import diagnosis_folder, serve_folder


@pytest.fixture(scope="module")
def metadata(trained_instance: Path) -> dict:
    return json.loads((diagnosis_folder(trained_instance) / METADATA_FILENAME).read_text())


def test_training_data_is_the_bundled_copy() -> None:
    data = load_training_data()
    assert data.X.shape == (569, 6)
    assert int(data.y.sum()) == 212  # malignant rows in WDBC
    assert data.y[0] == 1  # row 0 is malignant
    assert data.source_sha256 == sha256_file(bundled_data_path())


def test_metadata_records_provenance(metadata: dict, trained_instance: Path) -> None:
    artifact = diagnosis_folder(trained_instance) / ARTIFACT_FILENAME
    assert metadata["kind"] == "sklearn"
    assert metadata["task"] == "classification"
    assert metadata["classes"] == ["Benign", "Malignant"]
    decision = metadata["decision"]
    assert decision["positive_class"] == "Malignant"
    assert decision["chosen_by"] == (
        "the highest threshold with sensitivity >= 0.95 for Malignant on 5-fold cross-validation"
    )
    assert metadata["artifact"]["sha256"] == sha256_file(artifact)
    assert metadata["training_data"]["sha256"] == sha256_file(bundled_data_path())
    assert metadata["training_data"]["split"]["stratified"] is True
    assert {"python", "numpy", "scikit-learn", "skops"} <= set(metadata["libraries"])
    names = [f["name"] for f in metadata["features"]]
    assert tuple(names) == FEATURE_NAMES
    for feature in metadata["features"]:
        assert feature["unit"]
        assert feature["description"]
        assert feature["minimum"] <= feature["training_min"] < feature["training_max"]
        assert feature["training_max"] <= feature["maximum"]
    assert set(metadata["examples"]) == {"typical Benign case", "typical Malignant case"}


def test_metrics_are_computed_and_plausible(metadata: dict) -> None:
    held = metadata["metrics"]["held_out"]
    assert held["n"] == metadata["training_data"]["split"]["test_rows"] == 114
    assert 0.85 <= held["accuracy"] <= 1.0
    assert 0.93 <= held["roc_auc"] <= 1.0
    assert 0.0 < held["brier_score"] < 0.15
    assert held["positive_class"] == "Malignant"
    assert held["confusion_matrix"]["labels"] == ["Benign", "Malignant"]
    (tn, fp), (fn, tp) = held["confusion_matrix"]["matrix"]
    assert tp + fn == 42
    assert fp + tn == 72
    assert held["sensitivity"] == pytest.approx(tp / (tp + fn), abs=1e-4)
    assert held["specificity"] == pytest.approx(tn / (tn + fp), abs=1e-4)
    assert held["accuracy"] == pytest.approx((tp + tn) / 114, abs=1e-4)
    cv = metadata["metrics"]["cross_validation"]
    assert cv["n"] == 455
    assert cv["method"].startswith("5-fold cross-validation")
    assert 0.85 <= cv["accuracy"] <= 1.0
    assert held["roc_curve"][0] == [0.0, 0.0]
    assert held["roc_curve"][-1] == [1.0, 1.0]
    importances = metadata["feature_importances"]
    assert importances["method"].startswith("impurity")
    assert {v["feature"] for v in importances["values"]} == set(FEATURE_NAMES)


def test_the_threshold_is_chosen_for_sensitivity_on_cross_validation(metadata: dict) -> None:
    threshold = metadata["decision"]["threshold"]
    cv = metadata["metrics"]["cross_validation"]
    assert cv["sensitivity"] >= 0.95
    assert 0.05 < threshold < 0.5  # lower than the default: fewer cancers missed
    # the highest such threshold: one vote step higher would miss more than 5% on CV
    held = metadata["metrics"]["held_out"]
    assert held["sensitivity"] > 0.9  # vs 0.833 at a fixed 0.5 on the same split
    for name in ("held_out", "cross_validation"):
        points = metadata["metrics"][name]["calibration"]
        assert sum(n for _, _, n in points) == metadata["metrics"][name]["n"]
        assert all(0 <= p <= 1 and 0 <= rate <= 1 for p, rate, _ in points)
        assert all(n >= MIN_CALIBRATION_BIN for _, _, n in points)  # no point on 2 cases
        predicted = [p for p, _, _ in points]
        assert predicted == sorted(predicted)
    assert len(metadata["metrics"]["held_out"]["calibration"]) == 5  # 114 cases


def test_training_is_reproducible(tmp_path: Path, metadata: dict, trained_instance: Path) -> None:
    again = train_diagnosis(tmp_path / "again")
    assert again["metrics"] == metadata["metrics"]
    first = serve_folder(diagnosis_folder(trained_instance))
    second = serve_folder(tmp_path / "again")
    table = Table.from_matrix(first.features, load_training_data().X)
    np.testing.assert_array_equal(
        first.predict_table(table).probabilities, second.predict_table(table).probabilities
    )


def test_a_different_seed_gives_a_different_forest(tmp_path: Path, metadata: dict) -> None:
    other = train_diagnosis(tmp_path / "other", seed=7)
    assert other["metrics"]["held_out"] != metadata["metrics"]["held_out"]
