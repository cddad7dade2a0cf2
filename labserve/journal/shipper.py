"""The shipper: moves journaled records into the ``predictions`` table, in its own process.

It reads every segment in name order (oldest first), inserts complete lines in batches with
``INSERT ... ON CONFLICT (record_id) DO NOTHING`` and deletes a segment once it is finished
(its writer closed it or died: see ``segments``) and shipped in full. Progress within a live
segment is kept in memory only: a restarted shipper reads its segments again from the start,
which the idempotent insert makes harmless, so there is no offset file to keep consistent.

When the database is unreachable the round stops at the first failed batch, is logged and is
retried with exponential backoff; nothing is held in memory but one batch, so memory stays
flat however long the outage, and the writers' ``max_bytes`` bounds the disk instead.

Run it as ``python -m labserve.journal.shipper --journal DIR`` with the database URL in
``LABSERVE_DATABASE_URL`` (or ``--database-url``); ``labserve.journal.process`` starts and
stops it from a server.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

from sqlalchemy import Engine
from sqlalchemy.exc import DataError, IntegrityError

from labserve.db.audit import insert_predictions_idempotently
from labserve.db.engine import make_engine
from labserve.journal.busy import BusyDeferral
from labserve.journal.records import InvalidRow, JournalRow, decode_row
from labserve.journal.segments import (
    SegmentReader,
    claim_if_finished,
    list_segments,
    stale_temporaries,
)
from labserve.journal.status import ShipperStatus, write_status

log = logging.getLogger(__name__)

DATABASE_URL_ENV = "LABSERVE_DATABASE_URL"
REJECTED_DIR = "rejected"
STATUS_EVERY_SECONDS = 1.0
STALE_TEMPORARY_SECONDS = 600.0


class DatabaseUnavailable(Exception):
    """The database could not take a batch; nothing was lost, the round will be retried."""


class StopSignal(Protocol):
    """A ``threading.Event`` or ``multiprocessing.Event``: what ``Shipper.run`` waits on."""

    def is_set(self) -> bool: ...

    def wait(self, timeout: float | None = None) -> bool: ...


def make_shipper_engine(url: str) -> Engine:
    """An engine for the shipper: no connection pool for SQLite (see ``make_engine``)."""
    return make_engine(url, pooled=not url.startswith("sqlite"))


class Shipper:
    """Ships the journal in ``directory`` to the database of ``engine``.

    Args:
        directory: the journal folder the writers append to.
        engine: where the ``predictions`` table is (migrated to revision 0002 or later).
            Prefer ``make_shipper_engine``.
        batch_size: records per insert transaction.
        poll_seconds: pause between rounds once everything is shipped.
        backoff_seconds: first pause after a database error; doubles up to
            ``max_backoff_seconds`` while errors go on.
        idle_wait_seconds: in ``run``, while the machine's CPUs are busy (see
            ``busy``), wait for idle CPU up to this long before shipping anyway; 0 (the
            default here) ships every round. ``run_once`` never waits.
        deferral: the ``BusyDeferral`` to use instead (for tests).
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        engine: Engine,
        *,
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        idle_wait_seconds: float = 0.0,
        deferral: BusyDeferral | None = None,
    ) -> None:
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self.directory = Path(directory)
        self.engine = engine
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self._offsets: dict[str, int] = {}
        self._status = ShipperStatus(pid=os.getpid())
        self._status_written_at = 0.0
        self._sqlite_file = _sqlite_file(engine)
        self.deferral = deferral or BusyDeferral(idle_wait_seconds)
        self._round_started_at = time.time()

    @property
    def status(self) -> ShipperStatus:
        """A copy of the counters (the same figures the status file holds)."""
        return replace(self._status)

    # -- rounds -----------------------------------------------------------------------------

    def run_once(self) -> int:
        """Ship everything readable now; return how many records were committed.

        Raises:
            DatabaseUnavailable: the database refused a batch; what was committed before it
                stays committed, the rest is shipped by a later round.
        """
        shipped = 0
        self._round_started_at = time.time()
        self._status.waiting_for_idle_since = None
        self._remove_stale_temporaries()
        try:
            segments = list_segments(self.directory)
            for path in segments:
                shipped += self._ship_segment(path)
        except DatabaseUnavailable as exc:
            self._status.database_errors += 1
            self._status.last_error = str(exc)
            self._publish(force=True)
            raise
        names = {path.name for path in segments}
        for gone in [name for name in self._offsets if name not in names]:
            del self._offsets[gone]
        self._status.oldest_unshipped_at = None
        self._status.last_error = None
        self._status.last_success_at = time.time()
        self._publish(force=True)
        return shipped

    def run(self, stop: StopSignal) -> None:
        """Ship until ``stop`` is set, backing off while the database is unavailable.

        After ``stop`` one last round ships what the (by then stopped) writers left. Shipping
        waits for idle CPU (``deferral``) only once a round has shipped everything it found:
        what an earlier shipper left goes at once, and the lag reported while waiting holds.
        """
        delay = self.backoff_seconds
        while not stop.is_set():
            if self._status.last_success_at is not None and self.deferral.should_wait():
                self._note_waiting()
                stop.wait(self.poll_seconds)
                continue
            try:
                self.run_once()
            except DatabaseUnavailable as exc:  # str(): a log record must not pin a batch
                log.warning("journal shipper: %s; retrying in %.2f s", str(exc), delay)
                pause, delay = delay, min(delay * 2, self.max_backoff_seconds)
            except Exception:
                log.exception("journal shipper: round failed; retrying in %.2f s", delay)
                pause, delay = delay, min(delay * 2, self.max_backoff_seconds)
            else:
                pause, delay = self.poll_seconds, self.backoff_seconds
            stop.wait(pause)
        try:
            self.run_once()
        except Exception as exc:
            log.warning("journal shipper: final round failed (%s); the journal keeps it", str(exc))

    def _note_waiting(self) -> None:
        """Publish that shipping waits for idle CPU, and the lag meanwhile.

        Everything written before the last round started was shipped by it (``run`` waits
        only after a round that shipped everything), so while records wait the lag is counted
        from then: an upper bound, never an understatement. A change is published at once.
        """
        changed = False
        if self._status.waiting_for_idle_since is None:
            self._status.waiting_for_idle_since = time.time()
            changed = True
        if self._status.oldest_unshipped_at is None and self._has_unshipped():
            self._status.oldest_unshipped_at = self._round_started_at
            changed = True
        self._publish(force=changed)

    def _has_unshipped(self) -> bool:
        """Whether a segment holds bytes past what was shipped of it (sizes only, no reads)."""
        for path in list_segments(self.directory):
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                continue
            if size > self._offsets.get(path.name, 0):
                return True
        return False

    def _remove_stale_temporaries(self) -> None:
        """Delete what crashed processes left half-made (never a file someone holds locked)."""
        for path in stale_temporaries(self.directory, STALE_TEMPORARY_SECONDS):
            try:
                fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                if claim_if_finished(fd):
                    path.unlink(missing_ok=True)
            except OSError as exc:
                log.debug("journal shipper: cannot remove %s: %s", path, exc)
            finally:
                os.close(fd)

    # -- one segment ------------------------------------------------------------------------

    def _ship_segment(self, path: Path) -> int:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:  # another shipper finished it
            return 0
        try:
            finished = claim_if_finished(fd)
            offset = self._offsets.get(path.name, 0)
            if not finished and os.fstat(fd).st_size == offset:
                return 0
            reader = SegmentReader(fd, offset)
            shipped = self._ship_frames(path, reader, offset)
            if finished:
                # Its writer is gone: what follows the last complete line is a torn write.
                if reader.tail_bytes:
                    self._status.torn_tails += 1
                    log.warning("journal shipper: skipped a torn last line in %s", path.name)
                self._delete(path)
            return shipped
        finally:
            os.close(fd)  # releases the claim

    def _ship_frames(self, path: Path, reader: SegmentReader, offset: int) -> int:
        shipped = 0
        rows: list[JournalRow] = []
        end = offset
        for frame in reader.frames():
            end = frame.end
            if frame.body is None:
                self._keep_rejected(path, frame.raw, "checksum")
                continue
            try:
                rows.append(decode_row(frame.body))
            except InvalidRow as exc:
                self._keep_rejected(path, frame.raw, str(exc))
                continue
            if len(rows) >= self.batch_size:
                shipped += self._commit(rows)
                self._offsets[path.name] = end
                rows = []
        shipped += self._commit(rows)
        self._offsets[path.name] = end
        return shipped

    def _delete(self, path: Path) -> None:
        self._offsets.pop(path.name, None)
        try:
            path.unlink()
        except FileNotFoundError:
            return
        self._status.segments_deleted += 1

    # -- the database -----------------------------------------------------------------------

    def _commit(self, rows: Sequence[JournalRow]) -> int:
        """Insert ``rows`` in one transaction; the number of rows the database took."""
        if not rows:
            return 0
        self._status.oldest_unshipped_at = rows[0]["created_at"].timestamp()
        try:
            self._insert(rows)
            shipped = len(rows)
        except (DataError, IntegrityError):
            shipped = self._insert_one_by_one(rows)
        except DatabaseUnavailable:
            raise
        except Exception as exc:
            raise DatabaseUnavailable(_describe(exc)) from exc
        self._status.records_shipped += shipped
        self._publish()
        return shipped

    def _insert(self, rows: Sequence[JournalRow]) -> None:
        before = self._database_file_identity()
        with self.engine.begin() as connection:
            insert_predictions_idempotently(connection, rows)
        if self._database_file_identity() != before:
            raise DatabaseUnavailable("the SQLite database file was replaced during an insert")

    def _insert_one_by_one(self, rows: Sequence[JournalRow]) -> int:
        """Find the rows the database refuses, keep them aside, ship the others."""
        shipped = 0
        for row in rows:
            try:
                self._insert([row])
                shipped += 1
            except (DataError, IntegrityError) as exc:
                self._keep_rejected_row(row, exc)
            except DatabaseUnavailable:
                raise
            except Exception as exc:
                raise DatabaseUnavailable(_describe(exc)) from exc
        return shipped

    def _database_file_identity(self) -> tuple[int, int] | None:
        """(device, inode) of a SQLite database file; DatabaseUnavailable when it is missing.

        Connecting to a missing SQLite file would create an empty database; checking first,
        and again after the commit, also catches a file deleted or replaced while a batch was
        being written into it (the rows went nowhere: the batch is shipped again later).
        """
        if self._sqlite_file is None:
            return None
        try:
            info = os.stat(self._sqlite_file)
        except OSError as exc:
            missing = f"the SQLite database {self._sqlite_file} is missing"
            raise DatabaseUnavailable(missing) from exc
        return info.st_dev, info.st_ino

    # -- what cannot be shipped -------------------------------------------------------------

    def _keep_rejected(self, segment: Path, raw: bytes, why: str) -> None:
        log.error("journal shipper: a line of %s is unreadable (%s); kept aside", segment, why)
        self._status.corrupt_frames += 1
        self._append_rejected(segment.name, raw + b"\n")

    def _keep_rejected_row(self, row: JournalRow, exc: Exception) -> None:
        log.error(
            "journal shipper: the database refused record %s (%s); kept aside",
            row["record_id"],
            type(exc).__name__,
        )
        self._status.records_rejected += 1
        data = {**row, "created_at": row["created_at"].isoformat()}
        self._append_rejected("rows", json.dumps(data, ensure_ascii=False).encode() + b"\n")

    def _append_rejected(self, name: str, data: bytes) -> None:
        folder = self.directory / REJECTED_DIR
        folder.mkdir(mode=0o700, exist_ok=True)
        fd = os.open(folder / f"{name}.rejected", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def _publish(self, force: bool = False) -> None:
        now = time.time()
        if force or now - self._status_written_at >= STATUS_EVERY_SECONDS:
            self._status.updated_at = now
            self._status_written_at = now
            write_status(self.directory, self._status)


def _sqlite_file(engine: Engine) -> str | None:
    database = engine.url.database
    if engine.dialect.name != "sqlite" or not database or database == ":memory:":
        return None
    if database.startswith("file:"):
        return None  # URI filenames: too many forms to check reliably
    return os.path.abspath(database)


def _describe(exc: BaseException) -> str:
    """The error without statement parameters (they hold patients' inputs)."""
    original = getattr(exc, "orig", None)
    text = str(original if original is not None else exc).strip().splitlines()
    return f"database unavailable: {type(exc).__name__}: {text[0] if text else ''}"


# -- the process entry point ----------------------------------------------------------------


def _at_least(minimum: float, convert: Callable[[str], float]) -> Callable[[str], float]:
    """An argparse type: ``convert``'s number, refused (a usage error) below ``minimum``
    or when not finite (a wait of infinity overflows ``Event.wait``)."""
    kind = "a whole number" if convert is int else "a number"

    def parse(text: str) -> float:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not {kind}: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum:g}, got {text}")
        return value

    return parse


