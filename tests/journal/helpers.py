"""Helpers of the journal tests: records, reading a journal back, counting database rows,
real small file systems, and waiting with a deadline instead of sleeping blindly."""

from __future__ import annotations

import asyncio
import os
import subprocess
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import pytest
from sqlalchemy import Engine, text

from labserve.db import AuditRecord
from labserve.journal.records import JournalRow, decode_row
from labserve.journal.segments import SegmentReader, list_segments

REPO = Path(__file__).resolve().parents[2]


def record(i: int, **changes: Any) -> AuditRecord:
    fields: dict[str, Any] = {
        "model": "diagnosis",
        "model_version": "1.0-abc",
        "caller": "robot",
        "request_id": f"req-{i}",
        "inputs": [{"radius_mean": float(i), "texture_mean": 10.5}],
        "outputs": [{"label": "Benign", "probability_malignant": 0.1}],
        "latency_ms": 1.5,
        "rows": 1,
    }
    fields.update(changes)
    return AuditRecord(**fields)


def journal_rows(directory: Path) -> list[JournalRow]:
    """Every intact record in the journal, in segment order."""
    rows: list[JournalRow] = []
    for path in list_segments(directory):
        fd = os.open(path, os.O_RDONLY)
        try:
            rows.extend(
                decode_row(frame.body)
                for frame in SegmentReader(fd).frames()
                if frame.body is not None
            )
        finally:
            os.close(fd)
    return rows


def stored_counts(engine: Engine) -> tuple[int, int, int]:
    """Rows, distinct record ids and distinct request ids in ``predictions``."""
    with engine.connect() as connection:
        row = connection.execute(
            text(
                "SELECT count(*), count(DISTINCT record_id), count(DISTINCT request_id) "
                "FROM predictions"
            )
        ).one()
    return int(row[0]), int(row[1]), int(row[2])


def stored_record_ids(engine: Engine) -> set[str]:
    with engine.connect() as connection:
        return {r[0] for r in connection.execute(text("SELECT record_id FROM predictions"))}


T = TypeVar("T")


def run_on_a_loop_of_its_own(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(main())`` in a thread of its own: a test that ran before (the browser
    tests) may have left an event loop running in this one."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(main())).result()


def wait_for(condition: Callable[[], bool], timeout: float = 30.0, what: str = "") -> None:
    """Poll ``condition`` until it holds; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what or condition}")
        time.sleep(0.01)


def require_or_skip(reason: str) -> None:
    """Skip locally; in CI (CI=true) a test that cannot run is a failure, never a skip."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run this test: {reason}")
    pytest.skip(reason)


def _mount(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["mount", *arguments], capture_output=True, text=True, check=False)


@contextmanager
def small_filesystem(path: Path, size: str = "1m") -> Iterator[Path | None]:
    """A real tmpfs of ``size`` mounted at ``path``; None when mounting is not permitted."""
    path.mkdir(parents=True, exist_ok=True)
    result = _mount("-t", "tmpfs", "-o", f"size={size},mode=0700", "tmpfs", str(path))
    if result.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], capture_output=True, check=False).returncode:
            subprocess.run(["umount", "-l", str(path)], capture_output=True, check=True)


def remount(path: Path, mode: str) -> None:
    """Remount the tmpfs at ``path`` read-only ("ro") or read-write ("rw")."""
    result = _mount("-o", f"remount,{mode}", str(path))
    assert result.returncode == 0, result.stderr
