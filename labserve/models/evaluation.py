"""How well a model does, measured when it is saved: the numbers and plots of its card.

Two honest ways, both recorded with the method that produced them: a held-out set the fitted
model never saw (``test=`` at save time), and k-fold cross-validation of the same recipe
(the estimator is cloned and refitted on each fold's training part; the out-of-fold
predictions give one prediction per reference row from a model that did not see it).
Without either, a model is described but not scored.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from typing import Any

import numpy as np

log = logging.getLogger(__name__)

#: Points kept for plots (a card stays small however large the data).
MAX_PLOT_POINTS = 300
ROUND = 4


def classification_metrics(
    y_true: Sequence[Any] | np.ndarray,
    labels: Sequence[Any] | np.ndarray,
    probabilities: np.ndarray | None,
    classes: Sequence[str],
    positive_class: str | None = None,
) -> dict[str, Any]:
    """Accuracy, balanced accuracy, macro F1, confusion matrix; ROC and Brier when binary."""
    from sklearn.metrics import (
        accuracy_score,
        balanced_accuracy_score,
        confusion_matrix,
        f1_score,
        log_loss,
        roc_auc_score,
    )

    truth = np.asarray([str(v) for v in y_true], dtype=object)
    predicted = np.asarray([str(v) for v in labels], dtype=object)
    names = list(classes)
    out: dict[str, Any] = {
        "n": int(len(truth)),
        "accuracy": _r(accuracy_score(truth, predicted)),
        "balanced_accuracy": _r(balanced_accuracy_score(truth, predicted)),
        "f1_macro": _r(f1_score(truth, predicted, average="macro", labels=names, zero_division=0)),
        "confusion_matrix": {
            "labels": names,
            "rows_are": "true class",
            "columns_are": "predicted class",
            "matrix": confusion_matrix(truth, predicted, labels=names).tolist(),
        },
    }
    if probabilities is None or len(set(truth)) < 2:
        return out
    present = np.isin(truth, names)
    proba = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    # float32 engines (ONNX) sum to 1 only within ~1e-7; log loss insists on exactly 1
    proba = proba / np.maximum(proba.sum(axis=1, keepdims=True), 1e-12)
    out["log_loss"] = _r(log_loss(truth[present], proba[present], labels=names))
    if len(names) == 2:
        positive = positive_class if positive_class in names else names[1]
        column = names.index(str(positive))
        is_positive = (truth == positive).astype(int)
        scores = proba[:, column]
        out.update(binary_metrics(is_positive, scores, predicted == positive, str(positive)))
    else:
        with contextlib.suppress(ValueError):  # a class absent from y_true
            out["roc_auc_ovr"] = _r(
                roc_auc_score(truth, proba, multi_class="ovr", average="macro", labels=names)
            )
    return out


def binary_metrics(
    is_positive: np.ndarray, scores: np.ndarray, predicted_positive: np.ndarray, positive: str
) -> dict[str, Any]:
    """The numbers a clinician asks of a binary test, for the positive class."""
    from sklearn.metrics import brier_score_loss, roc_auc_score, roc_curve

    tp = int(np.sum(predicted_positive & (is_positive == 1)))
    fn = int(np.sum(~predicted_positive & (is_positive == 1)))
    tn = int(np.sum(~predicted_positive & (is_positive == 0)))
    fp = int(np.sum(predicted_positive & (is_positive == 0)))
    fpr, tpr, _ = roc_curve(is_positive, scores)
    return {
        "positive_class": positive,
        "roc_auc": _r(roc_auc_score(is_positive, scores)),
        "sensitivity": _r(tp / (tp + fn)) if tp + fn else None,
        "specificity": _r(tn / (tn + fp)) if tn + fp else None,
        "brier_score": _r(brier_score_loss(is_positive, scores)),
        "roc_curve": thin([[_r(f), _r(t)] for f, t in zip(fpr, tpr, strict=True)]),
        "calibration": calibration_points(is_positive, scores),
    }


#: Fewest cases behind one point of a calibration curve: an observed rate of 2 cases is noise.
MIN_CALIBRATION_BIN = 20


def calibration_points(is_positive: np.ndarray, scores: np.ndarray, bins: int = 10) -> list[Any]:
    """Reliability curve: per bin of predicted probability, [mean predicted, observed rate, n].

    A calibrated model's points lie on the diagonal: of the cases given 0.8, 80% are positive.
    Bins hold equal numbers of cases in order of predicted probability (scikit-learn's
    "quantile" strategy), at least ``MIN_CALIBRATION_BIN`` each, so that with a held-out set
    of a hundred cases no point rests on a handful of them (fixed-width bins made such a
    curve zig-zag between 0 and 1).
    """
    count = len(scores)
    if not count:
        return []
    parts = max(1, min(bins, count // MIN_CALIBRATION_BIN))
    order = np.argsort(scores, kind="stable")
    return [
        [_r(scores[part].mean()), _r(is_positive[part].mean()), len(part)]
        for part in np.array_split(order, parts)
    ]


def threshold_for_sensitivity(
    is_positive: np.ndarray, scores: np.ndarray, target: float, decimals: int
) -> float:
    """The highest threshold at which at least ``target`` of the positives are caught.

    A case is called positive when its probability (rounded to ``decimals``, as served) is at
    least the threshold; the threshold is rounded down to ``decimals`` so the rounded scores
    of the positives it was chosen for still reach it.
    """
    positives = np.sort(np.round(scores[is_positive == 1], decimals))
    if not len(positives):
        raise ValueError("no positive cases to choose a threshold from")
    needed = int(np.ceil(target * len(positives) - 1e-9))
    threshold = float(positives[len(positives) - max(needed, 1)])
    return float(np.floor(threshold * 10**decimals) / 10**decimals)


def regression_metrics(y_true: Any, predicted: Any) -> dict[str, Any]:
    """R², MAE, RMSE, and predicted-vs-actual points for the card's plot."""
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    truth = np.asarray(y_true, dtype=np.float64)
    guess = np.asarray(predicted, dtype=np.float64)
    return {
        "n": int(len(truth)),
        "r2": _r(r2_score(truth, guess)),
        "mae": _r(mean_absolute_error(truth, guess)),
        "rmse": _r(float(np.sqrt(mean_squared_error(truth, guess)))),
        "predicted_vs_actual": thin(
            [[_r(a), _r(p)] for a, p in zip(truth.tolist(), guess.tolist(), strict=True)]
        ),
    }


