"""A ``limits`` storage in shared memory, so the workers of one server share one budget.

Without Redis, counts used to live in each worker's memory: with two workers a caller had
two budgets, twice the configured rate. Every worker of ``labserve serve`` maps the same
file of the instance folder; a counter is one slot of a fixed hash table in it, and a hit
is a few bytes changed under a lock (``flock`` between processes, a mutex between threads).

Measured per hit on the 2-core machine under the same load (benchmarks/rate_limit_check.py):
this storage 34 us, ``limits``' own memory storage 34-50 us, a SQLite file with one atomic
``INSERT ... ON CONFLICT DO UPDATE ... RETURNING`` statement (WAL, synchronous=OFF) 158-236
us, so the shared table costs what a per-process counter did.

The table holds ``SLOTS`` counters; a key is found by its 64-bit BLAKE2b hash with linear
probing over ``PROBES`` slots. Expired slots are reused; when all probed slots are live (more
than ~60,000 callers within one window), the one that expires first is dropped, which can
only give its caller a fresh budget early. Fixed windows start at a key's first hit, as in
``limits``' memory and Redis storages.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
import threading
import time
from pathlib import Path
from typing import Any

from limits.storage import Storage

SCHEME = "labserve+shm"
SLOTS = 1 << 16
PROBES = 32
MAGIC = b"labserve-limits1"  # 16 bytes: the layout below, version 1
SLOT = struct.Struct("<Qqd")  # key hash (0: empty), count, expiry (epoch seconds)
HEADER_BYTES = len(MAGIC)


def storage_url(path: Path) -> str:
    """The ``limits`` storage URL of a counters file."""
    return f"{SCHEME}:///{path.resolve()}"


def key_hash(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode("utf-8"), digest_size=8).digest()) or 1


class SharedMemoryStorage(Storage):
    """Fixed-window counters in a memory-mapped file that several processes share."""

    STORAGE_SCHEME = [SCHEME]

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **options: Any):
        if not uri or "://" not in uri:
            raise ValueError(f"expected {SCHEME}:///path/to/file, got {uri!r}")
        self.path = Path(uri.split("://", 1)[1])
        super().__init__(uri, wrap_exceptions=wrap_exceptions, **options)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        size = HEADER_BYTES + SLOTS * SLOT.size
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        self._mutex = threading.Lock()
        with self._locked():
            if os.fstat(self._fd).st_size != size:
                os.ftruncate(self._fd, 0)  # a table of another size: start again, zeroed
                os.ftruncate(self._fd, size)
            self._map = mmap.mmap(self._fd, size)
            if self._map[:HEADER_BYTES] != MAGIC:
                self._map[:] = bytes(size)
                self._map[:HEADER_BYTES] = MAGIC

    @property
    def base_exceptions(self) -> type[Exception] | tuple[type[Exception], ...]:
        return OSError

    def _locked(self) -> _Lock:
        return _Lock(self._mutex, self._fd)

    def _find(self, hashed: int, now: float) -> tuple[int, bool]:
        """The offset of ``hashed``'s slot and whether it holds a live count for it."""
        start = hashed % SLOTS
        free = -1
        oldest, oldest_expiry = -1, float("inf")
        for probe in range(PROBES):
            offset = HEADER_BYTES + ((start + probe) % SLOTS) * SLOT.size
            owner, _, expiry = SLOT.unpack_from(self._map, offset)
            if owner == hashed:
                return offset, expiry > now
            if free < 0 and (owner == 0 or expiry <= now):
                free = offset
            if expiry < oldest_expiry:
                oldest, oldest_expiry = offset, expiry
        return (free if free >= 0 else oldest), False

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        hashed, now = key_hash(key), time.time()
        with self._locked():
            offset, live = self._find(hashed, now)
            if live:
                _, count, expires = SLOT.unpack_from(self._map, offset)
                count += amount
            else:
                count, expires = amount, now + expiry
            SLOT.pack_into(self._map, offset, hashed, count, expires)
        return int(count)

    def get(self, key: str) -> int:
        hashed = key_hash(key)
        with self._locked():
            offset, live = self._find(hashed, time.time())
            return int(SLOT.unpack_from(self._map, offset)[1]) if live else 0

    def get_expiry(self, key: str) -> float:
        hashed, now = key_hash(key), time.time()
        with self._locked():
            offset, live = self._find(hashed, now)
            return float(SLOT.unpack_from(self._map, offset)[2]) if live else now

    def check(self) -> bool:
        return not self._map.closed

    def reset(self) -> int | None:
        with self._locked():
            self._map[HEADER_BYTES:] = bytes(len(self._map) - HEADER_BYTES)
        return None

    def clear(self, key: str) -> None:
        hashed = key_hash(key)
        with self._locked():
            offset, live = self._find(hashed, time.time())
            if live:
                SLOT.pack_into(self._map, offset, 0, 0, 0.0)


class _Lock:
    """The table's lock: a mutex for this process's threads, ``flock`` for the others."""

    def __init__(self, mutex: threading.Lock, fd: int) -> None:
        self.mutex, self.fd = mutex, fd

    def __enter__(self) -> None:
        self.mutex.acquire()
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX)
        except BaseException:
            self.mutex.release()
            raise

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_UN)
        finally:
            self.mutex.release()
