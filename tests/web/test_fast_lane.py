"""The fast lane answers what Flask would answer, byte for byte, and hands over the rest.

Each case is sent to two apps over the same trained instance: one with the lane, one without
(``FAST_LANE=False``). Status, body and headers must match (a fresh request id aside), the
lane must have answered the ordinary successes itself, and the audit records must match.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from labserve.db import create_key
from labserve.journal import JournalUnavailable
from labserve.web import close_app, create_app
from labserve.web.audit_log import get_audit_log
from labserve.web.fast_lane import FastLane
from labserve.web.persistence import get_database
from tests.conftest import data_row

ROW = data_row(0)
SECOND = data_row(19)


@pytest.fixture
def lanes(app_config: dict[str, Any], tmp_path: Any) -> Iterator[dict[str, Flask]]:
    """Two apps, each with its own database and journal: "fast" (the default) and "flask"."""
    apps = {}
    for name, fast in (("fast", True), ("flask", False)):
        config = {
            **app_config,
            "FAST_LANE": fast,
            "DATABASE_URL": f"sqlite:///{tmp_path / name}.db",
            "JOURNAL_PATH": str(tmp_path / f"journal-{name}"),
        }
        apps[name] = create_app(config)
    yield apps
    for app in apps.values():
        close_app(app)


class Spy:
    """Counts the requests the lane handed over to Flask."""

    def __init__(self, app: Flask) -> None:
        lane = app.wsgi_app
        assert isinstance(lane, FastLane)
        self.handed_over = 0
        inner = lane.wsgi_app

        def counting(environ: dict[str, Any], start_response: Any) -> Any:
            self.handed_over += 1
            return inner(environ, start_response)

        lane.wsgi_app = counting


def both(lanes: dict[str, Flask], path: str, **kwargs: Any) -> dict[str, Any]:
    return {name: app.test_client().post(path, **kwargs) for name, app in lanes.items()}


def same_answer(answers: dict[str, Any], request_id: str | None = None) -> None:
    fast, flask = answers["fast"], answers["flask"]
    assert fast.status == flask.status
    assert fast.data == flask.data
    fast_headers = [(k, v) for k, v in fast.headers if k != "X-Request-ID"]
    flask_headers = [(k, v) for k, v in flask.headers if k != "X-Request-ID"]
    assert sorted(fast_headers) == sorted(flask_headers)
    ids = [answer.headers["X-Request-ID"] for answer in answers.values()]
    if request_id is not None:
        assert ids == [request_id, request_id]
    else:
        assert all(len(i) == 32 for i in ids)
        assert ids[0] != ids[1]


SUCCESSES = [
    ("/api/diagnosis", {"json": ROW}),
    ("/api/diagnosis", {"data": json.dumps(SECOND), "content_type": "application/json"}),
    ("/api/v1/models/diagnosis/predict", {"json": {"inputs": [ROW, SECOND]}}),
    ("/api/v1/models/diagnosis/predict", {"json": {"inputs": [ROW], "parameters": {}}}),
    (
        "/api/v1/models/summarizer/predict",
        {"json": {"inputs": [{"text": "One sentence here. " * 40}], "parameters": {"maxlen": 9}}},
    ),
]


@pytest.mark.parametrize(("path", "kwargs"), SUCCESSES)
def test_successes_are_answered_by_the_lane_exactly_as_flask_answers(
    lanes: dict[str, Flask], path: str, kwargs: dict[str, Any]
) -> None:
    spy = Spy(lanes["fast"])
    answers = both(lanes, path, **kwargs)
    assert answers["fast"].status_code == 200
    same_answer(answers)
    assert spy.handed_over == 0


def test_a_callers_request_id_and_key_are_kept(lanes: dict[str, Flask]) -> None:
    spy = Spy(lanes["fast"])
    headers = {}
    for name, app in lanes.items():
        with app.app_context():
            key = create_key(get_database().engine, f"robot-{name}", ("predict", "audit:read"))
        headers[name] = {"X-API-Key": key, "X-Request-ID": "run-7.case_3"}
    answers = {
        name: app.test_client().post("/api/diagnosis", json=ROW, headers=headers[name])
        for name, app in lanes.items()
    }
    same_answer(answers, request_id="run-7.case_3")
    assert spy.handed_over == 0
    for name, app in lanes.items():
        with app.app_context():
            get_audit_log().ship_now()  # type: ignore[union-attr]
        listed = app.test_client().get("/api/v1/predictions", headers=headers[name])
        (record,) = listed.get_json()["predictions"]
        assert (record["caller"], record["request_id"]) == (f"robot-{name}", "run-7.case_3")


HANDED_OVER = [
    ("/api/diagnosis", {"json": {**ROW, "radius_mean": "big"}}),  # a bad value: 422
    ("/api/diagnosis", {"json": [ROW]}),  # not an object: 400
    ("/api/diagnosis", {"data": "{", "content_type": "application/json"}),  # not JSON
    ("/api/diagnosis", {"data": '{"radius_mean": NaN}', "content_type": "application/json"}),
    ("/api/diagnosis", {"data": json.dumps(ROW), "content_type": "text/plain"}),  # 415
    ("/api/diagnosis?version=1", {"json": ROW}),  # a pinned version
    ("/api/diagnosis?version=x", {"json": ROW}),
    ("/api/v1/models/nothing/predict", {"json": {"inputs": [ROW]}}),  # 404
    ("/api/v1/models/diagnosis/predict", {"json": {"inputs": []}}),
    ("/api/v1/models/diagnosis/predict", {"json": {"inputs": [ROW], "extra": 1}}),
    ("/api/v1/models/diagnosis/predict", {"json": {"inputs": [ROW], "parameters": 3}}),
    ("/api/v1/models/diagnosis/predict", {"json": {"rows": [ROW]}}),
    ("/api/v1/models/summarizer/predict", {"json": {"inputs": [{"text": ""}]}}),
    ("/api/v1/models/diagnosis/predict/", {"json": {"inputs": [ROW]}}),
    ("/api/diagnosis", {"json": ROW, "headers": {"X-API-Key": "not-a-key"}}),  # 401
]


@pytest.mark.parametrize(("path", "kwargs"), HANDED_OVER)
def test_everything_else_goes_to_flask_unchanged(
    lanes: dict[str, Flask], path: str, kwargs: dict[str, Any]
) -> None:
    spy = Spy(lanes["fast"])
    same_answer(both(lanes, path, **kwargs))
    assert spy.handed_over == 1


def test_a_request_with_a_cookie_goes_to_flask(lanes: dict[str, Flask]) -> None:
    """A cookie may hold a signed-in page session: its caller is Flask's to find."""
    spy = Spy(lanes["fast"])
    answers = {}
    for name, app in lanes.items():
        client = app.test_client()
        client.set_cookie("session", "not-a-signed-session")
        answers[name] = client.post("/api/diagnosis", json=ROW)
    same_answer(answers)
    assert spy.handed_over == 1


