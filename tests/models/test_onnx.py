"""The exact ONNX fast path of the sklearn kind: the same answers as scikit-learn, verified
when saved, checked at load, refused when tampered.

A tampered ``model.onnx`` makes the version refuse to load (like a tampered ``model.skops``)
rather than fall back: the hash says someone changed the version folder, so nothing in it
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

from labserve.models import exact_onnx, saving
from labserve.models.artifacts import METADATA_FILENAME
from labserve.models.diagnosis import FEATURE_NAMES
from labserve.models.diagnosis.training import load_training_data
from labserve.models.errors import ArtifactError
from labserve.models.exact_onnx import ONNX_FILENAME, round_thresholds_down
from labserve.models.tabular import Table
from tests.conftest import diagnosis_folder, serve_folder


@pytest.fixture
def artifact_copy(trained_instance: Path, tmp_path: Path) -> Path:
    target = tmp_path / "diagnosis"
    shutil.copytree(diagnosis_folder(trained_instance), target)
    return target


@pytest.fixture(scope="module")
def served(trained_instance: Path) -> Any:
    """The shared version, served as deployed (read-only: tests that tamper use a copy)."""
    return serve_folder(diagnosis_folder(trained_instance))


@pytest.fixture(scope="module")
def plain(trained_instance: Path, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same version without its ONNX file: scikit-learn answers."""
    directory = tmp_path_factory.mktemp("plain") / "diagnosis"
    shutil.copytree(diagnosis_folder(trained_instance), directory)
    (directory / ONNX_FILENAME).unlink()
    model = serve_folder(directory)
    assert model.engine == "scikit-learn"
    return model


def as_json_rows(X: np.ndarray) -> list[dict[str, float]]:
    return [dict(zip(FEATURE_NAMES, map(float, row), strict=True)) for row in X]


def read_metadata(directory: Path) -> dict[str, Any]:
    return json.loads((directory / METADATA_FILENAME).read_text())  # type: ignore[no-any-return]


def write_metadata(directory: Path, metadata: dict[str, Any]) -> None:
    (directory / METADATA_FILENAME).write_text(json.dumps(metadata))


def answers(model: Any, X: np.ndarray) -> dict[str, list[str]]:
    return model.predict_arrays(Table.from_matrix(model.features, X))  # type: ignore[no-any-return]


# -- the same answers -------------------------------------------------------------------------
def test_onnx_and_sklearn_agree_on_the_whole_bundled_data(served: Any, plain: Any) -> None:
    assert served.engine == "onnxruntime"
    X = load_training_data().X
    reference = served._estimator.predict_proba(X)
    compiled = served.predict_table(Table.from_matrix(served.features, X)).probabilities
    assert np.max(np.abs(compiled - reference)) <= 1e-5
    onnx_answers, sk_answers = answers(served, X), answers(plain, X)
    assert onnx_answers == sk_answers
    # the JSON path (validate, one row at a time or all at once) says the same
    rows = as_json_rows(X)
    for batch in (served.predict(rows), [served.predict([row])[0] for row in rows]):
        assert [p["label"] for p in batch] == sk_answers["label"]
        served_p = [repr(p["probabilities"]["Malignant"]) for p in batch]
        assert served_p == sk_answers["probability_Malignant"]


def test_agreement_holds_off_the_training_points(served: Any, plain: Any) -> None:
    rng = np.random.default_rng(7)
    X = np.repeat(load_training_data().X, 20, axis=0) * rng.uniform(0.7, 1.3, (569 * 20, 6))
    assert answers(served, X) == answers(plain, X)


def test_thresholds_are_rounded_down_to_float32(served: Any) -> None:
    exact = round_thresholds_down(served._estimator)
    for original, rounded in zip(
        served._estimator.named_steps["forest"].estimators_,
        exact.named_steps["forest"].estimators_,
        strict=True,
    ):
        before, after = original.tree_.threshold, rounded.tree_.threshold
        assert np.all(after <= before)
        np.testing.assert_array_equal(after.astype(np.float32).astype(np.float64), after)


def test_only_tree_ensembles_after_scalers_are_compiled() -> None:
    from sklearn.ensemble import ExtraTreesClassifier, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import MinMaxScaler, StandardScaler

    assert exact_onnx.exactly_compilable(RandomForestClassifier())
    assert exact_onnx.exactly_compilable(make_pipeline(StandardScaler(), ExtraTreesClassifier()))
    assert not exact_onnx.exactly_compilable(
        make_pipeline(MinMaxScaler(), RandomForestClassifier())
    )
    assert not exact_onnx.exactly_compilable(LogisticRegression())


# -- what saving records ----------------------------------------------------------------------
def test_saving_records_the_check(trained_instance: Path) -> None:
    directory = diagnosis_folder(trained_instance)
    section = read_metadata(directory)["onnx"]
    assert section["available"] is True
    assert section["file"] == ONNX_FILENAME
    assert section["sha256"] == hashlib.sha256((directory / ONNX_FILENAME).read_bytes()).hexdigest()
    assert section["opset"]["ai.onnx"] >= 9
    assert "ai.onnx.ml" in section["opset"]
    assert section["input"] == {"name": "X", "type": "double", "shape": [None, 6]}
    check = section["agreement"]
    assert section["tolerance"] == 1e-5
    assert check["rows"] == 569  # the training rows and the held-out ones: every bundled row
    assert check["labels_equal"] is True
    assert check["max_abs_probability_difference"] <= 1e-5
    assert check["passed"] is True


def forest_and_data() -> tuple[Any, np.ndarray, np.ndarray]:
    from sklearn.ensemble import RandomForestClassifier

    data = load_training_data()
    forest = RandomForestClassifier(n_estimators=5, random_state=0).fit(data.X, data.y)
    return forest, data.X, data.y


