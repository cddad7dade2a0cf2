"""Compiling tree-ensemble classifiers to ONNX exactly, so they serve at ~µs a row, not ~ms.

scikit-learn's ``predict_proba`` pays per-tree Python overhead on every call; onnxruntime
runs the whole forest in one native kernel. Exactness: scikit-learn scales in float64, casts
the scaled value to float32, then compares it with float64 thresholds. The compiled graph does
the same arithmetic: the scaler in float64, an explicit Cast to float32, and each threshold
rounded *down* to float32. For a float32 value ``x``, ``x <= t`` then holds exactly when
scikit-learn's comparison holds, so both take the same branch in every tree; only the float32
sum of the tree votes differs (below 1e-6).

That argument holds for a random forest, extra trees or a decision tree, alone or after
StandardScalers, on numeric inputs; ``exactly_compilable`` says whether an estimator is one.
Other estimators are served by scikit-learn itself. Heavy libraries (onnx, skl2onnx,
onnxruntime) are imported inside the functions that need them.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

from labserve.models.tabular import decided_classes

ONNX_FILENAME = "model.onnx"
#: Largest difference in any class probability between the two engines that is accepted.
TOLERANCE = 1e-5
_TREES = ("RandomForestClassifier", "ExtraTreesClassifier", "DecisionTreeClassifier")


def _steps(estimator: Any) -> list[Any]:
    steps = getattr(estimator, "steps", None)
    return [step for _, step in steps] if steps is not None else [estimator]


def exactly_compilable(estimator: Any) -> bool:
    """True for [StandardScaler...] + a tree-ensemble classifier (see the module docstring)."""
    steps = _steps(estimator)
    *before, last = steps
    return type(last).__name__ in _TREES and all(
        type(step).__name__ == "StandardScaler" for step in before
    )


def _trees_of(final: Any) -> list[Any]:
    return list(getattr(final, "estimators_", None) or [final])


def round_thresholds_down(estimator: Any) -> Any:
    """A copy whose tree thresholds are float32 values at or below the originals."""
    exact = copy.deepcopy(estimator)
    for tree in _trees_of(_steps(exact)[-1]):
        thresholds = tree.tree_.threshold
        as_float32 = thresholds.astype(np.float32)
        above = as_float32.astype(np.float64) > thresholds
        as_float32[above] = np.nextafter(as_float32[above], np.float32(-np.inf))
        thresholds[:] = as_float32.astype(np.float64)
    return exact


def compile_exact(estimator: Any, n_features: int) -> bytes:
    """Serialised ONNX model: input ``X`` (float64, [N, n_features]), output probabilities.

    The classifier's ZipMap is switched off so probabilities come back as one [N, classes]
    tensor instead of a list of Python dicts (which would cost more than the trees).
    """
    import onnx
    from onnx import TensorProto, helper
    from skl2onnx import to_onnx

    exact = round_thresholds_down(estimator)
    final = _steps(exact)[-1]
    model = to_onnx(
        exact,
        np.zeros((1, n_features), dtype=np.float64),
        options={id(final): {"zipmap": False}},
    )
    graph = model.graph
    trees = next(node for node in graph.node if node.op_type == "TreeEnsembleClassifier")
    scaled = trees.input[0]
    cast = helper.make_node(
        "Cast", [scaled], [f"{scaled}_float32"], to=TensorProto.FLOAT, name="cast_like_sklearn"
    )
    trees.input[0] = f"{scaled}_float32"
    graph.node.insert(list(graph.node).index(trees), cast)
    onnx.checker.check_model(model)
    return bytes(model.SerializeToString())


def describe_model(model_bytes: bytes) -> dict[str, Any]:
    """Opsets and input signature of a serialised model (recorded in metadata.json)."""
    import onnx

    model = onnx.load_from_string(model_bytes)
    first = model.graph.input[0]
    kind = onnx.TensorProto.DataType.Name(first.type.tensor_type.elem_type).lower()
    shape = [dim.dim_value or None for dim in first.type.tensor_type.shape.dim]
    return {
        "opset": {entry.domain or "ai.onnx": int(entry.version) for entry in model.opset_import},
        "input": {"name": first.name, "type": kind, "shape": shape},
        "producer": f"{model.producer_name} {model.producer_version}".strip(),
    }


class CompiledProbabilities:
    """An onnxruntime session over a compiled classifier: float64 rows -> probabilities.

    One intra-op thread by default: the production server runs one worker process per core,
    and each worker answers several requests at once on its own threads; a session pool of
    its own per worker would fight the other workers for the same cores. The session is
    built from bytes the caller has already hashed, so the file cannot change in between.
    """

    def __init__(self, model_bytes: bytes, threads: int = 1) -> None:
        import onnxruntime as ort

        self.threads = threads
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        # idle pool threads would otherwise spin on the cores the other workers need
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(
            model_bytes, options, providers=["CPUExecutionProvider"]
        )
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = next(
            o.name for o in self.session.get_outputs() if o.name.startswith("probabilities")
        )
        # The public ``run`` re-checks the feed's names against the model on every call,
        # about half the time of a one-row prediction; the names here are the model's own.
        # onnxruntime's binding object takes the same arguments; if a release drops it, the
        # public method serves (tests/models/test_exact_onnx.py compares the two).
        native: Any = getattr(self.session, "_sess", None)
        self.run = native.run if hasattr(native, "run") else self.session.run

    def __call__(self, X: np.ndarray) -> np.ndarray:
        (probabilities,) = self.run(
            [self.output_name],
            {self.input_name: np.ascontiguousarray(X, dtype=np.float64)},
            None,
        )
        return np.asarray(probabilities, dtype=np.float64)


def agreement(
    reference: np.ndarray,
    compiled: np.ndarray,
    decimals: int,
    *,
    positive: int | None = None,
    threshold: float | None = None,
) -> dict[str, Any]:
    """Compare two engines' probabilities for the same rows: decided classes and values.

    Classes are decided as serving decides them (rounded to ``decimals``, then arg-max or the
    positive class's threshold), so "labels equal" means users would see the same label.
    """
    labels_equal = bool(
        np.array_equal(
            decided_classes(reference, decimals, positive, threshold),
            decided_classes(compiled, decimals, positive, threshold),
        )
    )
    max_diff = float(np.max(np.abs(reference - compiled))) if len(reference) else 0.0
    return {
        "rows": int(len(reference)),
        "labels_equal": labels_equal,
        "max_abs_probability_difference": max_diff,
        "passed": labels_equal and max_diff <= TOLERANCE,
    }
