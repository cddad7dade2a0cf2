"""Prometheus metrics: requests, latency, predictions, model load time, batch sizes.

With several worker processes, set ``PROMETHEUS_MULTIPROC_DIR`` (``labserve serve --workers``
does) and every worker writes its samples there; ``/metrics`` then aggregates all workers.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from typing import Any

from flask import Blueprint, Flask, Response, g, request
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

REQUESTS = Counter(
    "labserve_http_requests_total", "HTTP requests answered", ["method", "route", "status"]
)
LATENCY = Histogram(
    "labserve_http_request_duration_seconds",
    "Time to answer an HTTP request",
    ["method", "route"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
PREDICTIONS = Counter(
    "labserve_predictions_total", "Predictions made, by model and label", ["model", "label"]
)
BATCH_ROWS = Histogram(
    "labserve_batch_rows",
    "Rows per prediction request",
    ["model"],
    buckets=(1, 2, 5, 10, 50, 100, 500, 1000, 5000, 10000, 100000),
)
MODEL_LOAD_SECONDS = Gauge(
    "labserve_model_load_seconds",
    "Seconds the model took to load",
    ["model"],
    multiprocess_mode="max",
)

JOURNAL = {
    name: Gauge(f"labserve_journal_{name}", help_text, multiprocess_mode="max")
    for name, help_text in (
        (
            "bytes_on_disk",
            "Bytes of audit journal on disk (shipped parts not yet removed included)",
        ),
        ("segments", "Audit journal segment files"),
        ("lag_seconds", "Age of the oldest audit record not yet in the database"),
        ("records_shipped", "Audit records the shipper moved into the database since it started"),
        ("records_rejected", "Audit records the database refused (kept aside in rejected/)"),
        ("database_errors", "Shipping rounds that failed because the database was unavailable"),
        ("shipper_heartbeat_age_seconds", "Seconds since the shipper last reported"),
    )
}

metrics = Blueprint("metrics", __name__)


_rows_of: dict[str, Any] = {}  # label children, as in ``observe_request``
_label_of: dict[tuple[str, str], Any] = {}


def record_predictions(model: str, predictions: Iterable[dict[str, Any]], rows: int) -> None:
    batch = _rows_of.get(model)
    if batch is None:
        batch = _rows_of[model] = BATCH_ROWS.labels(model)
    batch.observe(rows)
    counts: dict[str, int] = {}
    for prediction in predictions:
        label = str(prediction.get("label", "none"))
        counts[label] = counts.get(label, 0) + 1
    for label, count in counts.items():
        counter = _label_of.get((model, label))
        if counter is None:
            counter = _label_of[model, label] = PREDICTIONS.labels(model, label)
        counter.inc(count)


def record_model_load(model: str, seconds: float | None) -> None:
    if seconds is not None:
        MODEL_LOAD_SECONDS.labels(model).set(seconds)


def route_label() -> str:
    """The URL rule, not the path, so /models/<name> stays one series whatever the name."""
    return request.url_rule.rule if request.url_rule is not None else "unmatched"


_latency_of: dict[tuple[str, str], Any] = {}  # label children: a lock and a tuple less
_count_of: dict[tuple[str, str, int], Any] = {}  # per request (rules and methods are few)


def observe_request(method: str, route: str, status: int, seconds: float | None) -> None:
    """Count one answered request and its latency (None: it was never timed)."""
    if seconds is not None:
        timer = _latency_of.get((method, route))
        if timer is None:
            timer = _latency_of[method, route] = LATENCY.labels(method, route)
        timer.observe(seconds)
    counter = _count_of.get((method, route, status))
    if counter is None:
        counter = _count_of[method, route, status] = REQUESTS.labels(method, route, str(status))
    counter.inc()


def init_metrics(app: Flask) -> None:
    @app.before_request
    def start_timer() -> None:
        g.started = time.perf_counter()

    @app.after_request
    def observe(response: Response) -> Response:
        started = g.get("started")
        elapsed = None if started is None else time.perf_counter() - started
        observe_request(request.method, route_label(), response.status_code, elapsed)
        return response

    app.register_blueprint(metrics)


@metrics.get("/metrics")
def scrape() -> Response:
    from labserve.web.extension import get_registry, get_settings

    for model in get_registry():
        record_model_load(model.name, model.load_seconds)
    record_journal(get_settings().resolved_journal_path)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        payload = generate_latest(registry)
    else:
        payload = generate_latest()
    return Response(payload, mimetype=CONTENT_TYPE_LATEST)


def record_journal(folder: Any) -> None:
    """The journal's size and the shipper's progress, read from disk at scrape time."""
    from labserve.journal import journal_metrics

    measured = journal_metrics(folder)
    for name, gauge in JOURNAL.items():
        value = getattr(measured, name)
        gauge.set(-1 if value is None else value)
