"""The audit log of predictions, written off the request path.

Request threads hand records to a queue and return at once; one background thread wakes every
``flush_seconds`` and writes what has queued, in batches of up to ``batch_size``, so auditing
costs a request about the time of a queue put. ``close()`` drains the queue: a clean shutdown loses
nothing. A database error is logged and the batch retried, never raised into a request.

The durable alternative is ``labserve.journal`` (a per-process append-only file, shipped to the
database by a separate process); its shipper inserts through ``insert_predictions_idempotently``.
"""

from __future__ import annotations

import atexit
import csv
import hashlib
import json
import logging
import operator
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

from sqlalchemy import Connection, Engine, insert, select

from labserve.db.schema import PredictionRecord

log = logging.getLogger(__name__)

InputsMode = Literal["full", "hash"]
MAX_LIST_LIMIT = 1000
EXPORT_FIELDS = (
    "id",
    "created_at",
    "model",
    "model_version",
    "caller",
    "request_id",
    "rows",
    "inputs",
    "inputs_sha256",
    "outputs",
    "latency_ms",
    "record_id",
)


def canonical_json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


@dataclass(slots=True)
class AuditRecord:
    """One prediction to audit. Built on every request: a plain slotted class is five times
    cheaper to make than a frozen one, and ``created_at`` is read from the clock only when the
    record is written (None means "now")."""

    model: str
    model_version: str
    caller: str
    request_id: str
    inputs: Any
    outputs: Any
    latency_ms: float
    rows: int
    created_at: datetime | None = None

    def as_row(self, mode: InputsMode) -> dict[str, Any]:
        inputs = canonical_json(self.inputs)
        return {
            "created_at": self.created_at or datetime.now(UTC),
            "model": self.model,
            "model_version": self.model_version,
            "caller": self.caller,
            "request_id": self.request_id,
            "rows": self.rows,
            "inputs": inputs if mode == "full" else None,
            "inputs_sha256": hashlib.sha256(inputs.encode("utf-8")).hexdigest(),
            "outputs": canonical_json(self.outputs),
            "latency_ms": self.latency_ms,
        }


