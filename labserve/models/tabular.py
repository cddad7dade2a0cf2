"""What every tabular model shares: features from metadata, tables, decisions, warnings.

A tabular kind (scikit-learn, ONNX, a third-party one) implements ``_load`` and
``predict_table``: a table of valid inputs in, labels and class probabilities (classifiers)
or values (regressors) out. Everything else is here, driven by metadata.json: the input
schema, the decision (arg-max, or a threshold on the positive class of a binary
classifier), rounding, out-of-range warnings, the JSON predictions and the CSV columns.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from labserve.models.base import PARAMETER_PREFIX, ModelSource, Prediction, ServedModel
from labserve.models.contributions import Contributions
from labserve.models.errors import ArtifactError, InvalidInput
from labserve.models.features import FeatureSpec, field_name, make_row_model

#: Decimals of served probabilities unless metadata.json says otherwise: enough for any
#: decision, and it hides float32 noise (0.9 rather than 0.8999999761581421).
DEFAULT_DECIMALS = 6
#: Batches up to this size take plain-Python paths: for a row or two, numpy's per-call
#: overhead costs more than the arithmetic (see benchmarks/model_call.py).
SMALL_BATCH = 8
TASKS = ("classification", "regression")


def decided_classes(
    probabilities: np.ndarray, decimals: int, positive: int | None, threshold: float | None
) -> np.ndarray:
    """The class index serving picks for each row (arg-max, or the threshold)."""
    rounded = np.round(probabilities, decimals)
    if positive is None or threshold is None:
        return np.asarray(rounded.argmax(axis=1))
    return np.where(rounded[:, positive] >= threshold, positive, 1 - positive)


class Table:
    """Valid input rows as one array per feature (float64 numbers, object categories)."""

    def __init__(
        self,
        features: Sequence[FeatureSpec],
        columns: Sequence[np.ndarray],
        matrix: np.ndarray | None = None,
    ) -> None:
        self.features = features
        self.columns = columns
        self.n = len(self.columns[0]) if self.columns else 0
        self.numeric = matrix is not None or not any(spec.is_category for spec in features)
        self._matrix = matrix

    @classmethod
    def from_rows(cls, features: Sequence[FeatureSpec], rows: Sequence[BaseModel]) -> Table:
        getter = attrgetter(*(field_name(i) for i in range(len(features))))
        values = [getter(row) for row in rows]
        if len(features) == 1:
            values = [(value,) for value in values]
        if not any(spec.is_category for spec in features):
            matrix = np.array(values, dtype=np.float64).reshape(len(rows), len(features))
            return cls(features, list(matrix.T), matrix)
        columns = list(zip(*values, strict=True)) if values else [() for _ in features]
        return cls(
            features,
            [
                np.array(column, dtype=object if spec.is_category else np.float64)
                for spec, column in zip(features, columns, strict=True)
            ],
        )

    @classmethod
    def from_frame(cls, features: Sequence[FeatureSpec], frame: Any) -> Table:
        """A table from a DataFrame holding (at least) a column per feature."""
        return cls(
            features,
            [
                np.asarray(
                    frame[spec.name].to_numpy(), dtype=object if spec.is_category else np.float64
                )
                for spec in features
            ],
        )

    @classmethod
    def from_matrix(cls, features: Sequence[FeatureSpec], X: np.ndarray) -> Table:
        """A numeric table from a float matrix whose columns are in feature order."""
        matrix = np.ascontiguousarray(X, dtype=np.float64).reshape(-1, len(features))
        return cls(features, list(matrix.T), matrix)

    def array(self) -> np.ndarray:
        """One 2-D array: float64 when every feature is a number, else object."""
        if self.numeric:
            return self.matrix()
        return np.column_stack([column.astype(object) for column in self.columns])

    def matrix(self) -> np.ndarray:
        """All features as one float64 matrix, in feature order (numeric tables only)."""
        if not self.numeric:
            raise TypeError("a table with categories has no numeric matrix; use frame()")
        if self._matrix is None:
            self._matrix = np.ascontiguousarray(np.column_stack(self.columns), dtype=np.float64)
        return self._matrix

    def frame(self, order: Sequence[str] | None = None) -> Any:
        """A pandas DataFrame (what a pipeline fitted on a DataFrame expects)."""
        import pandas as pd

        data = {spec.name: column for spec, column in zip(self.features, self.columns, strict=True)}
        frame = pd.DataFrame(data)
        return frame[list(order)] if order is not None else frame

    def take(self, index: np.ndarray) -> Table:
        matrix = self._matrix[index] if self._matrix is not None else None
        return Table(self.features, [column[index] for column in self.columns], matrix)


@dataclass
class TableOutput:
    """What a tabular kind returns: classes' probabilities and/or labels, or values."""

    probabilities: np.ndarray | None = None  # (n, len(classes)), in ``classes`` order
    labels: np.ndarray | None = None  # class labels, when there are no probabilities
    values: np.ndarray | None = None  # regression


