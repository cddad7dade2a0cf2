"""Revision 0002: a unique record_id on predictions, old rows kept, inserts idempotent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from alembic import command
from sqlalchemy import insert, inspect, text
from sqlalchemy.exc import IntegrityError

from labserve.db import AuditWriter, list_predictions, make_engine, upgrade_database
from labserve.db.audit import insert_predictions_idempotently
from labserve.db.migrate import alembic_config, current_revision
from labserve.db.schema import PredictionRecord
from tests.journal.helpers import record


def old_row(request_id: str) -> dict[str, object]:
    return {
        "created_at": datetime(2025, 1, 1, tzinfo=UTC),
        "model": "diagnosis",
        "model_version": "0.9",
        "caller": "anonymous",
        "request_id": request_id,
        "rows": 1,
        "inputs": "[]",
        "inputs_sha256": "0" * 64,
        "outputs": "[]",
        "latency_ms": 2.0,
    }


def test_upgrade_keeps_existing_rows_and_adds_a_unique_record_id(database_url: str) -> None:
    command.upgrade(alembic_config(database_url), "0001")
    engine = make_engine(database_url)
    with engine.begin() as connection:
        connection.execute(
            text(
                "INSERT INTO predictions (created_at, model, model_version, caller, request_id,"
                " rows, inputs, inputs_sha256, outputs, latency_ms) VALUES (:created_at,"
                " :model, :model_version, :caller, :request_id, :rows, :inputs,"
                " :inputs_sha256, :outputs, :latency_ms)"
            ),
            [old_row("old-1"), old_row("old-2")],
        )
    upgrade_database(database_url)
    assert current_revision(database_url) == "0003"  # head (0003: key scopes)
    indexes = {i["name"]: i for i in inspect(engine).get_indexes("predictions")}
    assert indexes["uq_predictions_record_id"]["unique"]
    assert [(r["request_id"], r["record_id"]) for r in list_predictions(engine)] == [
        ("old-2", None),
        ("old-1", None),
    ]
    # the in-memory writer of today still works: its rows carry no record_id
    writer = AuditWriter(engine)
    writer.submit(record(1))
    writer.close()
    assert len(list_predictions(engine)) == 3
    engine.dispose()


def test_idempotent_insert_skips_known_record_ids(database_url: str) -> None:
    upgrade_database(database_url)
    engine = make_engine(database_url)
    rows = [{**old_row(f"r-{i}"), "record_id": f"id-{i}"} for i in range(3)]
    with engine.begin() as connection:
        insert_predictions_idempotently(connection, rows[:2])
    with engine.begin() as connection:
        insert_predictions_idempotently(connection, rows)
        insert_predictions_idempotently(connection, [])
    with engine.begin() as connection:
        count = connection.execute(text("SELECT count(*) FROM predictions")).scalar()
    assert count == 3
    # a plain insert of a known id is refused: the index is unique
    with pytest.raises(IntegrityError), engine.begin() as connection:
        connection.execute(insert(PredictionRecord), [rows[0]])
    engine.dispose()


def test_downgrade_and_upgrade_again(database_url: str) -> None:
    upgrade_database(database_url)
    command.downgrade(alembic_config(database_url), "0001")
    assert current_revision(database_url) == "0001"
    engine = make_engine(database_url)
    assert "record_id" not in {c["name"] for c in inspect(engine).get_columns("predictions")}
    engine.dispose()
    upgrade_database(database_url)
    assert current_revision(database_url) == "0003"  # head (0003: key scopes)


def test_an_idempotent_insert_stores_what_an_orm_insert_stores(database_url: str) -> None:
    """The shipper's statement goes to the driver as text: the stored row, time included,
    must be the one SQLAlchemy's own insert stores."""
    upgrade_database(database_url)
    engine = make_engine(database_url)
    created = datetime(2026, 3, 4, 5, 6, 7, 891011, tzinfo=UTC)
    row = {**old_row("same"), "created_at": created, "inputs": '[{"a":1.5}]', "latency_ms": 0.25}
    with engine.begin() as connection:
        connection.execute(insert(PredictionRecord), [{**row, "record_id": "by-orm"}])
        insert_predictions_idempotently(connection, [{**row, "record_id": "by-driver"}])
    by_driver, by_orm = sorted(list_predictions(engine), key=lambda r: r["record_id"])
    assert by_driver["record_id"] == "by-driver"
    assert {**by_driver, "id": 0, "record_id": ""} == {**by_orm, "id": 0, "record_id": ""}
    assert by_driver["created_at"] == created.isoformat()
    engine.dispose()
