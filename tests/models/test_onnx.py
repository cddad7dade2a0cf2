"""The ONNX fast path: the same answers as scikit-learn, verified, and refused when tampered."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from labserve.models.artifacts import ARTIFACT_FILENAME, METADATA_FILENAME
from labserve.models.catalog import diagnosis_artifact_dir
from labserve.models.diagnosis import DiagnosisModel
from labserve.models.diagnosis.onnx_export import ONNX_FILENAME, round_thresholds_down
from labserve.models.diagnosis.training import load_training_data
from labserve.models.errors import ArtifactError


@pytest.fixture
def artifact_copy(trained_instance: Path, tmp_path: Path) -> Path:
    target = tmp_path / "diagnosis"
    shutil.copytree(diagnosis_artifact_dir(trained_instance), target)
    return target


@pytest.fixture
def served(artifact_copy: Path) -> DiagnosisModel:
    model = DiagnosisModel(artifact_copy)
    model.load()
    return model


def sklearn_answers(artifact_dir: Path, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the plain scikit-learn pipeline says (ONNX file removed)."""
    plain = artifact_dir.parent / "plain"
    shutil.copytree(artifact_dir, plain)
    (plain / ONNX_FILENAME).unlink()
    model = DiagnosisModel(plain)
    model.load()
    assert model.engine == "scikit-learn"
    return model.predict_arrays(X)


def test_onnx_and_sklearn_agree_on_the_whole_bundled_data(
    served: DiagnosisModel, artifact_copy: Path
) -> None:
    assert served.engine == "onnxruntime"
    X = load_training_data().X
    onnx_labels, onnx_p = served.predict_arrays(X)
    sk_labels, sk_p = sklearn_answers(artifact_copy, X)
    np.testing.assert_array_equal(onnx_labels, sk_labels)
    assert np.max(np.abs(onnx_p - sk_p)) <= 1e-5


def test_agreement_holds_off_the_training_points(
    served: DiagnosisModel, artifact_copy: Path
) -> None:
    rng = np.random.default_rng(7)
    X = np.repeat(load_training_data().X, 20, axis=0) * rng.uniform(0.7, 1.3, (569 * 20, 6))
    onnx_labels, onnx_p = served.predict_arrays(X)
    sk_labels, sk_p = sklearn_answers(artifact_copy, X)
    np.testing.assert_array_equal(onnx_labels, sk_labels)
    assert np.max(np.abs(onnx_p - sk_p)) <= 1e-5


def test_training_records_the_check(artifact_copy: Path) -> None:
    section = json.loads((artifact_copy / METADATA_FILENAME).read_text())["onnx"]
    assert section["available"] is True
    for check, rows in (("check_held_out", 114), ("check_all_rows", 569)):
        assert section[check]["rows"] == rows
        assert section[check]["labels_equal"] is True
        assert section[check]["max_abs_probability_difference"] <= 1e-5
        assert section[check]["passed"] is True


def test_thresholds_are_rounded_down_to_float32(served: DiagnosisModel) -> None:
    exact = round_thresholds_down(served._pipeline)
    for original, rounded in zip(
        served._pipeline.named_steps["forest"].estimators_,
        exact.named_steps["forest"].estimators_,
        strict=True,
    ):
        before, after = original.tree_.threshold, rounded.tree_.threshold
        assert np.all(after <= before)
        np.testing.assert_array_equal(after.astype(np.float32).astype(np.float64), after)


def test_tampered_onnx_file_is_refused(artifact_copy: Path) -> None:
    path = artifact_copy / ONNX_FILENAME
    blob = bytearray(path.read_bytes())
    blob[-10] ^= 0x01
    path.write_bytes(bytes(blob))
    model = DiagnosisModel(artifact_copy)
    with pytest.raises(ArtifactError, match="model.onnx does not match"):
        model.load()
    assert not model.ready


def test_missing_onnx_file_falls_back_with_the_reason(artifact_copy: Path) -> None:
    (artifact_copy / ONNX_FILENAME).unlink()
    model = DiagnosisModel(artifact_copy)
    model.load()
    assert model.card()["serving"] == {
        "engine": "scikit-learn",
        "fallback_reason": "model.onnx is missing",
    }


def test_failed_check_at_training_means_scikit_learn(artifact_copy: Path) -> None:
    meta = json.loads((artifact_copy / METADATA_FILENAME).read_text())
    meta["onnx"] = {"available": False, "reason": "ONNX answers differ from scikit-learn"}
    (artifact_copy / METADATA_FILENAME).write_text(json.dumps(meta))
    model = DiagnosisModel(artifact_copy)
    model.load()
    assert model.engine == "scikit-learn"
    assert "differ" in str(model.fallback_reason)
    assert (artifact_copy / ARTIFACT_FILENAME).is_file()
