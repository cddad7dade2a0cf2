"""Persistence: a round trip gives the same answers; tampered or foreign files are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from labserve.models.artifacts import ARTIFACT_FILENAME, METADATA_FILENAME, save_skops
from labserve.models.catalog import diagnosis_artifact_dir
from labserve.models.diagnosis import DiagnosisModel
from labserve.models.diagnosis.training import build_pipeline, load_training_data
from labserve.models.errors import ArtifactError, ModelNotReady


@pytest.fixture
def artifact_copy(trained_instance: Path, tmp_path: Path) -> Path:
    target = tmp_path / "diagnosis"
    shutil.copytree(diagnosis_artifact_dir(trained_instance), target)
    return target


def test_round_trip_matches_a_fresh_fit(artifact_copy: Path) -> None:
    model = DiagnosisModel(artifact_copy)
    model.load()
    data = load_training_data()
    meta = json.loads((artifact_copy / METADATA_FILENAME).read_text())
    from sklearn.model_selection import train_test_split

    X_train, _, y_train, _ = train_test_split(
        data.X,
        data.y,
        test_size=0.2,
        stratify=data.y,
        random_state=meta["hyperparameters"]["random_state"],
    )
    refit = build_pipeline(meta["hyperparameters"]["random_state"]).fit(X_train, y_train)
    expected = refit.predict_proba(data.X)[:, 1]
    # the skops round trip is exact; the served (ONNX) answers are within the checked 1e-5
    np.testing.assert_array_equal(model._pipeline.predict_proba(data.X)[:, 1], expected)
    np.testing.assert_allclose(model.probability_malignant(data.X), expected, rtol=0, atol=1e-5)


def test_tampered_artifact_is_refused(artifact_copy: Path) -> None:
    path = artifact_copy / ARTIFACT_FILENAME
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    model = DiagnosisModel(artifact_copy)
    with pytest.raises(ArtifactError, match="does not match its metadata"):
        model.load()
    assert model.status.startswith("failed: ")
    with pytest.raises(ModelNotReady):
        model.predict([{}])


class Smuggled:
    """A type no allow-list names: what an attacker would ship inside an artifact."""


def replace_artifact(directory: Path, obj: object) -> None:
    """Write ``obj`` as the artifact and make metadata.json agree with its hash."""
    sha = save_skops(obj, directory / ARTIFACT_FILENAME)
    meta = json.loads((directory / METADATA_FILENAME).read_text())
    meta["artifact"]["sha256"] = sha
    (directory / METADATA_FILENAME).write_text(json.dumps(meta))


def test_untrusted_types_are_refused_even_with_a_matching_hash(artifact_copy: Path) -> None:
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    replace_artifact(artifact_copy, Pipeline([("x", FunctionTransformer(func=Smuggled))]))
    with pytest.raises(ArtifactError, match="untrusted types: .*Smuggled"):
        DiagnosisModel(artifact_copy).load()


def test_an_artifact_that_is_not_a_classifier_is_refused(artifact_copy: Path) -> None:
    from sklearn.preprocessing import StandardScaler

    replace_artifact(artifact_copy, StandardScaler().fit(load_training_data().X))
    with pytest.raises(ArtifactError, match="not a fitted classifier"):
        DiagnosisModel(artifact_copy).load()


def test_missing_artifact_says_how_to_train(tmp_path: Path) -> None:
    model = DiagnosisModel(tmp_path / "nothing")
    with pytest.raises(ArtifactError, match="labserve train diagnosis"):
        model.load()
    assert "labserve train diagnosis" in model.status


def test_metadata_without_hash_is_refused(artifact_copy: Path) -> None:
    (artifact_copy / METADATA_FILENAME).write_text(json.dumps({"name": "diagnosis"}))
    with pytest.raises(ArtifactError, match="sha256"):
        DiagnosisModel(artifact_copy).load()


def test_corrupt_metadata_is_refused(artifact_copy: Path) -> None:
    (artifact_copy / METADATA_FILENAME).write_text("{not json")
    with pytest.raises(ArtifactError, match="cannot read"):
        DiagnosisModel(artifact_copy).load()
