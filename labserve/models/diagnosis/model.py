"""Serving the trained diagnosis pipeline: onnxruntime when it can, scikit-learn otherwise.

The skops pipeline is always loaded: it is the source of truth (the card describes it, and
it answers when the ONNX engine cannot). The compiled ``model.onnx`` serves when training
verified it, its hash matches metadata.json, onnxruntime loads it, and a spot check at load
agrees with scikit-learn; it answers a row in microseconds instead of milliseconds.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Sequence
from operator import attrgetter
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
from labserve.models.diagnosis.onnx_export import ONNX_FILENAME, OnnxForest, agreement
from labserve.models.errors import ArtifactError
from labserve.models.features import FeatureSpec, make_row_model, validate_rows

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

#: Decimals of the probabilities served (the forest votes in steps of 0.01 anyway).
DECIMALS = 4
_SCALE = 10.0**DECIMALS

DiagnosisInput = make_row_model("diagnosis", DIAGNOSIS_FEATURES)

_row_values = attrgetter(*FEATURE_NAMES)


def round_probability(p: float) -> float:
    """``np.round(p, DECIMALS)`` for one float, bit for bit, at a tenth of the cost.

    numpy rounds by scaling, rounding half to even, and scaling back; Python's ``round`` of a
    float without digits also rounds half to even, so the same three IEEE operations give the
    same float. The one-row path uses this and the vectorised path ``np.round``: both must
    give the same label for the same row.
    """
    return round(p * _SCALE) / _SCALE


class DiagnosisModel(ServedModel[BaseModel]):
    """Malignant/Benign from six WDBC features, with the probability of malignancy."""

    name = "diagnosis"
    title = "Breast mass diagnosis"
    summary = "Random forest on six Wisconsin (WDBC) cell-nucleus features."
    input_model = DiagnosisInput
    features: tuple[FeatureSpec, ...] = DIAGNOSIS_FEATURES
    #: The columns ``predict_arrays`` returns, in order (CSV scoring writes them so).
    output_columns: tuple[str, ...] = ("label", "probability_malignant")

    def __init__(self, artifact_dir: Path) -> None:
        super().__init__()
        self.artifact_dir = artifact_dir
        self.metadata: dict[str, Any] = {}
        self._pipeline: Any = None
        self._onnx: OnnxForest | None = None
        self.fallback_reason: str | None = None
        self._malignant_column = 1
        self._threshold = 0.5

    # -- loading ------------------------------------------------------------------------------
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
        self._threshold = float(metadata.get("threshold", 0.5))
        self.metadata = metadata
        try:
            self._onnx, self.fallback_reason = self._load_onnx(metadata)
        except ArtifactError:
            self._pipeline, self.metadata = None, {}  # nothing of a refused folder stays
            raise
        if self._onnx is None:
            log.warning("diagnosis: serving with scikit-learn: %s", self.fallback_reason)

    def _load_onnx(self, metadata: dict[str, Any]) -> tuple[OnnxForest | None, str | None]:
        """The ONNX engine when it can serve; else None and the reason.

        A file whose hash does not match metadata.json is refused outright, like a tampered
        skops file: someone changed the artifact folder, so its other files are suspect too,
        and a model that fails to load (``/readyz`` says so) is better than one that quietly
        serves from a folder nobody vouches for. A missing file, a missing onnxruntime, or a
        runtime that cannot read the file or answers differently only costs speed.
        """
        section = metadata.get("onnx") or {}
        if not section.get("available"):
            return None, str(section.get("reason", "metadata.json records no ONNX export"))
        name = str(section.get("file") or ONNX_FILENAME)
        if Path(name).name != name:
            raise ArtifactError(f"metadata.json names an ONNX file outside the artifact: {name}")
        path = self.artifact_dir / name
        if not path.is_file():
            return None, f"{name} is missing"
        model_bytes = path.read_bytes()  # hashed and loaded from the same bytes
        actual = hashlib.sha256(model_bytes).hexdigest()
        expected = str(section.get("sha256"))
        if actual != expected:
            raise ArtifactError(
                f"{name} does not match its metadata (sha256 {actual[:12]}..., expected "
                f"{expected[:12]}...): refusing to load a modified file"
            )
        try:
            forest = OnnxForest(model_bytes, self._malignant_column)
        except ImportError as exc:
            return None, f"onnxruntime is not importable: {exc}"
        except Exception as exc:  # e.g. an onnxruntime older than the file's opset
            return None, f"onnxruntime cannot load {name}: {exc}"
        mismatch = self._spot_check(forest)
        return (None, mismatch) if mismatch else (forest, None)

    def _spot_check(self, forest: OnnxForest) -> str | None:
        """None when ONNX agrees with scikit-learn on a few known rows, else why not.

        Training checked every row with the onnxruntime of the training machine; this
        catches a different onnxruntime here computing something else, for milliseconds.
        """
        X = self._spot_rows()
        check = agreement(
            self._pipeline.predict_proba(X)[:, self._malignant_column],
            forest.probability_malignant(X),
            self._threshold,
            DECIMALS,
        )
        if check["passed"]:
            return None
        return (
            f"ONNX answers differ from scikit-learn at load (labels equal "
            f"{check['labels_equal']}, max difference {check['max_abs_probability_difference']})"
        )

    def _spot_rows(self) -> np.ndarray:
        """The typical cases and the training range's corners, from metadata.json."""
        features = self.metadata.get("features") or []
        try:
            rows = [
                [float(case[name]) for name in FEATURE_NAMES]
                for case in (self.metadata.get("typical_cases") or {}).values()
            ]
            if len(features) == len(FEATURE_NAMES):
                rows += [
                    [float(f[key]) for f in features] for key in ("training_min", "training_max")
                ]
        except (KeyError, TypeError, ValueError, AttributeError):
            rows = []  # an older or hand-edited metadata.json
        if not rows:
            rows.append([(f.minimum + f.maximum) / 2 for f in DIAGNOSIS_FEATURES])
        return np.asarray(rows, dtype=np.float64)

    @property
    def engine(self) -> str:
        """``onnxruntime`` or ``scikit-learn``: what answers ``probability_malignant``."""
        return "onnxruntime" if self._onnx is not None else "scikit-learn"

    @property
    def version(self) -> str:
        return str(self.metadata.get("version", "unknown"))

    # -- prediction ---------------------------------------------------------------------------
    def validate(self, rows: Sequence[object], *, row_prefix: str = ROW_PREFIX) -> list[BaseModel]:
        return validate_rows(self.input_model, rows, row_prefix=row_prefix)

    def probability_malignant(self, X: np.ndarray) -> np.ndarray:
        """P(malignant) for a matrix of rows in ``FEATURE_NAMES`` order (no validation)."""
        self.require_ready()
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(FEATURE_NAMES):
            raise ValueError(f"expected rows of {len(FEATURE_NAMES)} features, got {X.shape}")
        if self._onnx is not None:
            return self._onnx.probability_malignant(X)
        proba = self._pipeline.predict_proba(X)
        return np.asarray(proba[:, self._malignant_column], dtype=np.float64)

    def predict_arrays(self, X: np.ndarray) -> dict[str, np.ndarray]:
        """One array per entry of ``output_columns``, for a matrix of valid rows.

        Probabilities are rounded to ``DECIMALS`` first: that hides the float32 noise of the
        ONNX vote sum (0.9 not 0.8999994) and puts a 50/50 forest vote on the same side of the
        threshold whichever engine serves.
        """
        probability = np.round(self.probability_malignant(X), DECIMALS)
        labels = np.where(probability >= self._threshold, MALIGNANT, BENIGN)
        return {"label": labels, "probability_malignant": probability}

    def predict_matrix(self, X: np.ndarray) -> list[Prediction]:
        """One result dict per row of a matrix of valid rows.

        Built from plain floats rather than numpy element access: for the common one-row
        request numpy's per-call overhead would cost more than the trees (see
        ``benchmarks/model_call.py``).
        """
        threshold = self._threshold
        out: list[Prediction] = []
        for raw in self.probability_malignant(X).tolist():
            p = round_probability(raw)
            label = MALIGNANT if p >= threshold else BENIGN
            out.append({"label": label, "probability_malignant": p})
        return out

    def predict_valid(self, rows: Sequence[BaseModel], parameters: Any = None) -> list[Prediction]:
        X = np.array([_row_values(row) for row in rows], dtype=np.float64)
        return self.predict_matrix(X.reshape(len(rows), len(FEATURE_NAMES)))

    # -- description --------------------------------------------------------------------------
    def card(self) -> dict[str, Any]:
        """metadata.json as written at training, plus how this process serves the model."""
        card = dict(self.metadata)
        card["serving"] = {
            "engine": self.engine,
            "fallback_reason": self.fallback_reason,
            "onnx_threads": self._onnx.threads if self._onnx is not None else None,
        }
        return card