def parse_arguments(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m labserve.journal",
        description="Ship labserve's audit journal into the predictions table.",
    )
    parser.add_argument("--journal", type=Path, required=True, help="the journal folder")
    parser.add_argument(
        "--database-url",
        default=os.environ.get(DATABASE_URL_ENV),
        help=f"SQLAlchemy URL (default: ${DATABASE_URL_ENV}; prefer it: argv is public)",
    )
    parser.add_argument("--batch-size", type=_at_least(1, int), default=500)
    parser.add_argument("--poll-seconds", type=_at_least(0, float), default=0.5)
    parser.add_argument("--backoff-seconds", type=_at_least(0, float), default=0.5)
    parser.add_argument("--max-backoff-seconds", type=_at_least(0, float), default=30.0)
    parser.add_argument(
        "--idle-wait-seconds",
        type=_at_least(0, float),
        default=0.0,
        help="while every CPU is busy, wait for idle CPU up to this long before shipping",
    )
    parser.add_argument("--once", action="store_true", help="ship what is there, then exit")
    parser.add_argument(
        "--nice",
        type=int,
        default=0,
        help="lower this process's CPU priority by this much (0-19): requests come first",
    )
    parser.add_argument(
        "--exit-with-parent",
        action="store_true",
        help="stop (after a last round) when the process that started this one dies",
    )
    arguments = parser.parse_args(argv)
    if not arguments.database_url:
        parser.error(f"give --database-url or set {DATABASE_URL_ENV}")
    return arguments


