"""The ``sklearn`` kind: a fitted scikit-learn estimator or pipeline, stored with skops.

The skops file is the source of truth: it is loaded with an explicit list of trusted types,
after its sha256 is checked against metadata.json. When the version also holds an exactly
compiled ``model.onnx`` (a tree-ensemble classifier, verified when it was saved; see
``exact_onnx``) and onnxruntime agrees with scikit-learn on a spot check at load, the
probabilities come from onnxruntime: microseconds a row instead of milliseconds.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from labserve.models.artifacts import ARTIFACT_FILENAME, load_skops
from labserve.models.contributions import Contributions
from labserve.models.errors import ArtifactError
from labserve.models.tabular import Table, TableOutput, TabularModel

log = logging.getLogger(__name__)


def artifact_file(folder: Path, section: dict[str, Any], default: str) -> Path:
    """The file a metadata section names, refusing names that leave the version folder."""
    name = str(section.get("file") or default)
    if Path(name).name != name or name.startswith("."):
        raise ArtifactError(f"metadata.json names a file outside the version folder: {name}")
    return folder / name


class SklearnModel(TabularModel):
    """Serves a scikit-learn classifier or regressor (any pipeline, numeric or categorical)."""

    kind: ClassVar[str] = "sklearn"

    def _load(self) -> None:
        section = self.metadata.get("artifact") or {}
        if not section.get("sha256"):
            raise ArtifactError("metadata.json has no artifact.sha256")
        estimator = load_skops(
            artifact_file(self.source.path, section, ARTIFACT_FILENAME),
            str(section["sha256"]),
            section.get("trusted_types") or (),
        )
        if not hasattr(estimator, "predict"):
            raise ArtifactError(f"the artifact holds a {type(estimator).__name__}, no predict")
        if self.is_classifier and self.has_probabilities:
            found = [str(c) for c in getattr(estimator, "classes_", [])]
            if found != self.classes or not hasattr(estimator, "predict_proba"):
                raise ArtifactError(
                    f"metadata.json lists classes {self.classes}; the estimator has {found}"
                )
        names = getattr(estimator, "feature_names_in_", None)
        self._frame_columns = [str(n) for n in names] if names is not None else None
        if self._frame_columns is not None and set(self._frame_columns) != {
            spec.name for spec in self.features
        }:
            raise ArtifactError("metadata.json's features differ from the estimator's columns")
        self._estimator = estimator
        self._compiled: Any = None
        self.fallback_reason: str | None = None
        if self.is_classifier and self.has_probabilities:
            self._compiled, self.fallback_reason = self._load_compiled()
        if self.fallback_reason and (self.metadata.get("onnx") or {}).get("available"):
            log.warning(
                "%s v%s: serving with scikit-learn: %s",
                self.name,
                self.version,
                self.fallback_reason,
            )

    def _load_compiled(self) -> tuple[Any, str | None]:
        """The ONNX engine when it can serve; else None and the reason.

        A file whose hash does not match metadata.json is refused outright, like a tampered
        skops file: someone changed the version folder, so its other files are suspect too.
        A missing file, a missing onnxruntime, or a runtime that answers differently only
        costs speed.
        """
        section = self.metadata.get("onnx") or {}
        if not section.get("available"):
            return None, str(section.get("reason", "no verified ONNX compilation"))
        path = artifact_file(self.source.path, section, "model.onnx")
        if not path.is_file():
            return None, f"{path.name} is missing"
        model_bytes = path.read_bytes()  # hashed and loaded from the same bytes
        actual = hashlib.sha256(model_bytes).hexdigest()
        if actual != section.get("sha256"):
            raise ArtifactError(
                f"{path.name} does not match its metadata (sha256 {actual[:12]}...): "
                "refusing to load a modified file"
            )
        try:
            from labserve.models.exact_onnx import CompiledProbabilities

            compiled = CompiledProbabilities(model_bytes, self.settings.onnx_threads)
        except ImportError as exc:
            return None, f"onnxruntime is not importable: {exc}"
        except Exception as exc:  # e.g. an onnxruntime older than the file's opset
            return None, f"onnxruntime cannot load {path.name}: {exc}"
        mismatch = self._spot_check(compiled)
        return (None, mismatch) if mismatch else (compiled, None)

    def _spot_check(self, compiled: Any) -> str | None:
        """None when ONNX agrees with scikit-learn on a few known rows, else why not.

        Saving checked every reference row with the onnxruntime of that machine; this
        catches a different onnxruntime here computing something else, in milliseconds.
        """
        from labserve.models.exact_onnx import agreement

        X = self.spot_rows()
        check = agreement(
            self._estimator.predict_proba(self._sklearn_input(Table.from_matrix(self.features, X))),
            compiled(X),
            self.decimals,
            positive=self.positive_index,
            threshold=self.threshold,
        )
        if check["passed"]:
            return None
        return (
            f"ONNX answers differ from scikit-learn at load (labels equal "
            f"{check['labels_equal']}, max difference {check['max_abs_probability_difference']})"
        )

    def spot_rows(self) -> np.ndarray:
        """The typical cases and the training range's corners, from metadata.json."""
        names = [spec.name for spec in self.features]
        rows: list[list[float]] = []
        try:
            for case in (self.metadata.get("examples") or {}).values():
                rows.append([float(case[name]) for name in names])
            if all(spec.training_min is not None for spec in self.features):
                rows.append([float(spec.training_min or 0) for spec in self.features])
                rows.append([float(spec.training_max or 0) for spec in self.features])
        except (KeyError, TypeError, ValueError, AttributeError):
            rows = []  # an older or hand-edited metadata.json
        if not rows:
            rows.append([0.0] * len(names))
        return np.asarray(rows, dtype=np.float64)

    @property
    def engine(self) -> str:
        """``onnxruntime`` or ``scikit-learn``: what computes the answers."""
        return "onnxruntime" if self._compiled is not None else "scikit-learn"

    def _sklearn_input(self, table: Table) -> Any:
        if self._frame_columns is not None:
            return table.frame(self._frame_columns)
        return table.array()

    @property
    def can_explain(self) -> bool:
        from labserve.models.contributions import explainable

        return not any(spec.is_category for spec in self.features) and explainable(self._estimator)

    def contributions(self, table: Table) -> Contributions | None:
        if not self.can_explain:
            return None
        from labserve.models.contributions import tree_contributions

        return tree_contributions(self._estimator, self._sklearn_input(table))

    def predict_table(self, table: Table) -> TableOutput:
        if self._compiled is not None:
            return TableOutput(probabilities=self._compiled(table.matrix()))
        X = self._sklearn_input(table)
        if not self.is_classifier:
            return TableOutput(values=self._estimator.predict(X))
        if self.has_probabilities:
            return TableOutput(probabilities=self._estimator.predict_proba(X))
        return TableOutput(labels=self._estimator.predict(X))

    def card(self) -> dict[str, Any]:
        card = super().card()
        if self.ready:
            card["serving"] = {
                "engine": self.engine,
                "fallback_reason": self.fallback_reason,
                "onnx_threads": self._compiled.threads if self._compiled is not None else None,
            }
        return card
