"""Lab models trained in the test session on data scikit-learn ships, and saved with
``labserve.save_model`` as a notebook user would: a multiclass classifier (wine), a regressor
(diabetes), a pipeline with a categorical column, a classifier without probabilities, and an
ONNX file exported with skl2onnx. Each is trained once per session (seeded) and read-only:
copy a folder before changing it.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import labserve
from labserve.models.store import ModelStore
from labserve.settings import Settings


@dataclass(frozen=True)
class LabModel:
    """A fitted estimator, the data it was fitted on, and its save_model folder."""

    estimator: Any
    X: Any
    y: Any
    folder: Path


def wine_data() -> tuple[Any, Any]:
    from sklearn.datasets import load_wine

    data = load_wine(as_frame=True)
    names = np.asarray(data.target_names)[data.target]
    return data.data, names


def diabetes_frame() -> tuple[Any, Any]:
    """Diabetes with ``sex`` as the category it really is (F/M), not a scaled number."""
    from sklearn.datasets import load_diabetes

    frame = load_diabetes(as_frame=True, scaled=False).frame
    frame["sex"] = frame["sex"].map({1.0: "F", 2.0: "M"})
    return frame.drop(columns="target"), frame["target"].to_numpy()


def train_wine() -> tuple[Any, Any, Any]:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    X, y = wine_data()
    forest = make_pipeline(
        StandardScaler(), RandomForestClassifier(n_estimators=30, random_state=0)
    )
    return forest.fit(X, y), X, y


def train_diabetes() -> tuple[Any, Any, Any]:
    from sklearn.datasets import load_diabetes
    from sklearn.linear_model import Ridge

    data = load_diabetes(as_frame=True)
    return Ridge(alpha=0.1).fit(data.data, data.target), data.data, data.target.to_numpy()


def train_categorical() -> tuple[Any, Any, Any]:
    """A ColumnTransformer pipeline: one-hot ``sex``, scaled numbers, a boosted regressor."""
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    X, y = diabetes_frame()
    numbers = [c for c in X.columns if c != "sex"]
    prepare = ColumnTransformer(
        [("sex", OneHotEncoder(), ["sex"]), ("numbers", StandardScaler(), numbers)]
    )
    model = make_pipeline(prepare, HistGradientBoostingRegressor(max_iter=30, random_state=0))
    return model.fit(X, y), X, y


def train_without_probabilities() -> tuple[Any, Any, Any]:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import LinearSVC

    X, y = wine_data()
    return make_pipeline(StandardScaler(), LinearSVC(random_state=0)).fit(X, y), X, y


@pytest.fixture(scope="session")
def lab_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, LabModel]:
    """Every lab model of this module, saved (with cross-validated metrics) once."""
    root = tmp_path_factory.mktemp("lab-models")
    made: dict[str, LabModel] = {}
    trainers: dict[str, tuple[Callable[[], tuple[Any, Any, Any]], dict[str, Any]]] = {
        "wine": (
            train_wine,
            {
                "description": "Wine cultivar from 13 chemical measurements",
                "units": {"alcohol": "% vol"},
            },
        ),
        "diabetes": (train_diabetes, {"description": "Disease progression after one year"}),
        "categorical": (train_categorical, {"description": "Progression, with sex as a category"}),
        "no-proba": (train_without_probabilities, {"description": "A linear SVM"}),
    }
    for name, (train, words) in trainers.items():
        estimator, X, y = train()
        folder = labserve.save_model(estimator, root / name, reference=X, target=y, cv=3, **words)
        made[name] = LabModel(estimator, X, y, folder)
    wine = made["wine"]
    onnx_path = root / "wine.onnx"
    onnx_path.write_bytes(export_onnx(wine.estimator, wine.X))
    made["wine-onnx"] = LabModel(wine.estimator, wine.X, wine.y, onnx_path)
    return made


def export_onnx(estimator: Any, X: Any) -> bytes:
    """What a user does in a notebook: skl2onnx's ``to_onnx`` on a float32 sample."""
    from skl2onnx import to_onnx

    model = to_onnx(estimator, np.asarray(X, dtype=np.float32)[:1])
    return bytes(model.SerializeToString())


@pytest.fixture
def lab_instance(trained_instance: Path, tmp_path: Path) -> Path:
    """A writable instance folder: the built-in models, ready for the test to add its own."""
    instance = tmp_path / "instance"
    shutil.copytree(trained_instance / "models", instance / "models")
    return instance


@pytest.fixture
def lab_store(lab_instance: Path) -> ModelStore:
    return ModelStore(Settings.load({"instance_path": lab_instance}).models_path)
