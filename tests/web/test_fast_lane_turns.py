"""Under the server, the fast lane's records of one event-loop turn go out in one journal write
before any of their answers; when that write fails every answer of the turn is a 503, counted
as refused and not as a prediction made (or, with ``AUDIT_FAILURE=allow``, answered and
counted as lost).

The requests are driven through the server's RSGI app (``BufferedWSGI``) on an event loop,
all started in the same turn, with the Flask test client's answer as the reference.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask
from prometheus_client import REGISTRY

from labserve.buffered_wsgi import BufferedWSGI
from labserve.journal import JournalUnavailable, JournalWriter
from labserve.web import close_app, create_app
from labserve.web.audit_log import get_audit_log
from tests.conftest import data_row
from tests.journal.helpers import journal_rows, run_on_a_loop_of_its_own
from tests.test_access_log import Protocol, Scope

ROWS = [data_row(i) for i in (0, 19, 3, 7)]
PATH = "/api/diagnosis"


@pytest.fixture(params=["refuse", "allow"])
def app(app_config: dict[str, Any], request: pytest.FixtureRequest) -> Iterator[Flask]:
    app = create_app({**app_config, "AUDIT_FAILURE": request.param})
    yield app
    close_app(app)


def journal_of(app: Flask) -> JournalWriter:
    with app.app_context():
        audit_log = get_audit_log()
    assert audit_log is not None
    return audit_log.journal


def one_turn(app: Flask, rows: list[dict[str, Any]]) -> list[tuple[int, dict[str, str], bytes]]:
    """Send ``rows`` to the server's app, every request started in the same loop turn."""
    guard = BufferedWSGI(
        app, max_body_bytes=1 << 20, body_timeout=5, max_per_address=0, threads=1,
        inline=lambda scope, size: True,
    )  # fmt: skip
    protocols = [Protocol(json.dumps(row).encode()) for row in rows]

    async def send_all() -> None:
        await asyncio.gather(
            *(
                guard.__rsgi__(
                    Scope(
                        PATH,
                        headers={
                            "content-type": "application/json",
                            "content-length": str(len(protocol.body)),
                            "x-request-id": f"turn-{i}",
                        },
                    ),
                    protocol,
                )
                for i, protocol in enumerate(protocols)
            )
        )

    run_on_a_loop_of_its_own(send_all)
    guard.pool.shutdown()
    return [(p.sent[0][0], dict(p.sent[0][1]), p.sent[0][2]) for p in protocols]


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def counters() -> dict[str, float]:
    request = {"method": "POST", "route": PATH}
    return {
        "ok": sample("labserve_http_requests_total", **request, status="200"),
        "refused_requests": sample("labserve_http_requests_total", **request, status="503"),
        "predictions": sum(
            sample("labserve_predictions_total", model="diagnosis", label=label)
            for label in ("Benign", "Malignant")
        ),
        "refused": sample("labserve_audit_records_refused_total"),
        "lost": sample("labserve_audit_records_lost_total"),
    }


def test_a_turns_records_share_one_write_and_its_answers_are_flasks(app: Flask) -> None:
    journal = journal_of(app)
    writes = journal.stats().writes
    before = counters()
    answers = one_turn(app, ROWS)
    client = app.test_client()
    for (status, _headers, body), row in zip(answers, ROWS, strict=True):
        reference = client.post(PATH, json=row)
        assert status == 200 == reference.status_code
        assert body == reference.data
    assert journal.stats().writes == writes + 1 + len(ROWS)  # the turn, then one per request
    after = counters()
    assert after["ok"] - before["ok"] == 2 * len(ROWS)
    assert after["predictions"] - before["predictions"] == 2 * len(ROWS)
    journal.close()
    written = [r["request_id"] for r in journal_rows(journal.directory)]
    assert written[: len(ROWS)] == [f"turn-{i}" for i in range(len(ROWS))]


def test_a_failed_turn_write_refuses_every_answer_of_the_turn(
    app: Flask, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = journal_of(app)

    def disk_full(frames: list[bytes]) -> None:
        raise JournalUnavailable("the journal disk is full (test)")

    monkeypatch.setattr(journal, "write_lines", disk_full)
    before = counters()
    answers = one_turn(app, ROWS)
    after = counters()
    change = {name: after[name] - before[name] for name in after}
    if app.extensions["labserve.audit"].settings.audit_failure == "allow":  # counted as lost
        assert [status for status, _, _ in answers] == [200] * len(ROWS)
        assert change == {
            "ok": 4, "refused_requests": 0, "predictions": 4, "refused": 0, "lost": 4
        }  # fmt: skip
        return
    assert change == {"ok": 0, "refused_requests": 4, "predictions": 0, "refused": 4, "lost": 0}
    for i, (status, headers, body) in enumerate(answers):
        assert status == 503
        assert headers["X-Request-ID"] == f"turn-{i}"
        assert headers["Content-Length"] == str(len(body))
        error = json.loads(body)
        assert error["error"] == "audit_unavailable"
        assert "the journal disk is full (test)" in error["message"]