class AuditWriter:
    """Batches audit records into the database from one background thread."""

    def __init__(
        self,
        engine: Engine,
        mode: InputsMode = "full",
        *,
        batch_size: int = 500,
        flush_seconds: float = 0.2,
        retry_seconds: float = 1.0,
    ) -> None:
        if mode not in ("full", "hash"):
            raise ValueError("audit inputs mode must be 'full' or 'hash'")
        self.engine = engine
        self.mode: InputsMode = mode
        self.batch_size = batch_size
        self.flush_seconds = flush_seconds
        self.retry_seconds = retry_seconds
        self._queue: queue.Queue[AuditRecord | None] = queue.Queue()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="labserve-audit", daemon=True)
        self._thread.start()
        atexit.register(self.close)
        try:  # forked worker processes skip atexit; multiprocessing's finalizers still run
            from multiprocessing import util

            util.Finalize(self, self.close, exitpriority=10)
        except Exception:  # pragma: no cover - best effort only
            pass

    def submit(self, record: AuditRecord) -> None:
        """Queue a record; never blocks on the database and never wakes the writer."""
        if self._closed:
            raise RuntimeError("the audit writer is closed")
        if record.created_at is None:  # stamped now, not when the batch is written
            record.created_at = datetime.now(UTC)
        self._queue.put(record)

    def flush(self) -> None:
        """Return once every record submitted so far is written."""
        self._wake.set()
        self._queue.join()

    def close(self) -> None:
        """Write what is queued, then stop the thread (idempotent)."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._wake.set()
        self._thread.join()

    def _run(self) -> None:
        # The thread sleeps for flush_seconds, then drains the queue in bulk. Waking on every
        # record instead would make it fight each request thread for the GIL: measured, that
        # cost 30% of single-row throughput, ten times the CPU the writing itself takes.
        stopping = False
        while not stopping:
            self._wake.wait(self.flush_seconds)
            self._wake.clear()
            batch: list[AuditRecord] = []
            while True:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    stopping = True
                    self._queue.task_done()
                    continue
                batch.append(item)
                if len(batch) >= self.batch_size:
                    self._write_and_mark(batch)
                    batch = []
            if batch:
                self._write_and_mark(batch)

    def _write_and_mark(self, batch: list[AuditRecord]) -> None:
        self._write(batch)
        for _ in batch:
            self._queue.task_done()

    def _write(self, batch: list[AuditRecord]) -> None:
        rows = [record.as_row(self.mode) for record in batch]
        for attempt in range(1, 6):
            try:
                with self.engine.begin() as connection:
                    connection.execute(insert(PredictionRecord), rows)
                return
            except Exception:
                log.exception("audit write of %d records failed (attempt %d)", len(rows), attempt)
                time.sleep(self.retry_seconds * attempt)
        log.error("audit: dropped %d records after 5 failed attempts", len(rows))


def _unchanged(value: Any) -> Any:
    return value


#: The columns the shipper inserts: every exported one but the database's own id.
INSERT_COLUMNS = tuple(name for name in EXPORT_FIELDS if name != "id")
assert INSERT_COLUMNS[0] == "created_at"  # the one value the dialect converts (below)
_AFTER_CREATED_AT = operator.itemgetter(*INSERT_COLUMNS[1:])


def insert_predictions_idempotently(
    connection: Connection, rows: Sequence[Mapping[str, Any]]
) -> None:
    """Insert prediction rows, skipping any whose ``record_id`` is already stored.

    ``INSERT ... ON CONFLICT (record_id) DO NOTHING`` on SQLite and PostgreSQL alike, so a
    journal segment shipped twice (the shipper died between the insert and deleting the
    segment) adds nothing the second time. Every row must carry a ``record_id``: a NULL one
    would never conflict. The caller owns the transaction.

    The statement goes to the driver as text with one tuple per row: SQLAlchemy's compiled
    insert spent ~9 µs a row making parameters, a third of the insert, and the shipper runs
    beside the request workers. ``created_at`` still passes through the dialect's own
    conversion, so a row is stored exactly as an ORM insert stores it.
    """
    if not rows:
        return
    dialect = connection.dialect
    if dialect.name not in ("postgresql", "sqlite"):
        raise NotImplementedError(f"idempotent inserts are not implemented for {dialect.name}")
    marker = "?" if dialect.paramstyle == "qmark" else "%s"
    statement = (
        f"INSERT INTO {PredictionRecord.__tablename__} ({', '.join(INSERT_COLUMNS)}) "
        f"VALUES ({', '.join([marker] * len(INSERT_COLUMNS))}) "
        "ON CONFLICT (record_id) DO NOTHING"
    )
    created_type = PredictionRecord.__table__.c.created_at.type
    convert = created_type.dialect_impl(dialect).bind_processor(dialect)
    stamp: Callable[[Any], Any] = convert if convert is not None else _unchanged
    connection.exec_driver_sql(
        statement, [(stamp(row["created_at"]), *_AFTER_CREATED_AT(row)) for row in rows]
    )


def _record_dict(row: PredictionRecord, parse_json: bool) -> dict[str, Any]:
    created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=UTC)
    out: dict[str, Any] = {name: getattr(row, name) for name in EXPORT_FIELDS}
    out["created_at"] = created.isoformat()
    if parse_json:
        out["inputs"] = json.loads(row.inputs) if row.inputs is not None else None
        out["outputs"] = json.loads(row.outputs)
    return out


def _query(model: str | None, since: datetime | None) -> Any:
    query = select(PredictionRecord)
    if model:
        query = query.where(PredictionRecord.model == model)
    if since is not None:
        query = query.where(PredictionRecord.created_at >= since)
    return query


def list_predictions(
    engine: Engine, model: str | None = None, since: datetime | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """Newest first, at most ``limit`` (capped at 1000) records.

    Ordered by time, not by id: the journal shipper inserts the records of several processes
    in whatever order it reads their segments, so ids no longer follow time.
    """
    limit = max(1, min(limit, MAX_LIST_LIMIT))
    query = (
        _query(model, since)
        .order_by(PredictionRecord.created_at.desc(), PredictionRecord.id.desc())
        .limit(limit)
    )
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        return [_record_dict(row, True) for row in session.scalars(query)]


def iter_predictions(
    engine: Engine, model: str | None = None, since: datetime | None = None
) -> Iterator[dict[str, Any]]:
    """Every matching record, oldest first (by ``created_at``, then id), fetched in chunks."""
    from sqlalchemy.orm import Session

    with Session(engine) as session:
        result = session.scalars(
            _query(model, since)
            .order_by(PredictionRecord.created_at, PredictionRecord.id)
            .execution_options(yield_per=1000)
        )
        for row in result:
            yield _record_dict(row, False)


def export_predictions(
    engine: Engine,
    fmt: Literal["csv", "jsonl"],
    out: TextIO,
    model: str | None = None,
    since: datetime | None = None,
) -> int:
    """Write matching records as CSV or JSON lines; return how many were written."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS)
        writer.writeheader()
        for record in iter_predictions(engine, model, since):
            writer.writerow(record)
            count += 1
    elif fmt == "jsonl":
        for record in iter_predictions(engine, model, since):
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
            count += 1
    else:
        raise ValueError("format must be csv or jsonl")
    return count