#: JSON Schema of a prediction's ``warnings`` (OpenAPI publishes it as the Warnings component).
WARNINGS_SCHEMA: dict[str, Any] = {
    "type": "array",
    "description": "inputs outside the training range (accepted, but flagged)",
    "items": {
        "type": "object",
        "required": ["field", "message"],
        "properties": {"field": {"type": "string"}, "message": {"type": "string"}},
    },
}


class TabularParameters(BaseModel):
    """Request-level options of every tabular model."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    explain: bool = Field(
        default=False,
        description="Add each input's contribution to the prediction (models that can say).",
    )


class TabularModel(ServedModel):
    """A model over named features: classifier (labels, probabilities) or regressor."""

    capability: ClassVar[str] = "tabular"
    parameters_model: ClassVar[type[BaseModel] | None] = TabularParameters

    def __init__(self, source: ModelSource) -> None:
        super().__init__(source)
        metadata = source.metadata
        try:
            self.features: list[FeatureSpec] = [
                FeatureSpec.from_dict(item) for item in metadata["features"]
            ]
        except (KeyError, TypeError, ValueError) as exc:
            raise ArtifactError(f"metadata.json has no usable 'features' list: {exc}") from exc
        if not self.features:
            raise ArtifactError("metadata.json lists no features")
        self.task = str(metadata.get("task", "classification"))
        if self.task not in TASKS:
            raise ArtifactError(f"metadata.json: task must be one of {TASKS}, not {self.task!r}")
        self.classes: list[str] = [str(c) for c in metadata.get("classes") or []]
        self.has_probabilities = bool(metadata.get("has_probabilities", bool(self.classes)))
        decision = metadata.get("decision") or {}
        self.positive_class: str | None = decision.get("positive_class")
        self.threshold: float | None = decision.get("threshold")
        self.decimals = int(metadata.get("probability_decimals", DEFAULT_DECIMALS))
        self.input_model: type[BaseModel] = make_row_model(source.name, self.features)
        self._ranged = [
            (index, spec)
            for index, spec in enumerate(self.features)
            if not spec.is_category and spec.training_min is not None
        ]

    @property
    def is_classifier(self) -> bool:
        return self.task == "classification"

    @property
    def output_columns(self) -> list[str]:
        """The columns a scored CSV gains, in order (before ``error``)."""
        if not self.is_classifier:
            return ["value", "warnings"]
        probabilities = [f"probability_{c}" for c in self.classes] if self.has_probabilities else []
        return ["label", *probabilities, "warnings"]

    # -- the part a kind implements ----------------------------------------------------------
    @abstractmethod
    def predict_table(self, table: Table) -> TableOutput:
        """Predict every row of a table of valid inputs."""

    def contributions(self, table: Table) -> Contributions | None:
        """Exact per-feature contributions, for kinds whose model can give them (else None)."""
        return None

    @property
    def can_explain(self) -> bool:
        return False

    def parameters_schema(self) -> dict[str, Any] | None:
        """The options this model takes: ``explain`` only where contributions exist."""
        schema = super().parameters_schema()
        if schema is not None and not self.can_explain:
            schema["properties"] = {
                name: spec for name, spec in schema["properties"].items() if name != "explain"
            }
        return schema

    # -- shared ------------------------------------------------------------------------------
    def validate_parameters(self, parameters: Any, *, field_prefix: str = PARAMETER_PREFIX) -> Any:
        params = super().validate_parameters(parameters, field_prefix=field_prefix)
        if params is not None and params.explain and not self.can_explain:
            raise InvalidInput(
                f"model {self.name!r} cannot explain its predictions (exact contributions "
                "exist for tree ensembles)",
                field=f"{field_prefix}explain",
            )
        return params

    def decide(self, output: TableOutput) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Rounded probabilities and the labels they decide (or the kind's own labels)."""
        if output.probabilities is None:
            return None, output.labels
        rounded = np.round(np.asarray(output.probabilities, dtype=np.float64), self.decimals)
        chosen = decided_classes(rounded, self.decimals, self.positive_index, self.threshold)
        return rounded, np.asarray(self.classes, dtype=object)[chosen]

    def decide_rows(self, probabilities: list[list[float]]) -> list[tuple[str, list[float]]]:
        """``decide`` for a few rows of plain floats: the same rounding, the same rule.

        Python's ``round`` of a scaled float rounds half to even, as numpy's ``round`` does,
        with the same three IEEE operations, so both paths give identical numbers and labels
        (tests check it over the whole data set).
        """
        scale = 10.0**self.decimals
        positive, threshold = self.positive_index, self.threshold
        out = []
        for row in probabilities:
            rounded = [round(p * scale) / scale for p in row]
            if positive is None or threshold is None:
                chosen = rounded.index(max(rounded))
            else:
                chosen = positive if rounded[positive] >= threshold else 1 - positive
            out.append((self.classes[chosen], rounded))
        return out

    @property
    def positive_index(self) -> int | None:
        """Column of the positive class when a threshold decides a binary classifier."""
        if self.threshold is None or len(self.classes) != 2:
            return None
        if self.positive_class not in self.classes:
            return None
        return self.classes.index(str(self.positive_class))

    def warnings(self, table: Table) -> list[list[dict[str, str]]]:
        """Per row, the inputs outside their training range (accepted, but flagged)."""
        out: list[list[dict[str, str]]] = [[] for _ in range(table.n)]
        for index, spec in self._ranged:
            column = table.columns[index]
            if table.n <= SMALL_BATCH:  # a few rows: plain floats beat numpy's per-call cost
                rows = [
                    row
                    for row, value in enumerate(column.tolist())
                    if not spec.training_min <= value <= spec.training_max
                ]
            else:
                outside = (column < spec.training_min) | (column > spec.training_max)
                rows = np.flatnonzero(outside).tolist()
            for row in rows:
                message = spec.range_warning(float(column[row]))
                out[row].append({"field": spec.name, "message": str(message)})
        return out

    def predict_valid(self, rows: Sequence[Any], parameters: Any = None) -> list[Prediction]:
        table = Table.from_rows(self.features, rows)
        predictions = self.predictions_for(table)
        if parameters is not None and getattr(parameters, "explain", False):
            for prediction, explanation in zip(
                predictions, self.explanations(table, predictions), strict=True
            ):
                prediction["contributions"] = explanation
        return predictions

    def explanations(self, table: Table, predictions: list[Prediction]) -> list[dict[str, Any]]:
        """Per row: the class (or value) explained, its baseline, each input's share."""
        found = self.contributions(table)
        if found is None:
            raise InvalidInput(f"model {self.name!r} cannot explain its predictions")
        names = [spec.name for spec in self.features]
        out = []
        for row, prediction in enumerate(predictions):
            column = 0
            entry: dict[str, Any] = {}
            if self.is_classifier:
                explained = self.positive_class if self.positive_index is not None else None
                explained = explained or prediction["label"]
                column = self.classes.index(str(explained))
                entry["class"] = explained
            entry["baseline"] = round(float(found.baseline[column]), 6)
            entry["values"] = {
                name: round(float(v), 6)
                for name, v in zip(names, found.values[row, :, column].tolist(), strict=True)
            }
            out.append(entry)
        return out

    def predictions_for(self, table: Table) -> list[Prediction]:
        """JSON predictions for a table of valid rows."""
        output = self.predict_table(table)
        warnings = self.warnings(table)
        if not self.is_classifier:
            values = np.asarray(output.values, dtype=np.float64).reshape(-1).tolist()
            return [
                {"value": value, "warnings": warned}
                for value, warned in zip(values, warnings, strict=True)
            ]
        classes = self.classes
        if output.probabilities is not None and table.n <= SMALL_BATCH:
            decided = self.decide_rows(np.asarray(output.probabilities, dtype=np.float64).tolist())
            return [
                {
                    "label": label,
                    "probabilities": dict(zip(classes, row, strict=True)),
                    "warnings": w,
                }
                for (label, row), w in zip(decided, warnings, strict=True)
            ]
        probabilities, labels = self.decide(output)
        labels_out = [str(label) for label in np.asarray(labels).tolist()]
        if probabilities is None:
            return [
                {"label": label, "warnings": warned}
                for label, warned in zip(labels_out, warnings, strict=True)
            ]
        return [
            {"label": label, "probabilities": dict(zip(classes, row, strict=True)), "warnings": w}
            for label, row, w in zip(labels_out, probabilities.tolist(), warnings, strict=True)
        ]

    def predict_arrays(self, table: Table) -> dict[str, list[str]]:
        """The CSV output cells (``output_columns``) for a table of valid rows."""
        output = self.predict_table(table)
        warned = [
            "; ".join(f"{w['field']}: {w['message']}" for w in row) for row in self.warnings(table)
        ]
        if not self.is_classifier:
            values = np.asarray(output.values, dtype=np.float64).reshape(-1)
            return {"value": list(map(repr, values.tolist())), "warnings": warned}
        probabilities, labels = self.decide(output)
        columns: dict[str, list[str]] = {"label": [str(v) for v in np.asarray(labels).tolist()]}
        if probabilities is not None and self.has_probabilities:
            for j, name in enumerate(self.classes):
                columns[f"probability_{name}"] = list(map(repr, probabilities[:, j].tolist()))
        columns["warnings"] = warned
        return columns

    # -- description -------------------------------------------------------------------------
    def output_schema(self) -> dict[str, Any]:
        warnings = WARNINGS_SCHEMA
        contributions = {
            "type": "object",
            "description": "with parameters.explain: each input's exact contribution; "
            "baseline + sum(values) = the probability of `class` (or the value)",
            "required": ["baseline", "values"],
            "properties": {
                "class": {"type": "string"},
                "baseline": {"type": "number"},
                "values": {
                    "type": "object",
                    "properties": {spec.name: {"type": "number"} for spec in self.features},
                    "additionalProperties": False,
                },
            },
        }
        if not self.is_classifier:
            return {
                "type": "object",
                "required": ["value", "warnings"],
                "properties": {
                    "value": {
                        "type": ["number", "null"],
                        "description": "null when the model's output is not a finite number "
                        "(inputs far outside the training range)",
                    },
                    "warnings": warnings,
                    "contributions": contributions,
                },
            }
        properties: dict[str, Any] = {
            "label": {"type": "string", "enum": self.classes}
            if self.classes
            else {"type": "string"},
            "warnings": warnings,
            "contributions": contributions,
        }
        required = ["label", "warnings"]
        if self.has_probabilities:
            properties["probabilities"] = {
                "type": "object",
                "description": "probability of each class",
                "properties": {
                    c: {"type": "number", "minimum": 0, "maximum": 1} for c in self.classes
                },
                "required": self.classes,
                "additionalProperties": False,
            }
            required.insert(1, "probabilities")
        return {"type": "object", "required": required, "properties": properties}

    def card(self) -> dict[str, Any]:
        card = super().card()
        card["features"] = [spec.as_dict() for spec in self.features]
        return card