def thin(points: list[list[float]]) -> list[list[float]]:
    """At most ``MAX_PLOT_POINTS`` points: evenly spaced ones, always the first and last."""
    if len(points) <= MAX_PLOT_POINTS:
        return points
    keep = np.unique(np.linspace(0, len(points) - 1, MAX_PLOT_POINTS).round().astype(int))
    return [points[i] for i in keep.tolist()]


def cross_validated_predictions(
    estimator: Any, X: Any, y: np.ndarray, *, folds: int, seed: int, classifier: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    """Out-of-fold labels (or values) and probabilities of clones of ``estimator``."""
    from sklearn.base import clone
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

    splitter = (
        StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
        if classifier
        else KFold(n_splits=folds, shuffle=True, random_state=seed)
    )
    model = clone(estimator)
    if classifier and hasattr(estimator, "predict_proba"):
        proba = cross_val_predict(model, X, y, cv=splitter, method="predict_proba")
        classes = np.unique(y)
        return classes[np.argmax(proba, axis=1)], proba
    return cross_val_predict(model, X, y, cv=splitter), None


def fold_count(y: np.ndarray, classifier: bool, wanted: int) -> int:
    """Folds that the data allows (each class at least once per fold), 0 if too few rows."""
    if classifier:
        _, counts = np.unique(y, return_counts=True)
        return int(min(wanted, counts.min())) if len(counts) > 1 else 0
    return int(min(wanted, len(y) // 2))


def _r(value: Any) -> float:
    return round(float(value), ROUND)
