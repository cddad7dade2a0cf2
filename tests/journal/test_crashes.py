"""kill -9 of a writer and of the shipper: nothing acknowledged is lost, nothing doubled."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from labserve.journal import JournalWriter, Shipper
from labserve.journal.segments import list_segments
from tests.journal.helpers import (
    REPO,
    journal_rows,
    record,
    stored_counts,
    stored_record_ids,
    wait_for,
)

RECORDS = 2000


def start_appender(journal: Path, count: int, fsync: str, first: int = 0) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.journal.appender",
            str(journal),
            str(count),
            fsync,
            str(first),
        ],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def acknowledged_ids_until_killed(child: subprocess.Popen[str], kill_after: int) -> list[str]:
    """Read printed ids; SIGKILL the child after ``kill_after`` of them; the ids it printed."""
    assert child.stdout is not None
    assert child.stdin is not None
    ids: list[str] = []
    for line in child.stdout:
        if line.strip() == "done":
            break
        ids.append(line.strip())
        if len(ids) == kill_after:
            os.kill(child.pid, signal.SIGKILL)
            break
    else:
        pytest.fail("the appender ended before it was killed")
    ids.extend(line.strip() for line in child.stdout if line.endswith("\n") and line != "done\n")
    child.wait(timeout=30)
    child.stdin.close()
    child.stdout.close()
    assert child.returncode == -signal.SIGKILL
    return ids


@pytest.mark.parametrize(
    ("kill_after", "fsync"), [(1700, "never"), (900, "interval"), (150, "always")]
)
def test_kill_9_loses_no_acknowledged_record(
    journal_dir: Path, engine: Engine, kill_after: int, fsync: str
) -> None:
    killed = start_appender(journal_dir, RECORDS, fsync)
    acknowledged = acknowledged_ids_until_killed(killed, kill_after)
    assert len(acknowledged) >= kill_after
    # a write the kill cut short: half a line at the end of the dead writer's last segment
    last = list_segments(journal_dir)[-1]
    torn = last.read_bytes().splitlines(keepends=True)[-1]
    with last.open("ab") as file:
        file.write(torn[: len(torn) // 2])
    # the process restarts (a new segment) and goes on
    restarted = start_appender(journal_dir, 100, fsync, first=RECORDS)
    assert restarted.stdout is not None
    assert restarted.stdin is not None
    later = [restarted.stdout.readline().strip() for _ in range(100)]
    assert restarted.stdout.readline() == "done\n"
    restarted.stdin.close()
    assert restarted.wait(timeout=30) == 0
    restarted.stdout.close()

    journaled = journal_rows(journal_dir)
    shipper = Shipper(journal_dir, engine, batch_size=128)
    assert shipper.run_once() == len(journaled)
    assert shipper.status.torn_tails == 1
    assert shipper.status.corrupt_frames == 0
    stored = stored_record_ids(engine)
    assert set(acknowledged) <= stored
    assert set(later) <= stored
    total, distinct_ids, distinct_requests = stored_counts(engine)
    assert total == distinct_ids == distinct_requests == len(journaled)
    assert list_segments(journal_dir) == []  # both writers are gone: all finished


def test_kill_9_of_the_shipper_mid_batch_duplicates_and_loses_nothing(
    journal_dir: Path, engine: Engine, database_url: str
) -> None:
    count = 10_000
    with JournalWriter(journal_dir, segment_bytes=256 * 1024) as writer:
        for i in range(count):
            writer.append(record(i))
    command = [sys.executable, "-m", "labserve.journal", "--journal", str(journal_dir)]
    environment = {**os.environ, "LABSERVE_DATABASE_URL": database_url}
    shipper = subprocess.Popen(
        [*command, "--batch-size", "20"], cwd=REPO, env=environment, stderr=subprocess.DEVNULL
    )
    try:
        wait_for(lambda: stored_counts(engine)[0] > 0, what="the shipper's first batch")
    finally:
        shipper.kill()
        shipper.wait(timeout=30)
    shipped_before_kill = stored_counts(engine)[0]
    assert 0 < shipped_before_kill < count
    again = subprocess.run(
        [*command, "--batch-size", "500", "--once"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        check=False,
        timeout=120,
    )
    assert again.returncode == 0, again.stderr
    assert stored_counts(engine) == (count, count, count)
    assert list_segments(journal_dir) == []
