"""Compiling the diagnosis pipeline to ONNX so that serving runs at ~7 µs a row, not ~3 ms.

scikit-learn's ``predict_proba`` pays per-tree Python overhead on every call; onnxruntime
runs the whole forest in one native kernel. Exactness: scikit-learn scales in float64, casts
the scaled value to float32, then compares it with float64 thresholds. The compiled graph does
the same arithmetic: the scaler in float64 (Sub, Div), an explicit Cast to float32, and each
threshold rounded *down* to float32. For a float32 value ``x``, ``x <= t`` then holds exactly
when scikit-learn's comparison holds, so both take the same branch in every tree; only the
float32 sum of the tree votes differs (below 1e-6).

Heavy libraries (onnx, skl2onnx, onnxruntime) are imported inside the functions that need
them, so importing this module costs only numpy.
"""

from __future__ import annotations

import copy
import logging
import os
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

ONNX_FILENAME = "model.onnx"
#: Largest difference in P(malignant) between the two engines that training accepts.
TOLERANCE = 1e-5
THREADS_VARIABLE = "LABSERVE_ONNX_THREADS"


def round_thresholds_down(pipeline: Any) -> Any:
    """A copy whose tree thresholds are float32 values at or below the originals."""
    exact = copy.deepcopy(pipeline)
    for tree in exact.named_steps["forest"].estimators_:
        thresholds = tree.tree_.threshold
        as_float32 = thresholds.astype(np.float32)
        above = as_float32.astype(np.float64) > thresholds
        as_float32[above] = np.nextafter(as_float32[above], np.float32(-np.inf))
        thresholds[:] = as_float32.astype(np.float64)
    return exact


def compile_pipeline(pipeline: Any, n_features: int) -> bytes:
    """Serialised ONNX model: input ``X`` (float64, [N, n_features]), output probabilities.

    The forest's ZipMap is switched off so probabilities come back as one [N, 2] tensor
    instead of a list of Python dicts (which would cost more than the trees themselves).
    """
    import onnx
    from onnx import TensorProto, helper
    from skl2onnx import to_onnx

    exact = round_thresholds_down(pipeline)
    forest = exact.named_steps["forest"]
    model = to_onnx(
        exact,
        np.zeros((1, n_features), dtype=np.float64),
        options={id(forest): {"zipmap": False}},
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


def onnx_threads() -> int:
    """Threads per onnxruntime session: 1 unless ``LABSERVE_ONNX_THREADS`` says otherwise.

    The production server runs one worker process per core, and each worker may answer
    several requests at once on its own threads. With one intra-op thread onnxruntime runs
    the trees on the calling thread: concurrent requests run in parallel, and no worker keeps
    a pool of its own that would fight the other workers for the same cores (the default,
    one thread per core in every session, oversubscribes the machine N-fold). A single row
    takes microseconds, far below what a thread hand-off costs; more threads only pay off for
    large batches on a machine with idle cores (e.g. ``labserve predict`` on a big CSV).
    """
    text = os.environ.get(THREADS_VARIABLE, "1")
    try:
        threads = int(text)
    except ValueError:
        log.warning("%s=%r is not a whole number; using 1 thread", THREADS_VARIABLE, text)
        return 1
    if threads < 1:
        log.warning("%s=%r must be at least 1; using 1 thread", THREADS_VARIABLE, text)
        return 1
    return threads


class OnnxForest:
    """An onnxruntime session over the compiled pipeline.

    The session is built from bytes the caller has already hashed, so the file cannot change
    between the check and the load.
    """

    def __init__(self, model_bytes: bytes, malignant_column: int = 1) -> None:
        import onnxruntime as ort

        self.threads = onnx_threads()
        options = ort.SessionOptions()
        options.intra_op_num_threads = self.threads
        # one graph, one path through it: there is nothing for an inter-op pool to overlap
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
        self.malignant_column = malignant_column

    def probability_malignant(self, X: np.ndarray) -> np.ndarray:
        """P(malignant) for a float64 matrix of rows, as float64."""
        (probabilities,) = self.session.run(
            [self.output_name], {self.input_name: np.ascontiguousarray(X, dtype=np.float64)}
        )
        return np.asarray(probabilities[:, self.malignant_column], dtype=np.float64)


def agreement(
    reference: np.ndarray, compiled: np.ndarray, threshold: float, decimals: int
) -> dict[str, Any]:
    """Compare two engines' P(malignant) for the same rows: labels and probabilities.

    Labels are decided as serving decides them (probability rounded to ``decimals``, then
    compared with ``threshold``), so "labels equal" means users would see the same label.
    """
    labels_equal = bool(
        np.array_equal(
            np.round(reference, decimals) >= threshold, np.round(compiled, decimals) >= threshold
        )
    )
    max_diff = float(np.max(np.abs(reference - compiled))) if len(reference) else 0.0
    return {
        "rows": int(len(reference)),
        "labels_equal": labels_equal,
        "max_abs_probability_difference": max_diff,
        "passed": labels_equal and max_diff <= TOLERANCE,
    }
