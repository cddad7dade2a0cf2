"""Fail closed: when a record cannot be written, ``append`` raises and ``healthy`` says why.

Real failures only: a full tmpfs, a read-only remount, a deleted folder, a file size limit.
Mounting needs root; without it these tests skip locally and fail in CI (CI=true).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from labserve.journal import JournalUnavailable, JournalWriter, Shipper
from tests.journal.helpers import (
    REPO,
    journal_rows,
    record,
    remount,
    require_or_skip,
    small_filesystem,
    stored_counts,
)

NOT_PERMITTED = "mounting a tmpfs is not permitted here (run as root)"


@pytest.fixture
def sqlite_engine(tmp_path: Path) -> Engine:
    from labserve.db import upgrade_database
    from labserve.journal import make_shipper_engine

    url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade_database(url)
    return make_shipper_engine(url)


def append_until_refused(writer: JournalWriter, limit: int = 100_000) -> tuple[int, str]:
    for i in range(limit):
        try:
            writer.append(record(i, inputs=[{"padding": "x" * 300}]))
        except JournalUnavailable as exc:
            return i, exc.reason
    pytest.fail(f"{limit} appends and none refused")


def test_a_full_disk_refuses_records_and_keeps_the_written_ones_intact(
    tmp_path: Path, sqlite_engine: Engine
) -> None:
    with small_filesystem(tmp_path / "small", "1m") as mount:
        if mount is None:
            require_or_skip(NOT_PERMITTED)
            return
        filler = mount / "filler"
        filler.write_bytes(bytes(700 * 1024))
        journal = mount / "journal"
        writer = JournalWriter(journal, probe_seconds=0)
        written, reason = append_until_refused(writer)
        assert written > 100
        assert "disk is full" in reason
        assert not writer.healthy
        assert writer.reason is not None
        assert "disk is full" in writer.reason
        with pytest.raises(JournalUnavailable, match="disk is full"):  # larger than refused
            writer.append(record(-1, inputs=[{"padding": "x" * 400}]))
        # the refused batch was cut off: exactly the accepted records are there, whole
        assert len(journal_rows(journal)) == written
        filler.unlink()
        assert writer.healthy  # it notices the room without being sent traffic
        writer.append(record(written))
        writer.close()
        assert Shipper(journal, sqlite_engine).run_once() == written + 1
        assert stored_counts(sqlite_engine) == (written + 1,) * 3
        assert writer.stats().records_refused == 2


RLIMIT_SCRIPT = """
import json, resource, sys
from labserve.journal import JournalUnavailable, JournalWriter
from tests.journal.helpers import record

resource.setrlimit(resource.RLIMIT_FSIZE, (64 * 1024, resource.RLIM_INFINITY))
writer = JournalWriter(sys.argv[1], segment_bytes=1 << 20)
written = 0
while True:
    try:
        writer.append(record(written, inputs=[{"padding": "x" * 300}]))
    except JournalUnavailable as exc:
        print(json.dumps({"written": written, "reason": exc.reason}))
        break
    written += 1
writer.append(record(written))  # a fresh segment has room again: the limit is per file
print(json.dumps({"after": True}))
"""


def test_a_file_size_limit_refuses_records(journal_dir: Path, sqlite_engine: Engine) -> None:
    """The fallback where a tmpfs cannot be mounted: RLIMIT_FSIZE makes writes fail (EFBIG)."""
    result = subprocess.run(
        [sys.executable, "-c", RLIMIT_SCRIPT, str(journal_dir)],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    refused, after = (json.loads(line) for line in result.stdout.splitlines())
    assert "file size limit" in refused["reason"]
    assert after == {"after": True}
    assert Shipper(journal_dir, sqlite_engine).run_once() == refused["written"] + 1
    assert stored_counts(sqlite_engine)[0] == refused["written"] + 1


def test_a_read_only_journal_refuses_records(tmp_path: Path) -> None:
    with small_filesystem(tmp_path / "ro", "1m") as mount:
        if mount is None:
            require_or_skip(NOT_PERMITTED)
            return
        journal = mount / "journal"
        journal.mkdir()
        remount(mount, "ro")
        try:
            writer = JournalWriter(journal, probe_seconds=0)
            assert not writer.healthy
            assert "read-only" in (writer.reason or "")
            with pytest.raises(JournalUnavailable, match="read-only"):
                writer.append(record(1))
        finally:
            remount(mount, "rw")
        assert writer.healthy
        writer.append(record(2))
        writer.close()
        assert [r["request_id"] for r in journal_rows(journal)] == ["req-2"]


def test_a_deleted_journal_folder_refuses_records_until_it_is_back(
    journal_dir: Path, sqlite_engine: Engine
) -> None:
    writer = JournalWriter(journal_dir, probe_seconds=0)
    writer.append(record(1))
    shutil.rmtree(journal_dir)
    # the open segment still accepts bytes, into a file no one can ever read: refused
    with pytest.raises(JournalUnavailable, match="removed"):
        writer.append(record(2))
    with pytest.raises(JournalUnavailable, match="missing"):
        writer.append(record(3))
    assert not writer.healthy
    journal_dir.mkdir()
    assert writer.healthy
    record_id = writer.append(record(4))
    writer.close()
    assert [r["record_id"] for r in journal_rows(journal_dir)] == [record_id]
    assert Shipper(journal_dir, sqlite_engine).run_once() == 1


def test_max_bytes_refuses_records_until_the_shipper_catches_up(
    journal_dir: Path, sqlite_engine: Engine
) -> None:
    writer = JournalWriter(
        journal_dir,
        max_bytes=64 * 1024,
        segment_bytes=8 * 1024,
        usage_refresh_seconds=0,
        probe_seconds=0,
    )
    written, reason = append_until_refused(writer)
    assert "max_bytes=65536" in reason
    assert "database down" in reason
    assert not writer.healthy
    assert sum(p.stat().st_size for p in journal_dir.glob("*.seg")) > 64 * 1024 - 8 * 1024
    assert Shipper(journal_dir, sqlite_engine).run_once() == written
    assert writer.healthy  # shipped segments are deleted: room again
    writer.append(record(written))
    writer.close()
    Shipper(journal_dir, sqlite_engine).run_once()
    assert stored_counts(sqlite_engine) == (written + 1,) * 3
