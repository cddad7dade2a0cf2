"""Reproducible training of the built-in diagnosis model from scikit-learn's copy of WDBC.

Seeded, stratified, with a held-out test split and 5-fold cross-validation on the training
split. The fitted pipeline is written with ``labserve.save_model`` like any lab's model:
``model.skops``, ``model.onnx`` (compiled exactly for onnxruntime and verified on every row)
and ``metadata.json``; ``labserve serve`` adds the folder to the store as a version of
``diagnosis``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from labserve.models.artifacts import sha256_file
from labserve.models.diagnosis.features import (
    BENIGN,
    DIAGNOSIS_FEATURES,
    FEATURE_NAMES,
    MALIGNANT,
    SKLEARN_COLUMNS,
)

log = logging.getLogger(__name__)

MODEL_NAME = "diagnosis"
DEFAULT_SEED = 42
#: Decimals of the served probabilities: the forest votes in steps of 0.01 anyway, and the
#: same rounding puts a 50/50 vote on the same side of the threshold whichever engine serves.
DECIMALS = 4
TEST_FRACTION = 0.2
N_TREES = 100
#: The decision threshold is the highest at which cross-validation catches at least this
#: share of malignant cases: missing a cancer costs more than a second look at a benign mass.
TARGET_SENSITIVITY = 0.95


@dataclass(frozen=True)
class TrainingData:
    """The six features and the target (1 = malignant) of every WDBC row, in file order."""

    X: np.ndarray
    y: np.ndarray
    source_sha256: str


def bundled_data_path() -> Path:
    """The CSV that scikit-learn ships (so training needs no download)."""
    return Path(str(resources.files("sklearn.datasets.data") / "breast_cancer.csv"))


def load_training_data() -> TrainingData:
    from sklearn.datasets import load_breast_cancer

    bunch = load_breast_cancer()
    columns = list(bunch.feature_names)
    index = [columns.index(SKLEARN_COLUMNS[name]) for name in FEATURE_NAMES]
    X = np.asarray(bunch.data[:, index], dtype=np.float64)
    malignant_code = list(bunch.target_names).index("malignant")
    y = (bunch.target == malignant_code).astype(np.int64)
    return TrainingData(X=X, y=y, source_sha256=sha256_file(bundled_data_path()))


def build_pipeline(seed: int) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    return Pipeline(
        [
            ("scaler", StandardScaler()),
            ("forest", RandomForestClassifier(n_estimators=N_TREES, random_state=seed, n_jobs=1)),
        ]
    )


def train_diagnosis(out_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Train, evaluate and save the diagnosis pipeline into ``out_dir``; return its metadata."""
    from sklearn.model_selection import train_test_split

    from labserve.models.artifacts import read_metadata
    from labserve.models.saving import save_model

    data = load_training_data()
    labels = np.where(data.y == 1, MALIGNANT, BENIGN)
    X_train, X_test, y_train, y_test = train_test_split(
        data.X, labels, test_size=TEST_FRACTION, stratify=labels, random_state=seed
    )
    pipeline = build_pipeline(seed).fit(X_train, y_train)
    save_model(
        pipeline,
        out_dir,
        reference=X_train,
        target=y_train,
        test=(X_test, y_test),
        features=list(DIAGNOSIS_FEATURES),
        title="Breast mass diagnosis",
        description="Random forest on six Wisconsin (WDBC) cell-nucleus features.",
        positive_class=MALIGNANT,
        target_sensitivity=TARGET_SENSITIVITY,
        seed=seed,
        overwrite=True,
        extra={
            "probability_decimals": DECIMALS,
            "hyperparameters": {"n_estimators": N_TREES, "random_state": seed},
            "training_data": {
                "source": "Wisconsin Diagnostic Breast Cancer, scikit-learn's bundled copy",
                "file": "sklearn/datasets/data/breast_cancer.csv",
                "sha256": data.source_sha256,
                "rows": int(len(data.y)),
                "malignant": int(data.y.sum()),
                "benign": int(len(data.y) - data.y.sum()),
                "split": {
                    "test_fraction": TEST_FRACTION,
                    "stratified": True,
                    "seed": seed,
                    "train_rows": int(len(y_train)),
                    "test_rows": int(len(y_test)),
                },
            },
            "intended_use": (
                "Teaching and research on the WDBC measurements. Not a medical device: "
                "never the sole basis of a clinical decision."
            ),
        },
    )
    return read_metadata(out_dir)
