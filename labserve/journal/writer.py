"""The per-process journal: a record is on disk before ``append`` returns, or it raises.

Why a file and not a queue: a record waiting in memory dies with the process (``kill -9``, an
OOM kill) and one waiting for the database dies with a long outage. Here the bytes of a record
reach the kernel with one ``os.write`` before ``append`` returns, so once it returns only a
power cut can lose the record, and not even that with ``fsync="always"``. There is no writer
thread: the request thread writes itself, which costs a few microseconds and none of the GIL
contention a background thread costs.

Alone (no other thread writing or waiting, the usual case with one event loop per worker) an
appending thread writes its own line at once. Otherwise, group commit: an appending thread adds
its line to the open batch, then takes the write lock.
The holder writes (and with ``fsync="always"`` syncs) every line added so far in one
``os.write``; a thread whose line went out with an earlier holder's write finds its batch done
when it gets the lock and returns at once. So under load one write and one fsync serve many
callers, and each caller still returns only after its own bytes were written. (Measured, this
costs less than a leader/follower scheme with a condition variable: no notify, one wake-up.)

Fail closed: when a record cannot be written (disk full, read-only or deleted directory, or
more unshipped bytes than ``max_bytes`` because the database has been down too long) ``append``
raises ``JournalUnavailable``, so the prediction is refused rather than served unaudited.
Nothing is ever queued in memory, whatever happens to the database.
"""

from __future__ import annotations

import contextlib
import errno
import itertools
import logging
import os
import threading
import time
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from labserve.db.audit import AuditRecord, InputsMode
from labserve.journal.records import encode_record
from labserve.journal.segments import (
    DIRECTORY_MODE,
    FILE_MODE,
    TEMP_PREFIX,
    create_segment,
    disk_usage,
    segment_name,
    sync_directory,
)

log = logging.getLogger(__name__)

FsyncPolicy = Literal["never", "interval", "always"]
FSYNC_POLICIES = ("never", "interval", "always")
DEFAULT_MAX_BYTES = 1 << 30
DEFAULT_SEGMENT_BYTES = 16 << 20
PROBE_BYTES = 4096


