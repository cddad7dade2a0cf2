"""Loading a stored version: a round trip gives the same answers; tampered or foreign files
are refused."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from labserve.models.artifacts import ARTIFACT_FILENAME, METADATA_FILENAME, save_skops
from labserve.models.diagnosis.training import build_pipeline, load_training_data
from labserve.models.errors import ArtifactError, ModelNotReady
from tests.conftest import diagnosis_folder, serve_folder


@pytest.fixture
def artifact_copy(trained_instance: Path, tmp_path: Path) -> Path:
    target = tmp_path / "diagnosis"
    shutil.copytree(diagnosis_folder(trained_instance), target)
    return target


def test_round_trip_matches_a_fresh_fit(artifact_copy: Path) -> None:
    model = serve_folder(artifact_copy)
    data = load_training_data()
    meta = json.loads((artifact_copy / METADATA_FILENAME).read_text())
    from sklearn.model_selection import train_test_split

    labels = np.where(data.y == 1, "Malignant", "Benign")
    seed = meta["hyperparameters"]["random_state"]
    X_train, _, y_train, _ = train_test_split(
        data.X, labels, test_size=0.2, stratify=labels, random_state=seed
    )
    refit = build_pipeline(seed).fit(X_train, y_train)
    expected = refit.predict_proba(data.X)
    # the skops round trip is exact; the served (ONNX) answers are within the checked 1e-5
    np.testing.assert_array_equal(model._estimator.predict_proba(data.X), expected)
    served = model.predict_table(model_table(model, data.X)).probabilities
    np.testing.assert_allclose(served, expected, rtol=0, atol=1e-5)


def model_table(model: object, X: np.ndarray) -> object:
    from labserve.models.tabular import Table

    return Table.from_matrix(model.features, X)  # type: ignore[attr-defined]


def test_tampered_artifact_is_refused(artifact_copy: Path) -> None:
    path = artifact_copy / ARTIFACT_FILENAME
    blob = bytearray(path.read_bytes())
    blob[len(blob) // 2] ^= 0xFF
    path.write_bytes(bytes(blob))
    with pytest.raises(ArtifactError, match="does not match its metadata"):
        serve_folder(artifact_copy)


def test_a_failed_load_is_reported_and_refuses_predictions(artifact_copy: Path) -> None:
    from labserve.models.base import ModelSource
    from labserve.models.sklearn_model import SklearnModel

    (artifact_copy / ARTIFACT_FILENAME).unlink()
    meta = json.loads((artifact_copy / METADATA_FILENAME).read_text())
    model = SklearnModel(ModelSource("diagnosis", "1", artifact_copy, meta))
    with pytest.raises(ArtifactError, match="missing"):
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
        serve_folder(artifact_copy)


def test_an_artifact_that_is_not_the_classifier_described_is_refused(artifact_copy: Path) -> None:
    from sklearn.preprocessing import StandardScaler

    replace_artifact(artifact_copy, StandardScaler().fit(load_training_data().X))
    with pytest.raises(ArtifactError, match="no predict"):
        serve_folder(artifact_copy)


def test_metadata_without_hash_is_refused(artifact_copy: Path) -> None:
    meta = json.loads((artifact_copy / METADATA_FILENAME).read_text())
    del meta["artifact"]["sha256"]
    (artifact_copy / METADATA_FILENAME).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="sha256"):
        serve_folder(artifact_copy)


def test_corrupt_metadata_is_refused(artifact_copy: Path) -> None:
    (artifact_copy / METADATA_FILENAME).write_text("{not json")
    with pytest.raises(ArtifactError, match="cannot read"):
        serve_folder(artifact_copy)


def test_an_artifact_file_outside_the_folder_is_refused(artifact_copy: Path) -> None:
    meta = json.loads((artifact_copy / METADATA_FILENAME).read_text())
    meta["artifact"]["file"] = "../elsewhere.skops"
    (artifact_copy / METADATA_FILENAME).write_text(json.dumps(meta))
    with pytest.raises(ArtifactError, match="outside the version folder"):
        serve_folder(artifact_copy)
