"""The shipper on SQLite and PostgreSQL: exactly once, live segments kept, bad lines aside."""

from __future__ import annotations

import json
import os
import shutil
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from labserve.db import list_predictions
from labserve.journal import JournalWriter, Shipper, journal_metrics, read_status
from labserve.journal.records import decode_row
from labserve.journal.segments import encode_frame, list_segments
from tests.journal.helpers import record, stored_counts, stored_record_ids


def test_shipped_rows_hold_what_was_appended(journal_dir: Path, engine: Engine) -> None:
    created = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)
    with JournalWriter(journal_dir) as writer:
        record_id = writer.append(record(1, created_at=created, caller="lims", rows=3))
    assert Shipper(journal_dir, engine).run_once() == 1
    (stored,) = list_predictions(engine)
    assert stored["record_id"] == record_id
    assert stored["caller"] == "lims"
    assert stored["rows"] == 3
    assert stored["inputs"] == [{"radius_mean": 1.0, "texture_mean": 10.5}]
    assert stored["outputs"] == [{"label": "Benign", "probability_malignant": 0.1}]
    assert datetime.fromisoformat(stored["created_at"]) == created
    assert list_segments(journal_dir) == []  # finished and shipped: deleted


def test_shipping_a_segment_twice_inserts_nothing_twice(journal_dir: Path, engine: Engine) -> None:
    with JournalWriter(journal_dir) as writer:
        for i in range(50):
            writer.append(record(i))
    (segment,) = list_segments(journal_dir)
    copy = segment.with_name("copy")
    shutil.copy(segment, copy)
    assert Shipper(journal_dir, engine, batch_size=7).run_once() == 50
    copy.rename(segment)  # as if the shipper had died before deleting it
    assert Shipper(journal_dir, engine, batch_size=7).run_once() == 50
    assert stored_counts(engine) == (50, 50, 50)


def test_a_live_segment_is_shipped_as_it_grows_and_kept(journal_dir: Path, engine: Engine) -> None:
    writer = JournalWriter(journal_dir)
    shipper = Shipper(journal_dir, engine)
    for i in range(10):
        writer.append(record(i))
    assert shipper.run_once() == 10
    assert len(list_segments(journal_dir)) == 1  # its writer still appends to it
    assert shipper.run_once() == 0  # nothing new: not read again
    for i in range(10, 15):
        writer.append(record(i))
    assert shipper.run_once() == 5
    writer.close()
    assert shipper.run_once() == 0
    assert list_segments(journal_dir) == []
    assert stored_counts(engine) == (15, 15, 15)
    assert shipper.status.records_shipped == 15
    assert shipper.status.segments_deleted == 1


def test_shipping_while_eight_threads_append(journal_dir: Path, engine: Engine) -> None:
    writer = JournalWriter(journal_dir, segment_bytes=16 * 1024)
    shipper = Shipper(journal_dir, engine, batch_size=100)
    done = threading.Event()

    def work(t: int) -> None:
        for i in range(250):
            writer.append(record(t * 1000 + i))

    def ship() -> None:
        while not done.is_set():
            shipper.run_once()

    shipping = threading.Thread(target=ship)
    shipping.start()
    workers = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    writer.close()
    done.set()
    shipping.join()
    shipper.run_once()
    assert stored_counts(engine) == (2000, 2000, 2000)
    assert list_segments(journal_dir) == []


