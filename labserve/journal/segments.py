"""Segment files: their names, their line format, who may write them, and reading them back.

A segment is an append-only file written by exactly one process. Each record is one line::

    <crc32 of the body, 8 lowercase hex digits> <space> <body> <newline>

The body is a JSON object or, packed, ``~`` and base64 (``records`` says which is used when).
Neither ever contains a raw newline, so a line is self-delimiting, and the checksum tells a whole
line from a torn one (a crash in the middle of a write) or a damaged one. Readers skip such a
line and carry on with the next, so a bad line never blocks the records after it.

Names sort by creation time and are unique per writer: ``<UTC time>-<pid>-<token>-<seq>.seg``,
where the token is random per writer, so processes on hosts sharing a volume never collide.

While a writer owns a segment it holds an exclusive ``flock`` on it. The lock dies with the
process (even on ``kill -9``), so "can I take the lock?" tells a reader whether the segment is
finished: its writer closed it (rotation, shutdown) or died. A finished segment never grows
again, because a writer never reopens an old segment. A new segment is created under a hidden
temporary name, locked, then renamed, so no reader ever sees it unlocked while it is in use.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import NamedTuple

SEGMENT_SUFFIX = ".seg"
TEMP_PREFIX = "."
FILE_MODE = 0o600  # records hold patients' inputs
DIRECTORY_MODE = 0o700
READ_BLOCK_BYTES = 1 << 20
CHECKSUM_DIGITS = 8


def encode_frame(body: bytes) -> bytes:
    """One line of a segment: checksum, space, ``body`` (without newlines), newline."""
    return b"%08x %s\n" % (zlib.crc32(body), body)


def decode_frame(line: bytes) -> bytes | None:
    """The body of a line (without its newline), or None when the checksum fails."""
    if len(line) <= CHECKSUM_DIGITS + 1 or line[CHECKSUM_DIGITS] != 0x20:
        return None
    body = line[CHECKSUM_DIGITS + 1 :]
    try:
        expected = int(line[:CHECKSUM_DIGITS], 16)
    except ValueError:
        return None
    return body if zlib.crc32(body) == expected else None


def segment_name(pid: int, token: str, sequence: int, now: datetime | None = None) -> str:
    """A name that sorts by creation time and no other writer can produce."""
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%dT%H%M%S%fZ")
    return f"{stamp}-{pid}-{token}-{sequence:06d}{SEGMENT_SUFFIX}"


def is_segment_name(name: str) -> bool:
    return name.endswith(SEGMENT_SUFFIX) and not name.startswith(TEMP_PREFIX)


def list_segments(directory: Path) -> list[Path]:
    """The segments in ``directory``, oldest first; none when the directory is missing."""
    try:
        names = [entry.name for entry in os.scandir(directory) if is_segment_name(entry.name)]
    except FileNotFoundError:
        return []
    return [directory / name for name in sorted(names)]


@dataclass(frozen=True)
class DiskUsage:
    segments: int
    bytes: int


def disk_usage(directory: Path) -> DiskUsage:
    """How many segments the directory holds and their bytes (shipped or not).

    Raises FileNotFoundError when the directory is missing: a writer must notice that.
    """
    count = total = 0
    with os.scandir(directory) as entries:
        for entry in entries:
            if is_segment_name(entry.name):
                try:
                    total += entry.stat().st_size
                except FileNotFoundError:  # shipped and deleted meanwhile
                    continue
                count += 1
    return DiskUsage(segments=count, bytes=total)


def stale_temporaries(directory: Path, older_than_seconds: float) -> list[Path]:
    """Hidden files a crashed process left: a segment never renamed, a probe, a status draft."""
    cutoff = time.time() - older_than_seconds
    try:
        with os.scandir(directory) as entries:
            return [
                directory / entry.name
                for entry in entries
                if entry.name.startswith(TEMP_PREFIX)
                and entry.is_file(follow_symlinks=False)
                and entry.stat(follow_symlinks=False).st_mtime < cutoff
            ]
    except FileNotFoundError:
        return []


def create_segment(directory: Path, name: str) -> int:
    """Create segment ``name`` locked by the caller, and return its append-only descriptor."""
    temporary = directory / f"{TEMP_PREFIX}{name}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC
    fd = os.open(temporary, flags, FILE_MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.rename(temporary, directory / name)
    except BaseException:
        os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
    return fd


def claim_if_finished(fd: int) -> bool:
    """Take the segment's lock if no writer holds it: True means it is finished for good."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def sync_directory(directory: Path) -> None:
    """Make a new or renamed directory entry survive a power cut."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Frame(NamedTuple):
    """One complete line: ``body`` is None when its checksum failed (``raw`` is the line).

    A named tuple: one is made per record shipped, at a fifth of a frozen dataclass's cost.
    """

    end: int
    body: bytes | None
    raw: bytes


class SegmentReader:
    """Reads the complete lines of a segment from ``offset``, up to its size at the start.

    Stopping at the size seen at the start keeps one busy segment from holding a reader
    forever. Bytes after the last newline are left unread and counted in ``tail_bytes``: in
    a finished segment they are a torn write, in a live one a write still under way.
    """

    def __init__(self, fd: int, offset: int = 0, block_bytes: int = READ_BLOCK_BYTES) -> None:
        self.fd = fd
        self.offset = offset
        self.block_bytes = block_bytes
        self.tail_bytes = 0

    def frames(self) -> Iterator[Frame]:
        limit = os.fstat(self.fd).st_size
        position = self.offset
        pending = b""
        while position < limit:
            chunk = os.pread(self.fd, min(self.block_bytes, limit - position), position)
            if not chunk:
                break
            start_of_data = position - len(pending)
            position += len(chunk)
            data = pending + chunk if pending else chunk
            start = 0
            while (newline := data.find(b"\n", start)) >= 0:
                line = data[start:newline]
                yield Frame(end=start_of_data + newline + 1, body=decode_frame(line), raw=line)
                start = newline + 1
            pending = data[start:]
        self.tail_bytes = len(pending)
