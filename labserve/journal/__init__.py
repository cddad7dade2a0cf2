"""A durable audit journal: records go to a per-process file first, to the database later.

``JournalWriter`` (one per process) appends a record with one write before returning, or raises
``JournalUnavailable`` (``TurnWriter`` gathers the records of one event-loop turn into one
write); the ``Shipper`` (a process of its own) inserts the records into the
``predictions`` table idempotently and deletes what it shipped. No Flask here.
"""

from labserve.journal.metrics import JournalMetrics, journal_metrics
from labserve.journal.process import start_shipper_process, stop_shipper_process
from labserve.journal.shipper import DatabaseUnavailable, Shipper, make_shipper_engine
from labserve.journal.status import ShipperStatus, read_status
from labserve.journal.turns import TurnWriter
from labserve.journal.writer import FsyncPolicy, JournalUnavailable, JournalWriter, WriterStats

__all__ = [
    "DatabaseUnavailable",
    "FsyncPolicy",
    "JournalMetrics",
    "JournalUnavailable",
    "JournalWriter",
    "Shipper",
    "ShipperStatus",
    "TurnWriter",
    "WriterStats",
    "journal_metrics",
    "make_shipper_engine",
    "read_status",
    "start_shipper_process",
    "stop_shipper_process",
]
