"""Serving the trained diagnosis pipeline."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel

from labserve.models.artifacts import ARTIFACT_FILENAME, load_skops, read_metadata
from labserve.models.base import ROW_PREFIX, Prediction, ServedModel
from labserve.models.diagnosis.features import (
    BENIGN,
    DIAGNOSIS_FEATURES,
    FEATURE_NAMES,
    MALIGNANT,
)
from labserve.models.errors import ArtifactError
from labserve.models.features import make_row_model, validate_rows

#: The only types a diagnosis artifact may contain beyond what skops trusts by default.
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.pipeline.Pipeline",
    "sklearn.preprocessing._data.StandardScaler",
    "sklearn.tree._classes.DecisionTreeClassifier",
    "sklearn.tree._tree.Tree",
    "numpy.dtype",
    "numpy.ndarray",
)

DiagnosisInput = make_row_model("diagnosis", DIAGNOSIS_FEATURES)


class DiagnosisModel(ServedModel[BaseModel]):
    """Malignant/Benign from six WDBC features, with the probability of malignancy."""

    name = "diagnosis"
    title = "Breast mass diagnosis"
    summary = "Random forest on six Wisconsin (WDBC) cell-nucleus features."
    input_model = DiagnosisInput
    features = DIAGNOSIS_FEATURES

    def __init__(self, artifact_dir: Path) -> None:
        super().__init__()
        self.artifact_dir = artifact_dir
        self.metadata: dict[str, Any] = {}
        self._pipeline: Any = None
        self._malignant_column = 1

    def _load(self) -> None:
        if not (self.artifact_dir / ARTIFACT_FILENAME).exists():
            raise ArtifactError(
                f"no trained artifact in {self.artifact_dir}; run `labserve train diagnosis`"
            )
        metadata = read_metadata(self.artifact_dir)
        try:
            expected = metadata["artifact"]["sha256"]
        except (KeyError, TypeError) as exc:
            raise ArtifactError("metadata.json has no artifact.sha256") from exc
        pipeline = load_skops(self.artifact_dir / ARTIFACT_FILENAME, expected, TRUSTED_TYPES)
        if not (hasattr(pipeline, "predict_proba") and hasattr(pipeline, "classes_")):
            raise ArtifactError(
                f"artifact holds a {type(pipeline).__name__}, not a fitted classifier pipeline"
            )
        classes = [int(c) for c in pipeline.classes_]
        if sorted(classes) != [0, 1]:
            raise ArtifactError(f"expected classes [0, 1] (1 = malignant), found {classes}")
        self._malignant_column = classes.index(1)
        self._pipeline = pipeline
        self.metadata = metadata

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unknown"))

    def validate(self, rows: Sequence[object], *, row_prefix: str = ROW_PREFIX) -> list[BaseModel]:
        return validate_rows(self.input_model, rows, row_prefix=row_prefix)

    def probability_malignant(self, X: np.ndarray) -> np.ndarray:
        """P(malignant) for a matrix of rows in ``FEATURE_NAMES`` order."""
        self.require_ready()
        proba = self._pipeline.predict_proba(X)
        return np.asarray(proba[:, self._malignant_column], dtype=np.float64)

    def predict_matrix(self, X: np.ndarray) -> list[Prediction]:
        threshold = float(self.metadata.get("threshold", 0.5))
        return [
            {
                "label": MALIGNANT if p >= threshold else BENIGN,
                "probability_malignant": round(float(p), 6),
            }
            for p in self.probability_malignant(X)
        ]

    def predict_valid(self, rows: Sequence[BaseModel], parameters: Any = None) -> list[Prediction]:
        X = np.array(
            [[getattr(row, name) for name in FEATURE_NAMES] for row in rows], dtype=np.float64
        )
        return self.predict_matrix(X)

    def card(self) -> dict[str, Any]:
        return dict(self.metadata)