class JournalUnavailable(Exception):
    """The record was not journaled, so the prediction must not be served.

    Attributes:
        reason: what is wrong, in words an operator can act on (also shown by ``/readyz``).
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class WriterStats:
    """Counters of one writer (one process) since it was created (or since a fork)."""

    records_appended: int
    records_refused: int
    bytes_written: int
    writes: int
    fsyncs: int
    healthy: bool
    reason: str | None
    segment: str | None


def describe_os_error(exc: OSError, directory: Path) -> str:
    """Why a write failed, for the operator."""
    code = exc.errno
    if code in (errno.ENOSPC, errno.EDQUOT):
        return f"the journal disk is full ({directory})"
    if code == errno.EROFS:
        return f"the journal directory {directory} is on a read-only file system"
    if code in (errno.EACCES, errno.EPERM):
        return f"no permission to write to the journal directory {directory}"
    if code in (errno.ENOENT, errno.ENOTDIR):
        return f"the journal directory {directory} is missing"
    if code == errno.EFBIG:
        return f"a journal segment in {directory} hit the file size limit (EFBIG)"
    return f"cannot write to the journal in {directory}: {exc.strerror or exc}"


class _Batch:
    """Frames appended while the previous write was under way; written together."""

    __slots__ = ("done", "error", "frames")

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.done = False
        self.error: str | None = None


_WRITERS: weakref.WeakSet[JournalWriter] = weakref.WeakSet()


def _reset_writers_in_forked_child() -> None:
    for writer in list(_WRITERS):
        writer._reset_after_fork()


os.register_at_fork(after_in_child=_reset_writers_in_forked_child)


class JournalWriter:
    """Appends audit records to this process's segments in ``directory``.

    Args:
        directory: the journal folder, shared by every process of a server (and by the
            shipper). Created if missing.
        mode: ``"full"`` keeps the inputs, ``"hash"`` only their sha256 (nothing else touches
            the disk).
        fsync: ``"never"``: a record survives the death of the process, not a power cut.
            ``"interval"``: a background thread syncs at most every ``fsync_interval_seconds``
            while there are unsynced writes, so a power cut loses at most about that long.
            ``"always"``: synced before ``append`` returns (group commit shares the cost).
        max_bytes: refuse appends while the journal folder holds more segment bytes than this
            (the database has been unreachable for too long; the disk is protected).
        segment_bytes: start a new segment once the current one would grow past this.
        fsync_interval_seconds: the period of ``fsync="interval"``.
        usage_refresh_seconds: how stale the writer's view of the folder's size may be.
        probe_seconds: while unhealthy, how often ``healthy``/``reason`` check for recovery.
    """

    def __init__(
        self,
        directory: str | os.PathLike[str],
        *,
        mode: InputsMode = "full",
        fsync: FsyncPolicy = "never",
        max_bytes: int = DEFAULT_MAX_BYTES,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        fsync_interval_seconds: float = 0.2,
        usage_refresh_seconds: float = 1.0,
        probe_seconds: float = 1.0,
    ) -> None:
        if mode not in ("full", "hash"):
            raise ValueError("audit inputs mode must be 'full' or 'hash'")
        if fsync not in FSYNC_POLICIES:
            raise ValueError(f"fsync must be one of {', '.join(FSYNC_POLICIES)}")
        if max_bytes <= 0 or segment_bytes <= 0:
            raise ValueError("max_bytes and segment_bytes must be positive")
        self.directory = Path(directory)
        self.mode: InputsMode = mode
        self.fsync: FsyncPolicy = fsync
        self.max_bytes = max_bytes
        self.segment_bytes = segment_bytes
        self.fsync_interval_seconds = fsync_interval_seconds
        self.usage_refresh_seconds = usage_refresh_seconds
        self.probe_seconds = probe_seconds
        self._closed = False
        self._start_process_state()
        _WRITERS.add(self)
        try:
            self.directory.mkdir(parents=True, exist_ok=True, mode=DIRECTORY_MODE)
        except OSError as exc:
            self._fail(describe_os_error(exc, self.directory))
        else:
            self._probe()

    def _start_process_state(self) -> None:
        """Everything that belongs to one process: a forked child starts it afresh."""
        self._batch_lock = threading.Lock()  # guards _open_batch: held for a list append
        self._write_lock = threading.Lock()  # one writer at a time; guards segment and counters
        self._segment_lock = threading.Lock()  # guards _fd against the fsync thread
        self._open_batch = _Batch()
        self._pid = os.getpid()
        token = os.urandom(10).hex()
        self._token = token[:8]
        self._id_prefix = token
        self._ids = itertools.count()
        self._sequence = itertools.count(1)
        self._fd: int | None = None
        self._segment: str | None = None
        self._segment_size = 0
        self._abandon_segment_requested = False
        self._usage = 0
        self._usage_checked_at = float("-inf")
        self._written_since_usage = 0
        self._reason: str | None = None
        self._failed_at = 0.0
        self._appended = self._refused = self._bytes = self._writes = self._fsyncs = 0
        self._interval_fsyncs = self._refused_closed = 0
        self._dirty = threading.Event()
        self._stop_syncing = threading.Event()
        self._syncer: threading.Thread | None = None

    # -- the request path -----------------------------------------------------------------

    def append(self, record: AuditRecord) -> str:
        """Write ``record`` to the journal and return its new ``record_id``.

        Raises:
            JournalUnavailable: the record is not in the journal; refuse the prediction.
        """
        record_id, frame = self.encode(record)
        if self._write_lock.acquire(blocking=False):  # nobody writing: no batch to join
            try:
                if not self._open_batch.frames and not self._closed:
                    # One line when no other is waiting: the common case of one request
                    # thread per worker, without the batch's bookkeeping.
                    self._write_counted(frame, 1)
                    return record_id
            finally:
                self._write_lock.release()
        with self._batch_lock:
            if self._closed:
                self._refused_closed += 1
                raise JournalUnavailable("the journal writer is closed")
            batch = self._open_batch
            batch.frames.append(frame)
        with self._write_lock:
            if not batch.done:  # nobody wrote it while this thread waited: write all pending
                self._write_open_batch()
        if batch.error is not None:
            raise JournalUnavailable(batch.error)
        return record_id

    def encode(self, record: AuditRecord) -> tuple[str, bytes]:
        """A new ``record_id`` for ``record`` and its journal line, not yet written."""
        record_id = f"{self._id_prefix}{next(self._ids):012x}"
        return record_id, encode_record(record, record_id, self.mode)

    def write_lines(self, frames: list[bytes]) -> None:
        """Write lines made by ``encode`` in one write, all or none of them.

        For a caller that gathers the records of several requests itself (one event-loop
        turn, ``labserve.journal.turns``): its requests wait for this write, not for a lock.

        Raises:
            JournalUnavailable: none of the lines is in the journal; refuse them all.
        """
        with self._write_lock:
            if self._closed:  # set under both locks, so this lock suffices to read it
                with self._batch_lock:
                    self._refused_closed += len(frames)
                raise JournalUnavailable("the journal writer is closed")
            self._write_counted(b"".join(frames), len(frames))

    def _write_counted(self, data: bytes, lines: int) -> None:
        """Write ``lines`` lines in one write and count them as appended, or as refused
        (then raise ``JournalUnavailable``); the write lock is held."""
        try:
            self._write(data)
        except JournalUnavailable as exc:
            self._refused += lines
            self._fail(exc.reason)
            raise
        self._appended += lines
        self._bytes += len(data)
        self._writes += 1
        self._reason = None

    def _write_open_batch(self) -> None:
        """Write every line appended so far in one write (the write lock is held)."""
        with self._batch_lock:
            batch, self._open_batch = self._open_batch, _Batch()
        if not batch.frames:
            return
        data = batch.frames[0] if len(batch.frames) == 1 else b"".join(batch.frames)
        batch.error = "the journal write was interrupted"  # unless it completes below
        try:
            self._write_counted(data, len(batch.frames))
        except JournalUnavailable as exc:
            batch.error = exc.reason
        else:
            batch.error = None
        finally:
            batch.done = True

    def _write(self, data: bytes) -> None:
        """One write of ``data`` to the current segment (under the write lock).

        The checks are inlined: this runs once per batch on the request path.
        """
        size = len(data)
        try:
            now = time.monotonic()
            if (
                now - self._usage_checked_at >= self.usage_refresh_seconds
                or self._written_since_usage > self.max_bytes // 16
            ):
                self._usage = disk_usage(self.directory).bytes
                self._usage_checked_at, self._written_since_usage = now, 0
            if self._usage + self._written_since_usage + size > self.max_bytes:
                raise JournalUnavailable(self._over_budget_reason(self._usage))
            fd = self._fd
            if (
                fd is None
                or self._abandon_segment_requested
                or (self._segment_size and self._segment_size + size > self.segment_bytes)
            ):
                fd = self._next_segment()
            start = self._segment_size
            try:
                written = os.write(fd, data)
                while written < size:  # short writes happen when a disk fills up
                    written += os.write(fd, memoryview(data)[written:])
            except OSError as exc:
                self._undo_partial_write(fd, start, exc)
                raise
            self._segment_size += size
            self._written_since_usage += size
            if os.fstat(fd).st_nlink == 0:
                self._close_segment()
                raise JournalUnavailable(
                    f"the journal segment was deleted while in use: "
                    f"was the journal directory {self.directory} removed?"
                )
            if self.fsync == "always":
                os.fdatasync(fd)
                self._fsyncs += 1
            elif self.fsync == "interval" and not self._dirty.is_set():
                self._start_syncer()
                self._dirty.set()
        except OSError as exc:
            raise JournalUnavailable(describe_os_error(exc, self.directory)) from exc

    def _undo_partial_write(self, fd: int, start: int, exc: OSError) -> None:
        """Cut a half-written batch off, so no caller told "failed" finds its record shipped.

        When the cut fails too (or the file itself is the problem) the segment is left
        behind: its torn tail is skipped by the shipper, and the next write starts afresh.
        """
        try:
            os.ftruncate(fd, start)
        except OSError:
            self._close_segment()
            return
        if exc.errno == errno.EFBIG:  # a per-file limit: a new file can take more
            self._close_segment()

    def _over_budget_reason(self, usage: int) -> str:
        return (
            f"the journal holds {usage} bytes not yet shipped, more than max_bytes="
            f"{self.max_bytes}: is the database down, or the shipper not running?"
        )

    # -- segments ---------------------------------------------------------------------------

    def _next_segment(self) -> int:
        """Finish the current segment, if any, and start a new one."""
        self._close_segment()
        self._open_segment()
        assert self._fd is not None
        return self._fd

    def _open_segment(self) -> None:
        name = segment_name(self._pid, self._token, next(self._sequence))
        fd = create_segment(self.directory, name)
        if self.fsync != "never":
            sync_directory(self.directory)
        with self._segment_lock:
            self._fd, self._segment, self._segment_size = fd, name, 0
            self._abandon_segment_requested = False

    def _close_segment(self) -> None:
        """Finish the current segment: unlocked, it becomes the shipper's to delete."""
        with self._segment_lock:
            fd, self._fd, self._segment = self._fd, None, None
            self._abandon_segment_requested = False
        if fd is None:
            return
        try:
            if self.fsync != "never":
                os.fdatasync(fd)
        except OSError:
            log.exception("journal: syncing a finished segment failed")
        finally:
            os.close(fd)

    # -- fsync="interval" -------------------------------------------------------------------

    def _start_syncer(self) -> None:
        if self._syncer is None:
            self._syncer = threading.Thread(
                target=self._sync_periodically, name="labserve-journal-fsync", daemon=True
            )
            self._syncer.start()

    def _sync_periodically(self) -> None:
        """Sync at most once per interval, and only after writes: idle, it just waits."""
        while True:
            self._dirty.wait()
            stopping = self._stop_syncing.wait(self.fsync_interval_seconds)
            self._dirty.clear()
            self._sync_current_segment()
            if stopping:
                return

    def _sync_current_segment(self) -> None:
        with self._segment_lock:
            if self._fd is None:
                return
            fd = os.dup(self._fd)  # a rotation may close the original meanwhile
        try:
            os.fdatasync(fd)
            self._interval_fsyncs += 1
        except OSError as exc:
            reason = describe_os_error(exc, self.directory)
            log.error("journal: fsync failed (%s); starting a new segment", reason)
            self._abandon_segment_requested = True
            self._fail(reason)
        finally:
            os.close(fd)

    # -- health -----------------------------------------------------------------------------

    def _fail(self, reason: str) -> None:
        if self._reason != reason:
            log.error("journal: refusing records: %s", reason)
        self._reason = reason
        self._failed_at = time.monotonic()

    @property
    def reason(self) -> str | None:
        """Why appends fail right now, or None. Cheap: for ``/readyz`` on every probe.

        While unhealthy it re-checks at most every ``probe_seconds`` (a small write to the
        folder and a look at its size), so a server that gets no traffic because it reports
        not ready still notices that the disk has room again.
        """
        if self._reason is not None and time.monotonic() - self._failed_at >= self.probe_seconds:
            self._probe()
        return self._reason

    @property
    def healthy(self) -> bool:
        return self.reason is None

    def _probe(self) -> None:
        if self._closed:
            return
        probe = self.directory / f"{TEMP_PREFIX}probe-{self._pid}-{self._token}"
        try:
            usage = disk_usage(self.directory).bytes
            if usage + PROBE_BYTES > self.max_bytes:  # room for a record or a few
                self._fail(self._over_budget_reason(usage))
                return
            fd = os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, FILE_MODE)
            try:
                os.write(fd, bytes(PROBE_BYTES))
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            self._fail(describe_os_error(exc, self.directory))
            return
        self._reason = None

    def stats(self) -> WriterStats:
        with self._batch_lock:  # counters change under the write lock: close enough
            return WriterStats(
                records_appended=self._appended,
                records_refused=self._refused + self._refused_closed,
                bytes_written=self._bytes,
                writes=self._writes,
                fsyncs=self._fsyncs + self._interval_fsyncs,
                healthy=self._reason is None,
                reason=self._reason,
                segment=self._segment,
            )

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Write what is pending, finish the segment, stop the fsync thread (idempotent)."""
        with self._write_lock:
            with self._batch_lock:
                if self._closed:
                    return
                self._closed = True
            self._write_open_batch()  # lines appended before the close still go out
        if self._syncer is not None:
            self._stop_syncing.set()
            self._dirty.set()
            self._syncer.join()
        self._close_segment()

    def __enter__(self) -> JournalWriter:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def _reset_after_fork(self) -> None:
        """In a forked child: own nothing of the parent's (its segment, lock, ids, thread).

        Closing the inherited descriptor keeps the parent's lock: a flock belongs to the open
        file, which the parent still has open.
        """
        inherited = self._fd
        closed = self._closed
        self._start_process_state()
        self._closed = closed
        if inherited is not None:
            with contextlib.suppress(OSError):
                os.close(inherited)
