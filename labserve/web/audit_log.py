"""Recording every answered prediction: the journal of this worker, and who ships it.

A record is appended to the worker's journal (one write to the operating system) before the
answer is sent, so a prediction is never answered without its record surviving the process.
The database is never touched on the request path: a shipper moves journal records into it,
a separate process under ``labserve serve``, a thread of the app otherwise (development,
tests, scripts). When a record cannot be journaled (disk full, read-only, folder gone, too
much unshipped), the prediction is refused with 503 unless the lab chose
``LABSERVE_AUDIT_FAILURE=allow``, in which case the loss is counted and logged.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from dataclasses import dataclass, field

from flask import Flask, current_app
from prometheus_client import Counter

from labserve.db import AuditRecord
from labserve.journal import (
    DatabaseUnavailable,
    JournalUnavailable,
    JournalWriter,
    Shipper,
    TurnWriter,
    make_shipper_engine,
)
from labserve.settings import Settings

log = logging.getLogger(__name__)

EXTENSION_KEY = "labserve.audit"
SHIP_THREAD_SECONDS = 0.5

RECORDS_REFUSED = Counter(
    "labserve_audit_records_refused_total",
    "Predictions refused (503) because their audit record could not be journaled",
)
RECORDS_LOST = Counter(
    "labserve_audit_records_lost_total",
    "Predictions answered without an audit record (LABSERVE_AUDIT_FAILURE=allow)",
)


@dataclass
class AuditLog:
    """The journal of this process, and (outside the production server) its shipper."""

    settings: Settings
    journal: JournalWriter
    shipper: Shipper | None = None
    stop: threading.Event | None = None
    thread: threading.Thread | None = None
    shipping: threading.Lock = field(default_factory=threading.Lock)

    turns: TurnWriter = field(init=False)

    def __post_init__(self) -> None:
        self.turns = TurnWriter(self.journal)

    def record(self, record: AuditRecord) -> None:
        """Journal ``record`` now, or raise ``JournalUnavailable`` (unless failures allowed)."""
        reason = self.write(record)
        if reason is not None and not self.answer_without(record, reason):
            raise JournalUnavailable(reason)

    def write(self, record: AuditRecord) -> str | None:
        """Journal ``record`` now: None once written, else the reason for ``answer_without``."""
        try:
            self.journal.append(record)
        except JournalUnavailable as exc:
            return exc.reason
        return None

    def stage(self, record: AuditRecord) -> asyncio.Future[str | None]:
        """Journal ``record`` with the others of this event-loop turn (``TurnWriter``); a
        future of None once written, else the reason to pass to ``answer_without``."""
        return self.turns.stage(record)

    def answer_without(self, record: AuditRecord, reason: str) -> bool:
        """``record`` could not be journaled: count it, and whether its prediction may still
        be answered (only with ``LABSERVE_AUDIT_FAILURE=allow``, as a record lost)."""
        if self.settings.audit_failure == "allow":
            RECORDS_LOST.inc()
            log.error("audit record lost (%s): %s %s", reason, record.model, record.request_id)
            return True
        RECORDS_REFUSED.inc()
        return False

    def check(self) -> None:
        """Refuse before any work is streamed when records cannot be kept (fail closed)."""
        if self.settings.audit_failure == "refuse" and not self.journal.healthy:
            RECORDS_REFUSED.inc()
            raise JournalUnavailable(self.journal.reason or "the audit journal is unavailable")

    def ship_now(self) -> None:
        """Move what is journaled into the database now, when this app ships its own."""
        if self.shipper is not None:
            with self.shipping:
                self.shipper.run_once()

    def ship_periodically(self, stop: threading.Event) -> None:
        """The shipping thread of an app that ships its own records (not under serve)."""
        while not stop.wait(SHIP_THREAD_SECONDS):
            try:
                self.ship_now()
            except DatabaseUnavailable as exc:
                log.warning("audit records wait in the journal: %s", exc)
            except Exception:  # never let the thread die: the journal keeps everything
                log.exception("shipping audit records failed")

    @property
    def unavailable_reason(self) -> str | None:
        """Why predictions are refused right now (for /readyz), or None."""
        if self.settings.audit_failure == "allow" or self.journal.healthy:
            return None
        return self.journal.reason or "the audit journal is unavailable"

    def close(self) -> None:
        if self.stop is not None:
            self.stop.set()
        if self.thread is not None:
            self.thread.join(timeout=SHIP_THREAD_SECONDS + 5)  # its round ends, then it stops
        self.journal.close()
        if self.shipper is not None:
            try:
                self.ship_now()  # what this app journaled last is shipped now
            except Exception as exc:  # the journal keeps it for the next shipper
                log.warning("audit records left in the journal for later: %s", exc)
            finally:
                self.shipper.engine.dispose()  # no pooled connection outlives the app


def init_audit_log(app: Flask, settings: Settings) -> AuditLog | None:
    if not settings.audit:
        return None
    folder = settings.resolved_journal_path
    folder.mkdir(parents=True, exist_ok=True)
    audit_log = AuditLog(
        settings=settings,
        journal=JournalWriter(
            folder,
            mode=settings.audit_inputs,
            fsync=settings.journal_fsync,
            max_bytes=settings.journal_max_bytes,
        ),
    )
    if settings.shipper == "thread":
        audit_log.shipper = Shipper(folder, make_shipper_engine(settings.resolved_database_url()))
        audit_log.stop = threading.Event()
        audit_log.thread = threading.Thread(
            target=audit_log.ship_periodically,
            args=(audit_log.stop,),
            name="labserve-shipper",
            daemon=True,
        )
        audit_log.thread.start()
    app.extensions[EXTENSION_KEY] = audit_log
    return audit_log


def get_audit_log() -> AuditLog | None:
    audit_log: AuditLog | None = current_app.extensions.get(EXTENSION_KEY)
    return audit_log


def close_audit_log(app: Flask) -> None:
    audit_log: AuditLog | None = app.extensions.get(EXTENSION_KEY)
    if audit_log is not None:
        audit_log.close()
