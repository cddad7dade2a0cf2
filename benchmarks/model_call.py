"""Model-call benchmark: scikit-learn vs onnxruntime vs labserve's own paths, in process.

Times the diagnosis model without any web stack: one row and 100,000 rows through
scikit-learn's ``predict_proba``, the compiled ONNX graph (1 and 2 intra-op threads), the
full ``predict`` path of the served model (validation included) on each engine, and scoring
a 100,000-row CSV with ``score_csv``. Every figure is the median of ``--repeat`` runs.

    .venv/bin/python benchmarks/model_call.py [--artifact-dir DIR] [--rows N] [--repeat R]

``--artifact-dir`` is a version folder of the diagnosis model (for example
``instance/models/diagnosis/1``); without it one is trained into a temporary folder (~10 s).
"""

from __future__ import annotations

import argparse
import csv
import io
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from labserve.models.artifacts import read_metadata
from labserve.models.base import ModelSource
from labserve.models.csv_scoring import score_csv
from labserve.models.diagnosis import FEATURE_NAMES
from labserve.models.diagnosis.training import load_training_data, train_diagnosis
from labserve.models.exact_onnx import ONNX_FILENAME, CompiledProbabilities
from labserve.models.sklearn_model import SklearnModel
from labserve.models.tabular import Table


def median_seconds(call: Callable[[], Any], *, number: int, repeat: int) -> float:
    """Median over ``repeat`` runs of the mean time of one call (``number`` calls a run)."""
    call()  # warm up: first-call allocations, lazy imports
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            call()
        runs.append((time.perf_counter() - started) / number)
    return statistics.median(runs)


def calls_for(seconds_per_call: float, budget: float = 0.2) -> int:
    """How many calls make one run last about ``budget`` seconds."""
    return max(1, int(budget / max(seconds_per_call, 1e-7)))


def probe(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def benchmark_rows(n_rows: int, seed: int = 0) -> np.ndarray:
    """``n_rows`` plausible rows: data rows jittered by up to ±20% (not all seen in training)."""
    rng = np.random.default_rng(seed)
    X = load_training_data().X
    picked = X[rng.integers(0, len(X), n_rows)]
    return np.asarray(picked * rng.uniform(0.8, 1.2, picked.shape), dtype=np.float64)


def as_csv(X: np.ndarray) -> str:
    """A lab export: an id column, then the features to six significant digits."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["sample_id", *FEATURE_NAMES])
    writer.writerows([f"S{i:06d}", *(f"{v:.6g}" for v in row)] for i, row in enumerate(X.tolist()))
    return out.getvalue()


def serve(folder: Path) -> SklearnModel:
    model = SklearnModel(ModelSource("diagnosis", "1", folder, read_metadata(folder)))
    model.load()
    return model


def load_models(artifact_dir: Path, scratch: Path) -> tuple[SklearnModel, SklearnModel]:
    """The version served as deployed (ONNX) and without its ONNX file (scikit-learn)."""
    served = serve(artifact_dir)
    plain_dir = scratch / "plain"
    shutil.copytree(artifact_dir, plain_dir)
    (plain_dir / ONNX_FILENAME).unlink(missing_ok=True)
    plain = serve(plain_dir)
    if served.engine != "onnxruntime":
        raise SystemExit(f"the artifact does not serve with ONNX: {served.fallback_reason}")
    return served, plain


def onnx_session(artifact_dir: Path, threads: int) -> CompiledProbabilities:
    return CompiledProbabilities((artifact_dir / ONNX_FILENAME).read_bytes(), threads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--artifact-dir", type=Path, help="a trained diagnosis artifact")
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the big batch")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure (median)")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        artifact_dir = args.artifact_dir
        if artifact_dir is None:
            artifact_dir = scratch / "diagnosis"
            train_diagnosis(artifact_dir)
        served, plain = load_models(artifact_dir, scratch)
        one_thread, two_threads = onnx_session(artifact_dir, 1), onnx_session(artifact_dir, 2)
        pipeline = served._estimator

        X = benchmark_rows(args.rows)
        x1 = X[:1].copy()
        table1 = Table.from_matrix(served.features, x1)
        table = Table.from_matrix(served.features, X)
        row = [dict(zip(FEATURE_NAMES, X[0].tolist(), strict=True))]
        rows = [dict(zip(FEATURE_NAMES, r, strict=True)) for r in X.tolist()]
        text = as_csv(X)

        single: list[tuple[str, Callable[[], Any]]] = [
            ("scikit-learn predict_proba", lambda: pipeline.predict_proba(x1)),
            ("onnxruntime run, 1 thread", lambda: one_thread(x1)),
            ("predict_arrays (CSV cells), onnx", lambda: served.predict_arrays(table1)),
            ("predictions_for (JSON dicts), onnx", lambda: served.predictions_for(table1)),
            ("predict (JSON row validated), onnx", lambda: served.predict(row)),
            ("predict (JSON row validated), sklearn", lambda: plain.predict(row)),
        ]
        batch: list[tuple[str, Callable[[], Any]]] = [
            ("scikit-learn predict_proba", lambda: pipeline.predict_proba(X)),
            ("onnxruntime run, 1 thread", lambda: one_thread(X)),
            ("onnxruntime run, 2 threads", lambda: two_threads(X)),
            ("predict_arrays (CSV cells), onnx", lambda: served.predict_arrays(table)),
            ("predict (JSON rows validated), onnx", lambda: served.predict(rows)),
            ("predict (JSON rows validated), sklearn", lambda: plain.predict(rows)),
            ("score_csv (CSV text in and out), onnx", lambda: "".join(score_csv(served, text))),
            ("score_csv (CSV text in and out), sklearn", lambda: "".join(score_csv(plain, text))),
        ]

        print(
            f"diagnosis model, {os.cpu_count()} CPUs, median of {args.repeat} runs, "
            f"CSV of {len(text) / 1e6:.1f} MB, load average {os.getloadavg()[0]:.1f} at start"
        )
        print(f"{'path':<46} {'rows':>7} {'per call':>11} {'per row':>10} {'rows/s':>12}")
        for label, cases, n in (("1 row", single, 1), (f"{args.rows} rows", batch, args.rows)):
            print(f"-- {label}")
            for name, call in cases:
                number = calls_for(probe(call)) if n == 1 else 1
                seconds = median_seconds(call, number=number, repeat=args.repeat)
                print(
                    f"{name:<46} {n:>7} {format_time(seconds):>11} "
                    f"{format_time(seconds / n):>10} {n / seconds:>12,.0f}"
                )


def format_time(seconds: float) -> str:
    if seconds >= 1:
        return f"{seconds:.2f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


if __name__ == "__main__":
    main()