def test_a_failed_compilation_still_saves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: Any
) -> None:
    def broken(estimator: Any, n_features: int) -> bytes:
        raise RuntimeError("unsupported operator")

    monkeypatch.setattr(exact_onnx, "compile_exact", broken)
    forest, X, y = forest_and_data()
    with caplog.at_level(logging.WARNING):
        saving.save_model(forest, tmp_path / "m", reference=X, features=FEATURE_NAMES, cv=0)
    section = read_metadata(tmp_path / "m")["onnx"]
    assert section == {"available": False, "reason": "compilation failed: unsupported operator"}
    assert not (tmp_path / "m" / ONNX_FILENAME).exists()
    assert "ONNX compilation failed" in caplog.text
    assert serve_folder(tmp_path / "m").engine == "scikit-learn"


def test_a_failed_check_writes_no_onnx_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(exact_onnx, "TOLERANCE", -1.0)  # no difference is small enough
    forest, X, _ = forest_and_data()
    saving.save_model(forest, tmp_path / "m", reference=X, features=FEATURE_NAMES, cv=0)
    section = read_metadata(tmp_path / "m")["onnx"]
    assert section["available"] is False
    assert section["reason"] == "compiled answers differ"
    assert section["agreement"]["labels_equal"] is True
    assert not (tmp_path / "m" / ONNX_FILENAME).exists()


# -- serving ----------------------------------------------------------------------------------
def test_card_reports_the_engine(served: Any) -> None:
    card = served.card()
    assert card["serving"] == {"engine": "onnxruntime", "fallback_reason": None, "onnx_threads": 1}
    assert {key: card[key] for key in served.metadata} == served.metadata


def test_one_thread_per_session_unless_configured(artifact_copy: Path) -> None:
    model = serve_folder(artifact_copy, onnx_threads=2)
    assert model.card()["serving"]["onnx_threads"] == 2
    options = model._compiled.session.get_session_options()
    assert (options.intra_op_num_threads, options.inter_op_num_threads) == (2, 1)


def test_tampered_onnx_file_is_refused(artifact_copy: Path) -> None:
    path = artifact_copy / ONNX_FILENAME
    blob = bytearray(path.read_bytes())
    blob[-10] ^= 0x01
    path.write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match="model.onnx does not match its metadata"):
        serve_folder(artifact_copy)


def test_an_onnx_file_outside_the_folder_is_refused(artifact_copy: Path) -> None:
    meta = read_metadata(artifact_copy)
    meta["onnx"]["file"] = "../elsewhere.onnx"
    write_metadata(artifact_copy, meta)
    with pytest.raises(ArtifactError, match="outside the version folder"):
        serve_folder(artifact_copy)


def fallback(artifact_copy: Path, caplog: Any) -> Any:
    """Load the copy, expect scikit-learn, and check it still answers like ONNX would."""
    with caplog.at_level(logging.WARNING):
        model = serve_folder(artifact_copy)
    assert model.engine == "scikit-learn"
    assert model.card()["serving"]["engine"] == "scikit-learn"
    assert model.fallback_reason is not None
    assert model.predict(as_json_rows(load_training_data().X[:1]))[0]["label"] == "Malignant"
    return model


def test_missing_onnx_file_falls_back_with_the_reason(artifact_copy: Path, caplog: Any) -> None:
    (artifact_copy / ONNX_FILENAME).unlink()
    model = fallback(artifact_copy, caplog)
    assert model.fallback_reason in caplog.text
    assert model.card()["serving"] == {
        "engine": "scikit-learn",
        "fallback_reason": "model.onnx is missing",
        "onnx_threads": None,
    }


def test_failed_check_at_saving_means_scikit_learn(artifact_copy: Path, caplog: Any) -> None:
    meta = read_metadata(artifact_copy)
    meta["onnx"] = {"available": False, "reason": "compiled answers differ"}
    write_metadata(artifact_copy, meta)
    model = fallback(artifact_copy, caplog)
    assert "differ" in str(model.fallback_reason)


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
    def wrong(self: exact_onnx.CompiledProbabilities, X: np.ndarray) -> np.ndarray:
        return np.full((len(X), 2), 0.5)

    monkeypatch.setattr(exact_onnx.CompiledProbabilities, "__call__", wrong)
    model = fallback(artifact_copy, caplog)
    assert "differ from scikit-learn at load" in str(model.fallback_reason)


def test_the_load_check_survives_odd_metadata(artifact_copy: Path) -> None:
    meta = read_metadata(artifact_copy)
    meta["examples"] = {"typical Benign case": {"radius_mean": "n/a"}}
    write_metadata(artifact_copy, meta)
    assert serve_folder(artifact_copy).engine == "onnxruntime"


def test_an_empty_batch_predicts_nothing(served: Any) -> None:
    assert served.predict_valid([]) == []


def test_the_direct_binding_answers_as_the_public_run(trained_instance: Path) -> None:
    """``CompiledProbabilities`` calls onnxruntime's binding directly (a cheaper call);
    its answers must be exactly those of the documented ``InferenceSession.run``."""
    model_bytes = (diagnosis_folder(trained_instance) / ONNX_FILENAME).read_bytes()
    compiled = exact_onnx.CompiledProbabilities(model_bytes)
    assert compiled.run != compiled.session.run  # the direct call is in use here
    X = load_training_data().X[:50]
    (public,) = compiled.session.run([compiled.output_name], {compiled.input_name: X})
    assert np.array_equal(compiled(X), np.asarray(public, dtype=np.float64))