def test_a_key_without_the_predict_scope_and_required_keys_go_to_flask(
    app_config: dict[str, Any],
) -> None:
    app = create_app({**app_config, "REQUIRE_API_KEY": True})
    try:
        spy = Spy(app)
        client = app.test_client()
        assert client.post("/api/diagnosis", json=ROW).status_code == 401
        with app.app_context():
            metrics_only = create_key(get_database().engine, "scraper", ("metrics",))
            predictor = create_key(get_database().engine, "robot", ("predict",))
        refused = client.post("/api/diagnosis", json=ROW, headers={"X-API-Key": metrics_only})
        assert refused.status_code == 403
        assert spy.handed_over == 2
        answered = client.post(
            "/api/diagnosis", json=ROW, headers={"Authorization": f"Bearer {predictor}"}
        )
        assert answered.status_code == 200
        assert spy.handed_over == 2
    finally:
        close_app(app)


def test_a_body_over_the_apps_own_limit_goes_to_flask(app_config: dict[str, Any]) -> None:
    app = create_app({**app_config, "MAX_CONTENT_LENGTH": 1024})
    try:
        spy = Spy(app)
        body = {"inputs": [ROW] * 10}  # ~1,500 bytes: under the lane's own bound, over the app's
        answer = app.test_client().post("/api/v1/models/diagnosis/predict", json=body)
        assert answer.status_code == 413
        assert spy.handed_over == 1
    finally:
        close_app(app)


def test_rate_limits_switch_the_lane_off(app_config: dict[str, Any]) -> None:
    app = create_app({**app_config, "RATE_LIMIT": "2/minute"})
    try:
        spy = Spy(app)
        client = app.test_client()
        statuses = [client.post("/api/diagnosis", json=ROW).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        assert spy.handed_over == 3
    finally:
        close_app(app)


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_the_lane_counts_requests_and_predictions(lanes: dict[str, Flask]) -> None:
    labels = {"method": "POST", "route": "/api/v1/models/<name>/predict", "status": "200"}
    before = sample("labserve_http_requests_total", **labels)
    predictions = sample("labserve_predictions_total", model="diagnosis", label="Malignant")
    answer = (
        lanes["fast"]
        .test_client()
        .post("/api/v1/models/diagnosis/predict", json={"inputs": [ROW, ROW]})
    )
    assert answer.status_code == 200
    assert sample("labserve_http_requests_total", **labels) == before + 1
    assert (
        sample("labserve_predictions_total", model="diagnosis", label="Malignant")
        == predictions + 2
    )


def test_a_refused_record_is_a_503_counted_once(
    lanes: dict[str, Flask], monkeypatch: pytest.MonkeyPatch
) -> None:
    spy = Spy(lanes["fast"])

    def disk_full(record: Any) -> None:
        raise JournalUnavailable("the journal disk is full (test)")

    for app in lanes.values():
        with app.app_context():
            monkeypatch.setattr(get_audit_log().journal, "append", disk_full)  # type: ignore[union-attr]
    refused = sample("labserve_audit_records_refused_total")
    answers = both(lanes, "/api/diagnosis", json=ROW)
    assert answers["fast"].status_code == 503
    assert answers["fast"].get_json()["error"] == "audit_unavailable"
    same_answer(answers)
    assert spy.handed_over == 0
    assert sample("labserve_audit_records_refused_total") == refused + 2  # one per app
