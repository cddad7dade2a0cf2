"""Reproducible training of the diagnosis pipeline from scikit-learn's copy of WDBC.

Seeded, stratified, with a held-out test split and 5-fold cross-validation on the training
split. Writes ``model.skops``, ``model.onnx`` (the same pipeline compiled for onnxruntime, when
it is verified to give the same answers) and ``metadata.json`` into the artifact directory.
"""

from __future__ import annotations

import logging
import platform
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from labserve.models.artifacts import (
    ARTIFACT_FILENAME,
    save_skops,
    sha256_file,
    write_metadata,
)
from labserve.models.diagnosis.features import (
    BENIGN,
    DIAGNOSIS_FEATURES,
    FEATURE_NAMES,
    MALIGNANT,
    SKLEARN_COLUMNS,
)

log = logging.getLogger(__name__)

MODEL_NAME = "diagnosis"
MODEL_SERIES = "1.0"
DEFAULT_SEED = 42
TEST_FRACTION = 0.2
N_TREES = 100
#: P(malignant) at or above which the served label is Malignant.
THRESHOLD = 0.5


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


def evaluate(y_true: np.ndarray, p_malignant: np.ndarray) -> dict[str, Any]:
    """Held-out metrics, with malignant as the positive class."""
    from sklearn.metrics import (
        accuracy_score,
        brier_score_loss,
        confusion_matrix,
        roc_auc_score,
        roc_curve,
    )

    y_pred = (p_malignant >= THRESHOLD).astype(np.int64)
    # rows/columns ordered [malignant, benign] so the matrix reads as a clinician expects
    tp, fn, fp, tn = confusion_matrix(y_true, y_pred, labels=[1, 0]).ravel().tolist()
    fpr, tpr, _ = roc_curve(y_true, p_malignant)
    return {
        "n": int(len(y_true)),
        "accuracy": float(accuracy_score(y_true, y_pred)),
        "roc_auc": float(roc_auc_score(y_true, p_malignant)),
        "sensitivity_malignant": tp / (tp + fn),
        "specificity_malignant": tn / (tn + fp),
        "brier_score": float(brier_score_loss(y_true, p_malignant)),
        "confusion_matrix": {
            "labels": [MALIGNANT, BENIGN],
            "rows_are": "true class",
            "columns_are": "predicted class",
            "matrix": [[tp, fn], [fp, tn]],
        },
        "roc_curve": [
            [round(float(f), 4), round(float(t), 4)] for f, t in zip(fpr, tpr, strict=True)
        ],
    }


def cross_validate_pipeline(X: np.ndarray, y: np.ndarray, seed: int) -> dict[str, Any]:
    from sklearn.model_selection import StratifiedKFold, cross_validate

    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=seed)
    scores = cross_validate(build_pipeline(seed), X, y, cv=folds, scoring=["accuracy", "roc_auc"])
    return {
        "folds": 5,
        "accuracy_mean": float(np.mean(scores["test_accuracy"])),
        "accuracy_std": float(np.std(scores["test_accuracy"])),
        "roc_auc_mean": float(np.mean(scores["test_roc_auc"])),
        "roc_auc_std": float(np.std(scores["test_roc_auc"])),
    }


def library_versions() -> dict[str, str]:
    import sklearn
    import skops

    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scikit-learn": sklearn.__version__,
        "skops": skops.__version__,
    }


def feature_metadata(X_train: np.ndarray) -> list[dict[str, Any]]:
    return [
        {
            **spec.as_dict(),
            "training_min": float(X_train[:, i].min()),
            "training_max": float(X_train[:, i].max()),
        }
        for i, spec in enumerate(DIAGNOSIS_FEATURES)
    ]


def typical_cases(X: np.ndarray, y: np.ndarray) -> dict[str, dict[str, float]]:
    """Per-class medians, offered by the UI as 'typical benign/malignant' examples."""
    return {
        label: {
            name: float(np.round(np.median(X[y == code, i]), 5))
            for i, name in enumerate(FEATURE_NAMES)
        }
        for label, code in ((BENIGN, 0), (MALIGNANT, 1))
    }


