"""The ``onnx`` kind: a tabular model in an ONNX file, served by onnxruntime.

Two input layouts are understood, the two that converters of tabular models write:
- ``matrix``: one float tensor ``[N, k]`` whose columns are the features, named when the
  model is added (``--features a,b,c`` or a reference CSV's header), since a graph has no
  column names;
- ``columns``: one ``[N, 1]`` tensor per feature, named as the feature (what skl2onnx writes
  for a pipeline fitted on a DataFrame; string tensors are categories).
Outputs: a classifier has a label output and usually probabilities (a tensor, or a ZipMap
sequence of maps); a regressor one float output. The class labels come from the graph's
classifier nodes. What was read is recorded in metadata.json (``onnx_io``) when the model is
added, so serving does not guess.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from labserve.models.errors import ArtifactError, InvalidModelSource
from labserve.models.sklearn_model import artifact_file
from labserve.models.tabular import Table, TableOutput, TabularModel

#: ONNX element types that hold numbers, and the numpy type each takes.
NUMERIC_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}
CLASS_LABEL_ATTRIBUTES = ("classlabels_strings", "classlabels_int64s")


def read_graph(model_bytes: bytes) -> dict[str, Any]:
    """Inputs, outputs and class labels of a model, as onnxruntime and the graph state them."""
    import onnx
    import onnxruntime as ort

    try:
        session = ort.InferenceSession(model_bytes, providers=["CPUExecutionProvider"])
        model = onnx.load_from_string(model_bytes)
    except Exception as exc:
        raise InvalidModelSource(f"not a loadable ONNX model: {str(exc).splitlines()[0]}") from exc
    classes: list[str] = []
    for node in model.graph.node:
        for attribute in node.attribute:
            if attribute.name in CLASS_LABEL_ATTRIBUTES and not classes:
                values = onnx.helper.get_attribute_value(attribute)
                classes = [v.decode() if isinstance(v, bytes) else str(v) for v in values]
    return {
        "inputs": [(i.name, i.type, list(i.shape)) for i in session.get_inputs()],
        "outputs": [(o.name, o.type, list(o.shape)) for o in session.get_outputs()],
        "classes": classes,
    }


def describe_io(graph: dict[str, Any], feature_names: Sequence[str] | None) -> dict[str, Any]:
    """Work out the layout, the task and the outputs of a graph (``InvalidModelSource`` if odd).

    Returns the ``onnx_io`` section of metadata.json plus ``task``, ``classes`` and the
    features' names and types.
    """
    inputs, outputs = graph["inputs"], graph["outputs"]
    if len(inputs) == 1 and inputs[0][1] in ("tensor(float)", "tensor(double)"):
        name, kind, shape = inputs[0]
        width = shape[1] if len(shape) == 2 and isinstance(shape[1], int) else None
        if not feature_names:
            raise InvalidModelSource(
                f"the graph takes one {kind} of {width or 'some'} columns, which it does not "
                "name: give them with --features a,b,c or a --reference CSV"
            )
        if width is not None and width != len(feature_names):
            raise InvalidModelSource(
                f"the graph takes {width} columns but {len(feature_names)} feature names were given"
            )
        io: dict[str, Any] = {"layout": "matrix", "input": name, "dtype": kind}
        features = [{"name": str(n), "type": "number"} for n in feature_names]
    else:
        for name, kind, _ in inputs:
            if kind not in NUMERIC_TYPES and kind != "tensor(string)":
                raise InvalidModelSource(f"input {name!r} has type {kind}, not a tabular column")
        io = {"layout": "columns", "inputs": {name: kind for name, kind, _ in inputs}}
        features = [
            {"name": name, "type": "category" if kind == "tensor(string)" else "number"}
            for name, kind, _ in inputs
        ]
    probability = next(
        (o for o in outputs if "prob" in o[0].lower() or o[1].startswith("seq(")), None
    )
    label = next((o for o in outputs if o[1] in ("tensor(int64)", "tensor(string)")), None)
    if probability is not None or (label is not None and graph["classes"]):
        if not graph["classes"]:
            raise InvalidModelSource("the graph's classifier does not name its classes")
        io["label_output"] = label[0] if label else None
        if probability is not None:
            io["probability_output"] = probability[0]
            io["probability_format"] = "zipmap" if probability[1].startswith("seq(") else "tensor"
        return {
            "onnx_io": io,
            "task": "classification",
            "classes": graph["classes"],
            "has_probabilities": probability is not None,
            "features": features,
        }
    numbers = [o for o in outputs if o[1] in ("tensor(float)", "tensor(double)")]
    if len(numbers) != 1:
        raise InvalidModelSource(
            "cannot tell what the graph predicts: expected a classifier's label/probabilities "
            f"or one float output, found {[o[0] for o in outputs]}"
        )
    io["value_output"] = numbers[0][0]
    return {
        "onnx_io": io,
        "task": "regression",
        "classes": [],
        "has_probabilities": False,
        "features": features,
    }


class OnnxModel(TabularModel):
    """Serves a tabular ONNX classifier or regressor with onnxruntime."""

    kind: ClassVar[str] = "onnx"

    def _load(self) -> None:
        import onnxruntime as ort

        section = self.metadata.get("artifact") or {}
        path = artifact_file(self.source.path, section, "model.onnx")
        if not path.is_file():
            raise ArtifactError(f"artifact {path.name} is missing")
        data = path.read_bytes()
        if hashlib.sha256(data).hexdigest() != section.get("sha256"):
            raise ArtifactError(
                f"artifact {path.name} does not match its metadata: refusing a modified file"
            )
        self.io: dict[str, Any] = dict(self.metadata.get("onnx_io") or {})
        if self.io.get("layout") not in ("matrix", "columns"):
            raise ArtifactError("metadata.json has no onnx_io section saying how to feed the graph")
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.settings.onnx_threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            self._session = ort.InferenceSession(data, options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise ArtifactError(f"onnxruntime cannot load {path.name}: {exc}") from exc
        self._outputs = [
            name
            for name in (
                self.io.get("probability_output"),
                self.io.get("label_output"),
                self.io.get("value_output"),
            )
            if name
        ]

    def _feeds(self, table: Table) -> dict[str, np.ndarray]:
        if self.io["layout"] == "matrix":
            dtype = NUMERIC_TYPES.get(self.io.get("dtype", ""), np.float32)
            return {self.io["input"]: table.matrix().astype(dtype)}
        feeds: dict[str, np.ndarray] = {}
        for spec, column in zip(table.features, table.columns, strict=True):
            kind = self.io["inputs"].get(spec.name, "tensor(float)")
            if kind == "tensor(string)":
                feeds[spec.name] = np.array([str(v) for v in column], dtype=object).reshape(-1, 1)
            else:
                feeds[spec.name] = column.astype(NUMERIC_TYPES[kind]).reshape(-1, 1)
        return feeds

    def predict_table(self, table: Table) -> TableOutput:
        results = dict(
            zip(self._outputs, self._session.run(self._outputs, self._feeds(table)), strict=True)
        )
        if not self.is_classifier:
            return TableOutput(values=np.asarray(results[self.io["value_output"]]).reshape(-1))
        name = self.io.get("probability_output")
        if name and self.has_probabilities:
            raw = results[name]
            if self.io.get("probability_format") == "zipmap":
                keys = list(raw[0].keys()) if len(raw) else []
                order = [next(k for k in keys if str(k) == c) for c in self.classes] if keys else []
                raw = [[row[k] for k in order] for row in raw]
            return TableOutput(probabilities=np.asarray(raw, dtype=np.float64))
        labels = np.asarray(results[self.io["label_output"]]).reshape(-1)
        return TableOutput(labels=np.array([str(v) for v in labels.tolist()], dtype=object))
