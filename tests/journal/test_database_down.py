"""The database goes away: appends go on, memory stays flat, and once it is back every record
is shipped exactly once. Real failures: a closed port, a deleted file, a read-only mount."""

from __future__ import annotations

import gc
import logging
import threading
import tracemalloc
from pathlib import Path

import pytest
from sqlalchemy import Engine

from labserve.db import upgrade_database
from labserve.journal import (
    DatabaseUnavailable,
    JournalWriter,
    Shipper,
    journal_metrics,
    make_shipper_engine,
)
from labserve.journal.segments import list_segments
from tests.conftest import free_port
from tests.journal.helpers import (
    record,
    remount,
    require_or_skip,
    small_filesystem,
    stored_counts,
    stored_record_ids,
    wait_for,
)


def closed_port_engine() -> Engine:
    return make_shipper_engine(
        f"postgresql+psycopg://nobody:secret@127.0.0.1:{free_port()}/none?connect_timeout=2"
    )


def library_memory() -> int:
    """Traced bytes, less what pytest's log capture keeps of each logged error."""
    gc.collect()
    snapshot = tracemalloc.take_snapshot().filter_traces(
        [
            tracemalloc.Filter(False, logging.__file__),
            tracemalloc.Filter(False, "*/_pytest/*"),
            tracemalloc.Filter(False, tracemalloc.__file__),
        ]
    )
    return sum(stat.size for stat in snapshot.statistics("filename"))


def test_appends_go_on_with_flat_memory_while_the_database_is_down(
    journal_dir: Path, engine: Engine
) -> None:
    writer = JournalWriter(journal_dir, segment_bytes=64 * 1024)
    for i in range(100):
        writer.append(record(i))
    assert Shipper(journal_dir, engine).run_once() == 100

    down_engine = closed_port_engine()
    down = Shipper(journal_dir, down_engine)
    tracemalloc.start()
    try:
        for round_ in range(10):  # about 1.7 MB of records in all
            for i in range(500):
                writer.append(record(100 + round_ * 500 + i))
            with pytest.raises(DatabaseUnavailable, match="Connection refused"):
                down.run_once()
            if round_ == 1:
                settled = library_memory()
        grown = library_memory() - settled
    finally:
        tracemalloc.stop()
        down_engine.dispose()
    assert grown < 256 * 1024, f"memory grew by {grown} bytes while the database was down"
    assert writer.healthy
    assert writer.stats().records_refused == 0
    metrics = journal_metrics(journal_dir)
    assert metrics.database_errors == 10
    assert metrics.lag_seconds > 0
    # Every byte written is on disk but the first segment's, shipped and deleted.
    assert metrics.bytes_on_disk >= writer.stats().bytes_written - 64 * 1024

    back = Shipper(journal_dir, engine)  # a new shipper reads the live segment from its start
    back.run_once()
    writer.close()
    back.run_once()
    assert stored_counts(engine) == (5100, 5100, 5100)
    assert list_segments(journal_dir) == []
    assert journal_metrics(journal_dir).lag_seconds == 0


def test_a_deleted_sqlite_database_is_noticed_and_refilled_once_back(
    journal_dir: Path, tmp_path: Path
) -> None:
    database = tmp_path / "audit.db"
    url = f"sqlite:///{database}"
    upgrade_database(url)
    engine = make_shipper_engine(url)
    writer = JournalWriter(journal_dir)
    for i in range(50):
        writer.append(record(i))
    shipper = Shipper(journal_dir, engine, backoff_seconds=0.01, max_backoff_seconds=0.05)
    assert shipper.run_once() == 50
    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    later = {writer.append(record(i)) for i in range(50, 100)}

    with pytest.raises(DatabaseUnavailable, match="missing"):
        shipper.run_once()
    assert not database.exists()  # no empty database created behind the operator's back
    stop = threading.Event()
    retrying = threading.Thread(target=shipper.run, args=(stop,))
    retrying.start()
    try:
        wait_for(lambda: shipper.status.database_errors >= 3, what="retries")
        assert writer.healthy
        upgrade_database(url)  # the database is back (empty: the old file is gone)
        wait_for(lambda: stored_counts(engine)[0] == 50, what="shipping after recovery")
    finally:
        stop.set()
        retrying.join()
    assert stored_record_ids(engine) == later
    writer.close()
    engine.dispose()


def test_a_read_only_sqlite_database_is_retried_until_writable(
    journal_dir: Path, tmp_path: Path
) -> None:
    with small_filesystem(tmp_path / "dbfs", "16m") as mount:
        if mount is None:
            require_or_skip("mounting a tmpfs is not permitted here (run as root)")
            return
        url = f"sqlite:///{mount / 'audit.db'}"
        upgrade_database(url)
        engine = make_shipper_engine(url)  # no pool: no connection stays open
        writer = JournalWriter(journal_dir)
        for i in range(50):
            writer.append(record(i))
        shipper = Shipper(journal_dir, engine)
        assert shipper.run_once() == 50
        remount(mount, "ro")
        try:
            for i in range(50, 100):
                writer.append(record(i))
            with pytest.raises(DatabaseUnavailable):
                shipper.run_once()
            with pytest.raises(DatabaseUnavailable):
                shipper.run_once()
        finally:
            remount(mount, "rw")
        assert shipper.run_once() == 50
        writer.close()
        shipper.run_once()
        assert stored_counts(engine) == (100, 100, 100)
        assert shipper.status.database_errors == 2
        engine.dispose()