def _watch_parent(stop: threading.Event, parent: int) -> None:
    while not stop.wait(1.0):
        if os.getppid() != parent:
            log.warning("journal shipper: the parent process is gone; stopping")
            stop.set()


def main(argv: Sequence[str] | None = None) -> int:
    """Run a shipper until SIGTERM/SIGINT (or once, with ``--once``)."""
    arguments = parse_arguments(argv)
    if arguments.nice > 0:
        os.nice(min(arguments.nice, 19))
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    arguments.journal.mkdir(parents=True, exist_ok=True, mode=0o700)  # for the status file
    engine = make_shipper_engine(arguments.database_url)
    shipper = Shipper(
        arguments.journal,
        engine,
        batch_size=arguments.batch_size,
        poll_seconds=arguments.poll_seconds,
        backoff_seconds=arguments.backoff_seconds,
        max_backoff_seconds=arguments.max_backoff_seconds,
        idle_wait_seconds=arguments.idle_wait_seconds,
    )
    try:
        if arguments.once:
            try:
                count = shipper.run_once()
            except DatabaseUnavailable as exc:
                log.error("journal shipper: %s", exc)
                return 1
            log.info("journal shipper: shipped %d records", count)
            return 0
        stop = threading.Event()
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, lambda *_: stop.set())
        if arguments.exit_with_parent:
            threading.Thread(target=_watch_parent, args=(stop, os.getppid()), daemon=True).start()
        log.info("journal shipper: shipping %s (pid %d)", arguments.journal, os.getpid())
        shipper.run(stop)
        return 0
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