def test_a_torn_tail_is_skipped_and_later_segments_still_ship(
    journal_dir: Path, engine: Engine
) -> None:
    with JournalWriter(journal_dir) as crashed:
        crashed.append(record(1))
    (segment,) = list_segments(journal_dir)
    torn = segment.read_bytes()
    with segment.open("ab") as file:
        file.write(torn[: len(torn) // 2])  # a write cut short by the crash
    with JournalWriter(journal_dir) as restarted:
        restarted.append(record(2))
    shipper = Shipper(journal_dir, engine)
    assert shipper.run_once() == 2
    assert shipper.status.torn_tails == 1
    assert shipper.status.corrupt_frames == 0
    assert list_segments(journal_dir) == []
    assert stored_counts(engine) == (2, 2, 2)


def test_a_damaged_line_is_kept_aside_and_the_rest_ships(journal_dir: Path, engine: Engine) -> None:
    with JournalWriter(journal_dir) as writer:
        for i in range(3):
            writer.append(record(i))
    (segment,) = list_segments(journal_dir)
    lines = segment.read_bytes().splitlines(keepends=True)
    damaged = lines[1][:40] + bytes([lines[1][40] ^ 0x01]) + lines[1][41:]
    lines[1] = damaged  # bit rot: the checksum no longer matches
    lines.append(encode_frame(b'{"not": "a record"}'))
    segment.write_bytes(b"".join(lines))
    shipper = Shipper(journal_dir, engine)
    assert shipper.run_once() == 2
    assert shipper.status.corrupt_frames == 2
    kept = (journal_dir / "rejected" / f"{segment.name}.rejected").read_bytes().splitlines()
    assert len(kept) == 2
    assert kept[0] == damaged.rstrip(b"\n")


def test_a_row_the_database_refuses_is_kept_aside(journal_dir: Path, engine: Engine) -> None:
    """PostgreSQL refuses NUL in text; the writer never writes one, a hand-made line can."""
    with JournalWriter(journal_dir) as writer:
        good = [writer.append(record(i)) for i in range(3)]
    (segment,) = list_segments(journal_dir)
    row: dict[str, Any] = dict(decode_row(segment.read_bytes().splitlines()[0][9:]))
    row.update(record_id="f" * 32, caller="nul\x00byte", request_id="req-nul")
    row["created_at"] = row["created_at"].isoformat()
    with segment.open("ab") as file:
        file.write(encode_frame(json.dumps(row).encode()))
    shipper = Shipper(journal_dir, engine, batch_size=10)
    shipper.run_once()
    if engine.dialect.name == "postgresql":
        assert stored_record_ids(engine) == set(good)
        assert shipper.status.records_rejected == 1
        kept = (journal_dir / "rejected" / "rows.rejected").read_text().splitlines()
        assert json.loads(kept[0])["request_id"] == "req-nul"
    else:  # SQLite stores it
        assert stored_record_ids(engine) == {*good, "f" * 32}
    assert list_segments(journal_dir) == []


def test_status_and_metrics_report_progress(journal_dir: Path, engine: Engine) -> None:
    with JournalWriter(journal_dir) as writer:
        for i in range(5):
            writer.append(record(i))
    before = journal_metrics(journal_dir)
    assert before.segments == 1
    assert before.bytes_on_disk > 0
    assert before.shipper_heartbeat_age_seconds is None
    Shipper(journal_dir, engine).run_once()
    status = read_status(journal_dir)
    assert status is not None
    assert status.pid == os.getpid()
    assert status.records_shipped == 5
    metrics = journal_metrics(journal_dir, now=status.updated_at + 2)
    assert (metrics.segments, metrics.bytes_on_disk, metrics.lag_seconds) == (0, 0, 0.0)
    assert metrics.records_shipped == 5
    assert metrics.shipper_heartbeat_age_seconds == 2


def test_export_is_in_time_order_whatever_the_shipping_order(
    journal_dir: Path, engine: Engine
) -> None:
    import io

    from labserve.db import export_predictions

    start = datetime(2026, 1, 1, tzinfo=UTC)
    with JournalWriter(journal_dir) as later, JournalWriter(journal_dir) as earlier:
        for i in range(3):
            later.append(record(10 + i, created_at=start + timedelta(hours=10 + i)))
            earlier.append(record(i, created_at=start + timedelta(hours=i)))
    Shipper(journal_dir, engine).run_once()
    out = io.StringIO()
    export_predictions(engine, "jsonl", out)
    order = [json.loads(line)["request_id"] for line in out.getvalue().splitlines()]
    assert order == ["req-0", "req-1", "req-2", "req-10", "req-11", "req-12"]
    newest_first = [r["request_id"] for r in list_predictions(engine)]
    assert newest_first == order[::-1]


def test_leftovers_of_crashed_processes_are_removed_once_old(
    journal_dir: Path, engine: Engine
) -> None:
    journal_dir.mkdir()
    stale = journal_dir / ".20260101T000000000000Z-1-aaaaaaaa-000001.seg.tmp"
    fresh = journal_dir / ".probe-2-bbbbbbbb"
    for path in (stale, fresh):
        path.write_bytes(b"")
    os.utime(stale, (0, 0))
    Shipper(journal_dir, engine).run_once()
    assert not stale.exists()
    assert fresh.exists()
