"""The shipper's counters, published as a small JSON file in the journal folder.

The shipper runs in a process of its own, so the web workers that export metrics cannot see
its memory; they read this file instead (written atomically by rename, about once a second).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import asdict, dataclass, fields
from pathlib import Path

log = logging.getLogger(__name__)

STATUS_FILE = "shipper-status.json"


@dataclass
class ShipperStatus:
    """What a shipper has done since it started. Times are Unix epoch seconds.

    Attributes:
        pid: the shipper's process id.
        updated_at: when this was written (a heartbeat: a stale one means no shipper runs).
        records_shipped: records committed to the database (a re-sent duplicate included).
        records_rejected: rows the database refused one by one (kept in ``rejected/``).
        corrupt_frames: complete lines whose checksum or content was wrong (kept likewise).
        torn_tails: finished segments that ended in a half-written line (skipped).
        segments_deleted: finished segments shipped in full and removed.
        database_errors: rounds that failed because the database was unreachable or refused.
        oldest_unshipped_at: creation time of the next record to ship, None when caught up.
            While shipping waits for idle CPU, the start of the last round instead (earlier
            than any waiting record: the lag it gives is an upper bound).
        last_error: the last database error, None once a round succeeds.
        last_success_at: when a round last shipped everything it found.
        waiting_for_idle_since: since when shipping waits for idle CPU (see ``busy``), None
            when it does not wait.
    """

    pid: int = 0
    updated_at: float = 0.0
    records_shipped: int = 0
    records_rejected: int = 0
    corrupt_frames: int = 0
    torn_tails: int = 0
    segments_deleted: int = 0
    database_errors: int = 0
    oldest_unshipped_at: float | None = None
    last_error: str | None = None
    last_success_at: float | None = None
    waiting_for_idle_since: float | None = None


def write_status(directory: Path, status: ShipperStatus) -> None:
    """Replace the status file atomically; a missing or read-only folder is only logged."""
    path = directory / STATUS_FILE
    temporary = directory / f".{STATUS_FILE}.{os.getpid()}.tmp"
    try:
        temporary.write_text(json.dumps(asdict(status)), encoding="utf-8")
        os.replace(temporary, path)
    except OSError as exc:
        log.debug("journal shipper: cannot write %s: %s", path, exc)


def read_status(directory: Path) -> ShipperStatus | None:
    """The last status a shipper wrote, or None when there is none (or it is unreadable)."""
    try:
        data = json.loads((directory / STATUS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict):
        return None
    known = {f.name for f in fields(ShipperStatus)}
    try:
        return ShipperStatus(**{k: v for k, v in data.items() if k in known})
    except TypeError:
        return None
