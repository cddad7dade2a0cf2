"""The journal's health as plain numbers, for the web layer to export (Prometheus or else).

Any process can call ``journal_metrics``: it looks at the folder and at the status file the
shipper writes, so the numbers are the same whichever worker answers the scrape. The per-writer
counters (records refused by this process) are ``JournalWriter.stats()``.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

from labserve.journal.segments import disk_usage
from labserve.journal.status import read_status


@dataclass(frozen=True)
class JournalMetrics:
    """A snapshot of the journal folder and of its shipper.

    Attributes:
        bytes_on_disk: bytes of all segments (shipped but not yet deleted ones included).
        segments: how many segment files there are.
        lag_seconds: age of the next record the shipper has to ship (at most overstated while
            it waits for idle CPU, never understated), 0 when it had caught up
            at its last report. Read it with ``shipper_heartbeat_age_seconds``: a shipper
            that stopped reporting cannot tell its lag.
        records_shipped, records_rejected, corrupt_frames, database_errors: the shipper's
            counters since it started (they restart from 0 with it, as Prometheus counters do).
        shipper_heartbeat_age_seconds: seconds since the shipper last reported; None when no
            shipper ever reported for this folder.
    """

    bytes_on_disk: int
    segments: int
    lag_seconds: float
    records_shipped: int
    records_rejected: int
    corrupt_frames: int
    database_errors: int
    shipper_heartbeat_age_seconds: float | None


def journal_metrics(directory: str | os.PathLike[str], now: float | None = None) -> JournalMetrics:
    """Measure the journal in ``directory`` (cheap: one directory scan, one small file)."""
    folder = Path(directory)
    now = time.time() if now is None else now
    try:
        usage = disk_usage(folder)
        segments, size = usage.segments, usage.bytes
    except FileNotFoundError:
        segments = size = 0
    status = read_status(folder)
    if status is None:
        return JournalMetrics(size, segments, 0.0, 0, 0, 0, 0, None)
    oldest = status.oldest_unshipped_at
    return JournalMetrics(
        bytes_on_disk=size,
        segments=segments,
        lag_seconds=max(0.0, now - oldest) if oldest is not None else 0.0,
        records_shipped=status.records_shipped,
        records_rejected=status.records_rejected,
        corrupt_frames=status.corrupt_frames,
        database_errors=status.database_errors,
        shipper_heartbeat_age_seconds=max(0.0, now - status.updated_at),
    )
