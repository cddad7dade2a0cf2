"""The model card as a page shows it: metrics in order, plots with axes, provenance.

The card itself is the model's metadata (``ServedModel.card``); this module only arranges it
for the template and computes plot geometry, so the template stays free of arithmetic.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import url_for

from labserve.models.base import ServedModel
from labserve.models.store import ModelStore

#: Plot area in SVG user units; axes and labels live in the margin around it.
PLOT = 100.0
TICKS = 5
METRIC_SETS = (
    ("held_out", "Held-out test set"),
    ("cross_validation", "Cross-validation"),
    ("reference", "Reference data"),
)
METRIC_LABELS = {
    "accuracy": "Accuracy",
    "balanced_accuracy": "Balanced accuracy",
    "f1_macro": "F1 (macro)",
    "roc_auc": "ROC AUC",
    "roc_auc_ovr": "ROC AUC (one-vs-rest)",
    "sensitivity": "Sensitivity",
    "specificity": "Specificity",
    "brier_score": "Brier score",
    "log_loss": "Log loss",
    "r2": "R²",
    "mae": "Mean absolute error",
    "rmse": "Root mean squared error",
    "n": "Rows",
}


@dataclass
class Plot:
    """An x/y plot in a 100 x 100 box, y growing upwards, with tick marks and labels."""

    title: str
    x_label: str
    y_label: str
    points: str
    x_ticks: list[tuple[float, str]]
    y_ticks: list[tuple[float, str]]
    diagonal: bool = True
    scatter: list[tuple[float, float]] = field(default_factory=list)


@dataclass
class CardView:
    raw: dict[str, Any]
    versions: list[dict[str, Any]]
    metric_sets: list[dict[str, Any]]
    confusion: dict[str, Any] | None
    plots: list[Plot]
    importances: list[dict[str, Any]]
    importance_method: str


def card_view(model: ServedModel, store: ModelStore) -> CardView:
    card = model.card()
    labels = dict(METRIC_LABELS)
    decision = card.get("decision") or {}
    if decision.get("threshold") is not None:
        at = f" at threshold {decision['threshold']:g}"
        labels.update(sensitivity=f"Sensitivity{at}", specificity=f"Specificity{at}")
    metric_sets = []
    for key, title in METRIC_SETS:
        metrics = (card.get("metrics") or {}).get(key)
        if metrics:
            rows = [
                (labels[name], metrics[name])
                for name in labels
                if isinstance(metrics.get(name), (int, float))
            ]
            metric_sets.append(
                {
                    "title": title,
                    "method": metrics.get("method", ""),
                    "rows": rows,
                    "metrics": metrics,
                }
            )
    first = metric_sets[0]["metrics"] if metric_sets else {}
    plots = []
    if first.get("roc_curve"):
        plots.append(roc_plot(first["roc_curve"], first.get("positive_class", "")))
    if first.get("calibration"):
        plots.append(calibration_plot(first["calibration"], first.get("positive_class", "")))
    if first.get("predicted_vs_actual"):
        plots.append(scatter_plot(first["predicted_vs_actual"]))
    importances = card.get("feature_importances") or {}
    values = importances.get("values") or []
    largest = max((abs(v["importance"]) for v in values), default=0.0) or 1.0
    return CardView(
        raw=card,
        versions=version_links(model, store),
        metric_sets=metric_sets,
        confusion=first.get("confusion_matrix"),
        plots=plots,
        importances=[{**v, "width": 100 * abs(v["importance"]) / largest} for v in values[:15]],
        importance_method=str(importances.get("method", "")),
    )


def version_links(model: ServedModel, store: ModelStore) -> list[dict[str, Any]]:
    promoted = store.promoted(model.name)
    return [
        {
            "version": version,
            "promoted": version == promoted,
            "current": version == model.version,
            "url": url_for("ui.model_page", name=model.name)
            + ("" if version == promoted else f"?version={version}"),
        }
        for version in store.versions(model.name)
    ]


def ticks(low: float, high: float) -> list[tuple[float, str]]:
    """``TICKS + 1`` evenly spaced ticks: (position 0-100, label)."""
    span = (high - low) or 1.0
    return [(PLOT * i / TICKS, f"{low + span * i / TICKS:.3g}") for i in range(TICKS + 1)]


def roc_plot(curve: list[list[float]], positive: str) -> Plot:
    points = " ".join(f"{f * PLOT:.2f},{PLOT - t * PLOT:.2f}" for f, t in curve)
    return Plot(
        title=f"ROC curve ({positive} = positive)" if positive else "ROC curve",
        x_label="false positive rate (1 − specificity)",
        y_label="true positive rate (sensitivity)",
        points=points,
        x_ticks=ticks(0.0, 1.0),
        y_ticks=ticks(0.0, 1.0),
    )


def scatter_plot(pairs: list[list[float]]) -> Plot:
    """Predicted against actual values; the diagonal is a perfect prediction."""
    values = [v for pair in pairs for v in pair]
    low, high = min(values), max(values)
    span = (high - low) or 1.0

    def scale(v: float) -> float:
        return (v - low) / span * PLOT

    return Plot(
        title="Predicted vs actual",
        x_label="actual value",
        y_label="predicted value",
        points="",
        x_ticks=ticks(low, high),
        y_ticks=ticks(low, high),
        scatter=[(scale(a), PLOT - scale(p)) for a, p in pairs],
    )


def calibration_plot(points: list[list[float]], positive: str) -> Plot:
    """Observed rate against predicted probability, per bin; calibrated = on the diagonal."""
    return Plot(
        title=f"Calibration ({positive})" if positive else "Calibration",
        x_label="predicted probability",
        y_label="observed rate",
        points=" ".join(f"{p * PLOT:.2f},{PLOT - rate * PLOT:.2f}" for p, rate, _ in points),
        x_ticks=ticks(0.0, 1.0),
        y_ticks=ticks(0.0, 1.0),
        scatter=[(p * PLOT, PLOT - rate * PLOT) for p, rate, _ in points],
    )
