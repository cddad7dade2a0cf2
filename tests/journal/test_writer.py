"""The per-process writer: what it writes, segments, group commit, health, fork, close."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from labserve.journal import JournalUnavailable, JournalWriter
from labserve.journal.segments import claim_if_finished, list_segments
from tests.journal.helpers import REPO, journal_rows, record, wait_for


def test_append_writes_the_record_before_returning(journal_dir: Path) -> None:
    with JournalWriter(journal_dir) as writer:
        record_id = writer.append(record(1))
        # no flush, no close: the bytes are already in the file
        (row,) = journal_rows(journal_dir)
    assert row["record_id"] == record_id
    assert len(record_id) == 32
    int(record_id, 16)
    assert row["request_id"] == "req-1"
    assert json.loads(row["inputs"] or "") == [{"radius_mean": 1.0, "texture_mean": 10.5}]
    assert writer.stats().records_appended == 1


def test_record_ids_are_unique_across_writers(journal_dir: Path) -> None:
    with JournalWriter(journal_dir) as first, JournalWriter(journal_dir) as second:
        ids = [w.append(record(i)) for i in range(200) for w in (first, second)]
    assert len(set(ids)) == 400


def test_hash_mode_keeps_the_inputs_off_the_disk(journal_dir: Path) -> None:
    with JournalWriter(journal_dir, mode="hash") as writer:
        writer.append(record(1, inputs=[{"text": "confidential patient note"}]))
    (row,) = journal_rows(journal_dir)
    assert row["inputs"] is None
    assert len(row["inputs_sha256"]) == 64
    assert not any(b"confidential" in p.read_bytes() for p in list_segments(journal_dir))


def test_segments_rotate_and_a_new_writer_never_reuses_one(journal_dir: Path) -> None:
    with JournalWriter(journal_dir, segment_bytes=4096) as writer:
        for i in range(100):
            writer.append(record(i))
    first_run = list_segments(journal_dir)
    assert len(first_run) > 3
    assert all(p.stat().st_size <= 4096 for p in first_run)
    sizes = {p.name: p.stat().st_size for p in first_run}
    with JournalWriter(journal_dir, segment_bytes=4096) as restarted:
        restarted.append(record(100))
    second_run = list_segments(journal_dir)
    assert len(second_run) == len(first_run) + 1
    assert second_run[:-1] == first_run  # the new segment sorts last
    assert all(p.stat().st_size == sizes[p.name] for p in first_run)
    assert [r["request_id"] for r in journal_rows(journal_dir)] == [f"req-{i}" for i in range(101)]


def test_the_active_segment_is_locked_until_closed(journal_dir: Path) -> None:
    writer = JournalWriter(journal_dir)
    writer.append(record(1))
    (segment,) = list_segments(journal_dir)
    fd = os.open(segment, os.O_RDONLY)
    try:
        assert not claim_if_finished(fd)
        writer.close()
        assert claim_if_finished(fd)
    finally:
        os.close(fd)
    with pytest.raises(JournalUnavailable, match="closed"):
        writer.append(record(2))
    assert writer.stats().records_refused == 1


@pytest.mark.parametrize("fsync", ["never", "interval", "always"])
def test_eight_threads_append_intact_unique_records(journal_dir: Path, fsync: str) -> None:
    threads, per_thread = 8, 400
    writer = JournalWriter(journal_dir, fsync=fsync, segment_bytes=256 * 1024)  # type: ignore[arg-type]
    ids: list[list[str]] = [[] for _ in range(threads)]
    start = threading.Barrier(threads)

    def work(t: int) -> None:
        start.wait()
        for i in range(per_thread):
            ids[t].append(writer.append(record(t * per_thread + i)))

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    stats = writer.stats()
    writer.close()
    rows = journal_rows(journal_dir)
    assert len(rows) == threads * per_thread  # every line passes its checksum
    assert {r["record_id"] for r in rows} == {i for chunk in ids for i in chunk}
    assert {r["request_id"] for r in rows} == {f"req-{i}" for i in range(threads * per_thread)}
    assert stats.records_appended == threads * per_thread
    assert stats.bytes_written == sum(p.stat().st_size for p in list_segments(journal_dir))
    if fsync == "always":
        assert stats.writes < threads * per_thread  # group commit: one write and sync for many
        assert stats.fsyncs == stats.writes


def test_each_caller_returns_after_its_own_bytes_are_written(journal_dir: Path) -> None:
    writer = JournalWriter(journal_dir, fsync="always")
    missing: list[str] = []

    def work(t: int) -> None:
        for i in range(30):
            record_id = writer.append(record(t * 100 + i))
            if record_id not in {row["record_id"] for row in journal_rows(journal_dir)}:
                missing.append(record_id)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    writer.close()
    assert missing == []


def test_interval_fsync_happens_in_the_background(journal_dir: Path) -> None:
    with JournalWriter(journal_dir, fsync="interval", fsync_interval_seconds=0.01) as writer:
        writer.append(record(1))
        wait_for(lambda: writer.stats().fsyncs >= 1, what="the interval fsync")


def test_a_healthy_writer_reports_no_reason(journal_dir: Path) -> None:
    with JournalWriter(journal_dir) as writer:
        assert writer.healthy
        assert writer.reason is None
        assert writer.stats().healthy


def test_a_bad_configuration_is_refused(journal_dir: Path) -> None:
    with pytest.raises(ValueError, match="fsync"):
        JournalWriter(journal_dir, fsync="sometimes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="mode"):
        JournalWriter(journal_dir, mode="partial")  # type: ignore[arg-type]


FORK_SCRIPT = """
import os, sys
from labserve.journal import JournalWriter
from tests.journal.helpers import record

writer = JournalWriter(sys.argv[1])
writer.append(record(0))
pid = os.fork()
if pid == 0:
    for i in range(1, 11):
        writer.append(record(100 + i))
    writer.close()
    os._exit(0)
for i in range(1, 11):
    writer.append(record(i))
os.waitpid(pid, 0)
writer.close()
"""


def test_a_forked_child_writes_its_own_segment_with_its_own_ids(journal_dir: Path) -> None:
    subprocess.run(
        [sys.executable, "-c", FORK_SCRIPT, str(journal_dir)], cwd=REPO, check=True, timeout=60
    )
    segments = list_segments(journal_dir)
    assert len(segments) == 2
    rows = journal_rows(journal_dir)
    assert len(rows) == 21
    assert len({r["record_id"] for r in rows}) == 21
    pids = {p.name.split("-")[1] for p in segments}
    assert len(pids) == 2
