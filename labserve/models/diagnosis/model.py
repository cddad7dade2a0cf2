"""Serving the trained diagnosis pipeline."""

from __future__ import annotations

import logging
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
    PROBABILITY_DECIMALS,
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

log = logging.getLogger(__name__)

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
        self._onnx: Any = None
        self.fallback_reason: str | None = None
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
        self._onnx, self.fallback_reason = self._load_onnx(metadata)

    def _load_onnx(self, metadata: dict[str, Any]) -> tuple[Any, str | None]:
        """The ONNX session when training verified it; else None and the reason.

        A file whose hash does not match is refused outright (the artifact folder has been
        tampered with); a missing file or a missing onnxruntime only costs speed.
        """
        import hashlib

        section = metadata.get("onnx") or {}
        if not section.get("available"):
            return None, str(section.get("reason", "no ONNX export in metadata.json"))
        path = self.artifact_dir / str(section.get("file", ""))
        if not path.is_file():
            reason = f"{path.name} is missing"
            log.warning("diagnosis: %s; serving with scikit-learn", reason)
            return None, reason
        model_bytes = path.read_bytes()
        if hashlib.sha256(model_bytes).hexdigest() != section.get("sha256"):
            raise ArtifactError(
                f"{path.name} does not match its metadata (sha256): refusing a modified file"
            )
        try:
            from labserve.models.diagnosis.onnx_export import OnnxForest

            return OnnxForest(model_bytes, self._malignant_column), None
        except ImportError as exc:
            log.warning("diagnosis: onnxruntime unavailable (%s); serving with scikit-learn", exc)
            return None, f"onnxruntime unavailable: {exc}"

    @property
    def engine(self) -> str:
        return "onnxruntime" if self._onnx is not None else "scikit-learn"

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unknown"))

    def validate(self, rows: Sequence[object], *, row_prefix: str = ROW_PREFIX) -> list[BaseModel]:
        return validate_rows(self.input_model, rows, row_prefix=row_prefix)

    def probability_malignant(self, X: np.ndarray) -> np.ndarray:
        """P(malignant) for a matrix of rows in ``FEATURE_NAMES`` order."""
        self.require_ready()
        if self._onnx is not None:
            return self._onnx.probability_malignant(X)  # type: ignore[no-any-return]
        proba = self._pipeline.predict_proba(X)
        return np.asarray(proba[:, self._malignant_column], dtype=np.float64)

    def predict_arrays(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Labels and P(malignant), vectorised.

        Probabilities are rounded to ``PROBABILITY_DECIMALS`` first, so a 50/50 forest vote
        lands on the same side of the threshold whichever engine serves.
        """
        probability = np.round(self.probability_malignant(X), PROBABILITY_DECIMALS)
        threshold = float(self.metadata.get("threshold", 0.5))
        labels = np.where(probability >= threshold, MALIGNANT, BENIGN)
        return labels, probability

    def predict_matrix(self, X: np.ndarray) -> list[Prediction]:
        labels, probability = self.predict_arrays(X)
        return [
            {"label": str(label), "probability_malignant": float(p)}
            for label, p in zip(labels, probability, strict=True)
        ]

    def predict_valid(self, rows: Sequence[BaseModel], parameters: Any = None) -> list[Prediction]:
        X = np.array(
            [[getattr(row, name) for name in FEATURE_NAMES] for row in rows], dtype=np.float64
        )
        return self.predict_matrix(X)

    def card(self) -> dict[str, Any]:
        card = dict(self.metadata)
        card["serving"] = {"engine": self.engine, "fallback_reason": self.fallback_reason}
        return card
