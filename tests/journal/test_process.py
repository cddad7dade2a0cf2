"""The shipper as a process: started and stopped by a parent, or run once from a command."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine

from labserve.db import upgrade_database
from labserve.journal import (
    JournalWriter,
    read_status,
    start_shipper_process,
    stop_shipper_process,
)
from labserve.journal.segments import list_segments
from labserve.journal.shipper import main
from tests.conftest import free_port
from tests.journal.helpers import REPO, record, stored_counts, wait_for


def test_a_started_shipper_ships_until_stopped(
    journal_dir: Path, engine: Engine, database_url: str
) -> None:
    writer = JournalWriter(journal_dir)
    process = start_shipper_process(journal_dir, database_url, poll_seconds=0.05)
    try:
        for i in range(100):
            writer.append(record(i))
        wait_for(lambda: stored_counts(engine)[0] == 100, what="shipping")
        writer.append(record(100))
        writer.close()  # the server stops its workers first ...
    finally:
        code = stop_shipper_process(process)  # ... then the shipper, whose last round ships
    assert code == 0
    assert stored_counts(engine) == (101, 101, 101)
    assert list_segments(journal_dir) == []
    status = read_status(journal_dir)
    assert status is not None
    assert status.pid == process.pid


def test_run_once_from_the_command_line(
    journal_dir: Path, engine: Engine, database_url: str
) -> None:
    with JournalWriter(journal_dir) as writer:
        for i in range(10):
            writer.append(record(i))
    down = f"postgresql+psycopg://nobody:x@127.0.0.1:{free_port()}/none?connect_timeout=2"
    assert main(["--journal", str(journal_dir), "--database-url", down, "--once"]) == 1
    assert main(["--journal", str(journal_dir), "--database-url", database_url, "--once"]) == 0
    assert stored_counts(engine) == (10, 10, 10)


@pytest.mark.parametrize(
    ("option", "value", "problem"),
    [
        ("--idle-wait-seconds", "-1", "must be at least 0, got -1"),
        ("--poll-seconds", "nan", "must be a finite number, got nan"),
        ("--max-backoff-seconds", "inf", "must be a finite number, got inf"),
        ("--backoff-seconds", "soon", "not a number: 'soon'"),
        ("--batch-size", "0", "must be at least 1, got 0"),
        ("--batch-size", "1.5", "not a whole number: '1.5'"),
    ],
)
def test_the_command_line_refuses_a_bad_number_by_name(
    journal_dir: Path, capsys: pytest.CaptureFixture[str], option: str, value: str, problem: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--journal", str(journal_dir), "--database-url", "sqlite://", option, value])
    assert exited.value.code == 2  # a usage error, before anything starts
    error = capsys.readouterr().err
    assert f"argument {option}: {problem}" in error
    assert "Traceback" not in error


PARENT_SCRIPT = """
import sys
from labserve.journal import start_shipper_process
process = start_shipper_process(sys.argv[1], sys.argv[2], poll_seconds=0.05)
print(process.pid, flush=True)
sys.stdin.read()
"""


def test_the_shipper_stops_when_its_parent_dies(journal_dir: Path, tmp_path: Path) -> None:
    database_url = f"sqlite:///{tmp_path / 'audit.db'}"
    upgrade_database(database_url)
    parent = subprocess.Popen(
        [sys.executable, "-c", PARENT_SCRIPT, str(journal_dir), database_url],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert parent.stdout is not None
    assert parent.stdin is not None
    shipper_pid = int(parent.stdout.readline())
    wait_for(lambda: read_status(journal_dir) is not None, what="the shipper's first round")
    os.kill(parent.pid, signal.SIGKILL)
    parent.wait(timeout=30)
    parent.stdin.close()
    parent.stdout.close()

    def gone() -> bool:
        try:
            state = Path(f"/proc/{shipper_pid}/stat").read_text().split(") ")[1][0]
        except (FileNotFoundError, IndexError):
            return True
        return state == "Z"  # exited; nobody reaped it yet

    wait_for(gone, what="the orphaned shipper to stop")
