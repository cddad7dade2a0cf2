"""The ONNX fast path: the same answers as scikit-learn, verified, and refused when tampered.

A tampered ``model.onnx`` makes the model refuse to load (like a tampered ``model.skops``)
rather than fall back: the hash says someone changed the artifact folder, so nothing in it
can be vouched for, and a model that reports ``failed`` on /readyz is noticed where a quietly
slower one is not. A *missing* file, or a runtime that cannot serve it, only costs speed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labserve.models.artifacts import ARTIFACT_FILENAME, METADATA_FILENAME
from labserve.models.catalog import diagnosis_artifact_dir
from labserve.models.diagnosis import FEATURE_NAMES, DiagnosisModel, onnx_export
from labserve.models.diagnosis.model import DECIMALS, round_probability
from labserve.models.diagnosis.onnx_export import ONNX_FILENAME, round_thresholds_down
from labserve.models.diagnosis.training import export_onnx, load_training_data
from labserve.models.errors import ArtifactError


@pytest.fixture
def artifact_copy(trained_instance: Path, tmp_path: Path) -> Path:
    target = tmp_path / "diagnosis"
    shutil.copytree(diagnosis_artifact_dir(trained_instance), target)
    return target


@pytest.fixture(scope="module")
def served(trained_instance: Path) -> DiagnosisModel:
    """The shared artifact, served as deployed (read-only: tests that tamper use a copy)."""
    model = DiagnosisModel(diagnosis_artifact_dir(trained_instance))
    model.load()
    return model


@pytest.fixture(scope="module")
def plain(trained_instance: Path, tmp_path_factory: pytest.TempPathFactory) -> DiagnosisModel:
    """The same artifact without its ONNX file: scikit-learn answers."""
    directory = tmp_path_factory.mktemp("plain") / "diagnosis"
    shutil.copytree(diagnosis_artifact_dir(trained_instance), directory)
    (directory / ONNX_FILENAME).unlink()
    model = DiagnosisModel(directory)
    model.load()
    assert model.engine == "scikit-learn"
    return model


def as_json_rows(X: np.ndarray) -> list[dict[str, float]]:
    return [dict(zip(FEATURE_NAMES, map(float, row), strict=True)) for row in X]


def read_metadata(directory: Path) -> dict[str, Any]:
    return json.loads((directory / METADATA_FILENAME).read_text())  # type: ignore[no-any-return]


def write_metadata(directory: Path, metadata: dict[str, Any]) -> None:
    (directory / METADATA_FILENAME).write_text(json.dumps(metadata))


# -- the same answers -------------------------------------------------------------------------
def test_onnx_and_sklearn_agree_on_the_whole_bundled_data(
    served: DiagnosisModel, plain: DiagnosisModel
) -> None:
    assert served.engine == "onnxruntime"
    X = load_training_data().X
    reference = served._pipeline.predict_proba(X)[:, 1]
    assert np.max(np.abs(served.probability_malignant(X) - reference)) <= 1e-5
    onnx_answers, sk_answers = served.predict_arrays(X), plain.predict_arrays(X)
    np.testing.assert_array_equal(onnx_answers["label"], sk_answers["label"])
    diff = onnx_answers["probability_malignant"] - sk_answers["probability_malignant"]
    assert np.max(np.abs(diff)) <= 1e-5
    # the JSON path (validate, one row at a time or all at once) says the same
    rows = as_json_rows(X)
    for batch in (served.predict(rows), [served.predict([row])[0] for row in rows]):
        assert [p["label"] for p in batch] == sk_answers["label"].tolist()
        served_p = np.array([p["probability_malignant"] for p in batch])
        assert np.max(np.abs(served_p - sk_answers["probability_malignant"])) <= 1e-5


def test_agreement_holds_off_the_training_points(
    served: DiagnosisModel, plain: DiagnosisModel
) -> None:
    rng = np.random.default_rng(7)
    X = np.repeat(load_training_data().X, 20, axis=0) * rng.uniform(0.7, 1.3, (569 * 20, 6))
    onnx_answers, sk_answers = served.predict_arrays(X), plain.predict_arrays(X)
    np.testing.assert_array_equal(onnx_answers["label"], sk_answers["label"])
    diff = onnx_answers["probability_malignant"] - sk_answers["probability_malignant"]
    assert np.max(np.abs(diff)) <= 1e-5


def test_the_row_path_and_the_vectorised_path_agree_exactly(served: DiagnosisModel) -> None:
    X = load_training_data().X
    arrays = served.predict_arrays(X)
    rows = served.predict_matrix(X)
    assert [r["label"] for r in rows] == arrays["label"].tolist()
    assert [r["probability_malignant"] for r in rows] == arrays["probability_malignant"].tolist()


def test_round_probability_is_numpy_round_bit_for_bit() -> None:
    rng = np.random.default_rng(3)
    values = np.concatenate([rng.random(100_000), np.arange(0, 1.0001, 1e-4), [0.5, 1.0, 0.0]])
    expected = np.round(values, DECIMALS)
    assert [round_probability(v) for v in values.tolist()] == expected.tolist()


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


# -- what training records --------------------------------------------------------------------
def test_training_records_the_check(trained_instance: Path) -> None:
    directory = diagnosis_artifact_dir(trained_instance)
    section = read_metadata(directory)["onnx"]
    assert section["available"] is True
    assert section["file"] == ONNX_FILENAME
    assert section["sha256"] == hashlib.sha256((directory / ONNX_FILENAME).read_bytes()).hexdigest()
    assert section["opset"]["ai.onnx"] >= 9
    assert "ai.onnx.ml" in section["opset"]
    assert section["input"] == {"name": "X", "type": "double", "shape": [None, 6]}
    assert set(section["libraries"]) == {"skl2onnx", "onnx", "onnxruntime"}
    check = section["check"]
    assert check["passed"] is True
    assert check["tolerance"] == 1e-5
    for name, rows in (("held_out", 114), ("all_rows", 569)):
        assert check[name]["rows"] == rows
        assert check[name]["labels_equal"] is True
        assert check[name]["max_abs_probability_difference"] <= 1e-5
        assert check[name]["passed"] is True


def test_a_failed_conversion_still_trains(
    served: DiagnosisModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(pipeline: Any, n_features: int) -> bytes:
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(onnx_export, "compile_pipeline", broken)
    X = load_training_data().X
    with caplog.at_level(logging.WARNING):
        section = export_onnx(served._pipeline, tmp_path, X[:10], X, 1)
    assert section == {
        "available": False,
        "reason": "conversion failed: RuntimeError: unsupported operator",
    }
    assert not (tmp_path / ONNX_FILENAME).exists()
    assert "ONNX export failed" in caplog.text


def test_a_failed_check_writes_no_onnx_file(
    served: DiagnosisModel, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setattr(onnx_export, "TOLERANCE", -1.0)  # no difference is small enough
    X = load_training_data().X
    with caplog.at_level(logging.WARNING):
        section = export_onnx(served._pipeline, tmp_path, X[:10], X, 1)
    assert section["available"] is False
    assert section["reason"].startswith("ONNX answers differ from scikit-learn")
    assert section["check"]["passed"] is False
    assert section["check"]["held_out"]["labels_equal"] is True
    assert not (tmp_path / ONNX_FILENAME).exists()
    assert "differ" in caplog.text


# -- serving ----------------------------------------------------------------------------------
def test_card_reports_the_engine(served: DiagnosisModel) -> None:
    card = served.card()
    assert card["serving"] == {"engine": "onnxruntime", "fallback_reason": None, "onnx_threads": 1}
    assert {key: card[key] for key in served.metadata} == served.metadata


def test_one_thread_per_session_unless_configured(
    artifact_copy: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setenv("LABSERVE_ONNX_THREADS", "2")
    model = DiagnosisModel(artifact_copy)
    model.load()
    assert model.card()["serving"]["onnx_threads"] == 2
    assert model._onnx is not None
    options = model._onnx.session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 1)
    monkeypatch.setenv("LABSERVE_ONNX_THREADS", "many")
    with caplog.at_level(logging.WARNING):
        assert onnx_export.onnx_threads() == 1
    assert "LABSERVE_ONNX_THREADS" in caplog.text


def test_tampered_onnx_file_is_refused(artifact_copy: Path) -> None:
    path = artifact_copy / ONNX_FILENAME
    blob = bytearray(path.read_bytes())
    blob[-10] ^= 0x01
    path.write_bytes(bytes(blob))
    model = DiagnosisModel(artifact_copy)
    with pytest.raises(ArtifactError, match="model.onnx does not match its metadata"):
        model.load()
    assert not model.ready
    assert model.status.startswith("failed: model.onnx does not match")
    assert model._pipeline is None  # nothing from the refused folder is kept


def test_an_onnx_file_outside_the_artifact_is_refused(artifact_copy: Path) -> None:
    meta = read_metadata(artifact_copy)
    meta["onnx"]["file"] = "../elsewhere.onnx"
    write_metadata(artifact_copy, meta)
    with pytest.raises(ArtifactError, match="outside the artifact"):
        DiagnosisModel(artifact_copy).load()


def fallback(artifact_copy: Path, caplog: Any) -> DiagnosisModel:
    """Load the copy, expect scikit-learn, and check it still answers like ONNX would."""
    with caplog.at_level(logging.WARNING):
        model = DiagnosisModel(artifact_copy)
        model.load()
    assert model.engine == "scikit-learn"
    assert model.card()["serving"]["engine"] == "scikit-learn"
    assert model.fallback_reason is not None
    assert model.fallback_reason in caplog.text
    assert model.predict(as_json_rows(load_training_data().X[:1]))[0]["label"] == "Malignant"
    return model


def test_missing_onnx_file_falls_back_with_the_reason(artifact_copy: Path, caplog: Any) -> None:
    (artifact_copy / ONNX_FILENAME).unlink()
    model = fallback(artifact_copy, caplog)
    assert model.card()["serving"] == {
        "engine": "scikit-learn",
        "fallback_reason": "model.onnx is missing",
        "onnx_threads": None,
    }


def test_failed_check_at_training_means_scikit_learn(artifact_copy: Path, caplog: Any) -> None:
    meta = read_metadata(artifact_copy)
    meta["onnx"] = {"available": False, "reason": "ONNX answers differ from scikit-learn"}
    write_metadata(artifact_copy, meta)
    model = fallback(artifact_copy, caplog)
    assert "differ" in str(model.fallback_reason)
    assert (artifact_copy / ARTIFACT_FILENAME).is_file()


def test_without_onnxruntime_scikit_learn_serves(
    artifact_copy: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # makes `import onnxruntime` fail
    model = fallback(artifact_copy, caplog)
    assert str(model.fallback_reason).startswith("onnxruntime is not importable")


def test_an_onnx_file_the_runtime_cannot_read_falls_back(artifact_copy: Path, caplog: Any) -> None:
    garbage = b"not an onnx model"
    (artifact_copy / ONNX_FILENAME).write_bytes(garbage)
    meta = read_metadata(artifact_copy)
    meta["onnx"]["sha256"] = hashlib.sha256(garbage).hexdigest()  # vouched for, but unreadable
    write_metadata(artifact_copy, meta)
    model = fallback(artifact_copy, caplog)
    assert str(model.fallback_reason).startswith("onnxruntime cannot load model.onnx")


def test_a_runtime_that_answers_differently_falls_back(
    artifact_copy: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def wrong(self: onnx_export.OnnxForest, X: np.ndarray) -> np.ndarray:
        return np.full(len(X), 0.5)

    monkeypatch.setattr(onnx_export.OnnxForest, "probability_malignant", wrong)
    model = fallback(artifact_copy, caplog)
    assert "differ from scikit-learn at load" in str(model.fallback_reason)


def test_the_load_check_survives_odd_metadata(artifact_copy: Path) -> None:
    meta = read_metadata(artifact_copy)
    meta["typical_cases"] = {"Benign": {"radius_mean": "n/a"}}
    del meta["features"]
    write_metadata(artifact_copy, meta)
    model = DiagnosisModel(artifact_copy)
    model.load()
    assert model.engine == "onnxruntime"


def test_a_matrix_of_the_wrong_shape_is_a_programming_error(served: DiagnosisModel) -> None:
    with pytest.raises(ValueError, match="expected rows of 6 features"):
        served.probability_malignant(np.zeros((2, 5)))
    assert served.predict_valid([]) == []
