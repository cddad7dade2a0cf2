"""Migrations, API keys and the audit log, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import csv
import io
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, inspect, text

from labserve.db import (
    AuditRecord,
    AuditWriter,
    DuplicateKeyName,
    any_keys_exist,
    create_key,
    export_predictions,
    list_keys,
    list_predictions,
    make_engine,
    revoke_key,
    upgrade_database,
    verify_key,
)
from labserve.db.migrate import current_revision


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    yield engine
    engine.dispose()


def record(i: int, model: str = "diagnosis", **changes: object) -> AuditRecord:
    fields: dict = {
        "model": model,
        "model_version": "1.0-abc",
        "caller": "robot",
        "request_id": f"req-{i}",
        "inputs": [{"radius_mean": float(i)}],
        "outputs": [{"label": "Benign", "probability_malignant": 0.1}],
        "latency_ms": 1.5,
        "rows": 1,
    }
    fields.update(changes)
    return AuditRecord(**fields)


def test_migrations_create_the_schema_and_are_idempotent(database_url: str) -> None:
    upgrade_database(database_url)
    upgrade_database(database_url)
    assert current_revision(database_url) == "0003"  # head (0003: key scopes)
    engine = make_engine(database_url)
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert {"api_keys", "predictions", "alembic_version"} <= tables


def test_keys_create_verify_revoke(engine: Engine) -> None:
    assert not any_keys_exist(engine)
    key = create_key(engine, "plate-reader")
    assert key.startswith("lsk_")
    assert len(key) > 40
    assert any_keys_exist(engine)
    assert verify_key(engine, key) == "plate-reader"
    assert verify_key(engine, key[:-1] + ("A" if key[-1] != "A" else "B")) is None
    assert verify_key(engine, "") is None
    assert verify_key(engine, "Bearer " + key) is None
    with pytest.raises(DuplicateKeyName):
        create_key(engine, "plate-reader")
    assert revoke_key(engine, "plate-reader") is True
    assert revoke_key(engine, "plate-reader") is False
    assert verify_key(engine, key) is None
    reissued = create_key(engine, "plate-reader")  # a revoked name may be issued again
    assert verify_key(engine, reissued) == "plate-reader"
    names = [(k.name, k.revoked_at is None) for k in list_keys(engine)]
    assert names == [("plate-reader", False), ("plate-reader", True)]


def test_only_a_hash_of_the_key_is_stored(engine: Engine) -> None:
    key = create_key(engine, "lims")
    with engine.connect() as connection:
        dump = " ".join(
            str(v) for row in connection.execute(text("SELECT * FROM api_keys")) for v in row
        )
    assert key not in dump
    assert key[12:] not in dump


def test_keys_survive_a_restart(database_url: str) -> None:
    upgrade_database(database_url)
    first = make_engine(database_url)
    key = create_key(first, "robot")
    first.dispose()
    second = make_engine(database_url)
    assert verify_key(second, key) == "robot"
    second.dispose()


def test_audit_writer_records_exactly_what_was_submitted(engine: Engine) -> None:
    writer = AuditWriter(engine, batch_size=64, flush_seconds=0.01)
    threads = [
        threading.Thread(
            target=lambda base=base: [writer.submit(record(base + i)) for i in range(250)]
        )
        for base in range(0, 1000, 250)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writer.close()
    with engine.connect() as connection:
        assert connection.execute(text("SELECT count(*) FROM predictions")).scalar() == 1000
        ids = {r[0] for r in connection.execute(text("SELECT request_id FROM predictions"))}
    assert ids == {f"req-{i}" for i in range(1000)}


def test_flush_makes_records_visible_without_closing(engine: Engine) -> None:
    writer = AuditWriter(engine, flush_seconds=5)
    writer.submit(record(1))
    writer.flush()
    assert len(list_predictions(engine)) == 1
    writer.close()


def test_hash_mode_keeps_no_inputs(engine: Engine) -> None:
    writer = AuditWriter(engine, mode="hash")
    writer.submit(record(1, inputs=[{"text": "confidential patient note"}]))
    writer.close()
    (stored,) = list_predictions(engine)
    assert stored["inputs"] is None
    assert len(stored["inputs_sha256"]) == 64
    with engine.connect() as connection:
        dump = " ".join(
            str(v) for row in connection.execute(text("SELECT * FROM predictions")) for v in row
        )
    assert "confidential" not in dump


def test_list_filters_and_orders(engine: Engine) -> None:
    old = datetime.now(UTC) - timedelta(days=2)
    writer = AuditWriter(engine)
    writer.submit(record(0, created_at=old))
    for i in range(1, 6):
        writer.submit(record(i))
    writer.submit(record(9, model="summarizer", outputs=[{"summary_text": "x"}]))
    writer.close()
    everything = list_predictions(engine)
    assert [r["request_id"] for r in everything] == [
        "req-9",
        "req-5",
        "req-4",
        "req-3",
        "req-2",
        "req-1",
        "req-0",
    ]
    assert [r["request_id"] for r in list_predictions(engine, model="summarizer")] == ["req-9"]
    recent = list_predictions(engine, since=datetime.now(UTC) - timedelta(hours=1))
    assert "req-0" not in {r["request_id"] for r in recent}
    assert len(recent) == 6
    assert len(list_predictions(engine, limit=2)) == 2
    first = everything[-1]
    assert first["inputs"] == [{"radius_mean": 0.0}]
    assert first["outputs"][0]["label"] == "Benign"
    assert first["caller"] == "robot"
    assert datetime.fromisoformat(first["created_at"]).tzinfo is not None


def test_export_round_trips(engine: Engine) -> None:
    writer = AuditWriter(engine)
    for i in range(3):
        writer.submit(record(i))
    writer.close()
    out = io.StringIO()
    assert export_predictions(engine, "csv", out) == 3
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [r["request_id"] for r in rows] == ["req-0", "req-1", "req-2"]
    assert json.loads(rows[1]["inputs"]) == [{"radius_mean": 1.0}]
    out = io.StringIO()
    assert export_predictions(engine, "jsonl", out, model="diagnosis") == 3
    lines = [json.loads(line) for line in out.getvalue().splitlines()]
    assert lines[2]["request_id"] == "req-2"


def test_writer_survives_a_transient_database_error(
    engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    writer = AuditWriter(engine, retry_seconds=0.01)
    real_begin = engine.begin
    failures = {"left": 2}

    def flaky_begin():  # type: ignore[no-untyped-def]
        if failures["left"]:
            failures["left"] -= 1
            raise ConnectionError("database went away")
        return real_begin()

    monkeypatch.setattr(engine, "begin", flaky_begin)
    writer.submit(record(1))
    writer.submit(record(2))
    writer.close()
    monkeypatch.undo()
    assert len(list_predictions(engine)) == 2