def export_onnx(
    pipeline: Any,
    out_dir: Path,
    X_held_out: np.ndarray,
    X_all: np.ndarray,
    malignant_column: int,
    threshold: float = THRESHOLD,
) -> dict[str, Any]:
    """Compile to ONNX, check it against scikit-learn, write ``model.onnx`` if it agrees.

    The check runs on the held-out split (rows the forest never saw) and, since it costs
    milliseconds, on every row of the data set. A pipeline that cannot be compiled, or whose
    compiled answers differ, is still saved and served with scikit-learn: training succeeds,
    the reason is logged and recorded, and no ``model.onnx`` is left behind to be served.

    Returns:
        The ``onnx`` section of metadata.json.
    """
    import hashlib

    from labserve.models.diagnosis.model import DECIMALS
    from labserve.models.diagnosis.onnx_export import (
        ONNX_FILENAME,
        TOLERANCE,
        OnnxForest,
        agreement,
        compile_pipeline,
        describe_model,
    )

    path = out_dir / ONNX_FILENAME
    path.unlink(missing_ok=True)
    try:
        model_bytes = compile_pipeline(pipeline, len(FEATURE_NAMES))
        description = describe_model(model_bytes)
        forest = OnnxForest(model_bytes, malignant_column)
        checks = {
            name: agreement(
                pipeline.predict_proba(X)[:, malignant_column],
                forest.probability_malignant(X),
                threshold,
                DECIMALS,
            )
            for name, X in (("held_out", X_held_out), ("all_rows", X_all))
        }
    except Exception as exc:  # conversion can fail in many library-specific ways
        log.warning("ONNX export failed, serving will use scikit-learn: %s", exc)
        reason = f"conversion failed: {type(exc).__name__}: {exc}"
        return {"available": False, "reason": reason[:500]}
    check = {
        **checks,
        "tolerance": TOLERANCE,
        "threshold": threshold,
        "passed": all(c["passed"] for c in checks.values()),
    }
    if not check["passed"]:
        reason = (
            "ONNX answers differ from scikit-learn: "
            + "; ".join(
                f"{name}: labels equal {c['labels_equal']}, max probability difference "
                f"{c['max_abs_probability_difference']:.3g}"
                for name, c in checks.items()
            )
            + f" (tolerance {TOLERANCE})"
        )
        log.warning("%s; serving will use scikit-learn", reason)
        return {"available": False, "reason": reason, "check": check}
    path.write_bytes(model_bytes)
    return {
        "available": True,
        "file": ONNX_FILENAME,
        "sha256": hashlib.sha256(model_bytes).hexdigest(),
        **description,
        "libraries": onnx_library_versions(),
        "check": check,
    }


def onnx_library_versions() -> dict[str, str]:
    import onnx
    import onnxruntime
    import skl2onnx

    return {
        "skl2onnx": skl2onnx.__version__,
        "onnx": onnx.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def train_diagnosis(out_dir: Path, seed: int = DEFAULT_SEED) -> dict[str, Any]:
    """Train, evaluate and save the diagnosis pipeline; return the metadata written."""
    from sklearn.model_selection import train_test_split

    data = load_training_data()
    X_train, X_test, y_train, y_test = train_test_split(
        data.X, data.y, test_size=TEST_FRACTION, stratify=data.y, random_state=seed
    )
    pipeline = build_pipeline(seed).fit(X_train, y_train)
    malignant_column = list(pipeline.classes_).index(1)
    held_out = evaluate(y_test, pipeline.predict_proba(X_test)[:, malignant_column])

    out_dir.mkdir(parents=True, exist_ok=True)
    artifact_sha = save_skops(pipeline, out_dir / ARTIFACT_FILENAME)
    onnx_section = export_onnx(pipeline, out_dir, X_test, data.X, malignant_column, THRESHOLD)
    metadata: dict[str, Any] = {
        "name": MODEL_NAME,
        "version": f"{MODEL_SERIES}-{artifact_sha[:8]}",
        "title": "Breast mass diagnosis (WDBC random forest)",
        "task": "binary classification: Malignant vs Benign",
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "artifact": {"file": ARTIFACT_FILENAME, "format": "skops", "sha256": artifact_sha},
        "estimator": "StandardScaler + RandomForestClassifier",
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
        "positive_class": MALIGNANT,
        "threshold": THRESHOLD,
        "features": feature_metadata(X_train),
        "metrics": {
            "held_out": held_out,
            "cross_validation": cross_validate_pipeline(X_train, y_train, seed),
        },
        "typical_cases": typical_cases(data.X, data.y),
        "onnx": onnx_section,
        "libraries": library_versions(),
        "intended_use": (
            "Teaching and research on the WDBC measurements. Not a medical device: "
            "never the sole basis of a clinical decision."
        ),
    }
    write_metadata(out_dir, metadata)
    return metadata
