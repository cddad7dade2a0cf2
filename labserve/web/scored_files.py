"""Scored files of the page's upload form, kept on disk for a short while behind a token.

Why keep them at all: the page shows a summary of the scored file and offers the file itself,
and scoring it twice (once to summarise, once to download) would double the cost and the
audit records. So the scored file is written once, under a random token, and the page links
to it.

Why this shape:
- one folder under the instance path, shared by every worker process (a download may reach
  another worker than the upload did); nothing serves the folder itself, so it is never
  listed, and a file is reached only by its token;
- a token is 32 random bytes (``secrets.token_urlsafe``): the download URL cannot be guessed,
  and a name that is not a token never reaches the file system;
- a file lives ``keep_seconds`` (an hour by default): a download after that is refused, and
  the next upload or download deletes it;
- bounded in size: one file may hold at most ``max_file_bytes`` (the write stops past it) and
  the folder at most ``max_total_bytes`` (the oldest files go first).
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

KEEP_SECONDS = 3600.0
MAX_FILE_BYTES = 256 * 1024 * 1024
MAX_TOTAL_BYTES = 1024 * 1024 * 1024
FOLDER_NAME = "scored-uploads"
SUFFIX = ".csv"
PARTIAL_SUFFIX = ".part"
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9_-]{43}")
DIRECTORY_MODE = 0o700
FILE_MODE = 0o600


class ScoredFileTooLarge(Exception):
    """The scored file outgrew ``max_file_bytes``; nothing was kept."""


@dataclass(frozen=True)
class KeptFile:
    """A scored file on disk: its token (the URL's secret part), path and size in bytes."""

    token: str
    path: Path
    size: int


class ScoredFileWriter:
    """Text written to a new kept file; ``keep()`` publishes it, ``discard()`` drops it.

    The text goes to a ``.part`` file first and is renamed when complete, so a download never
    sees half a file, and an abandoned ``.part`` is swept like an expired file.
    """

    def __init__(self, store: ScoredFiles) -> None:
        self._store = store
        self.token = secrets.token_urlsafe(32)
        self._partial = store.root / f"{self.token}{PARTIAL_SUFFIX}"
        descriptor = os.open(self._partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        self._file: IO[str] = os.fdopen(descriptor, "w", encoding="utf-8", newline="")
        self.size = 0

    def write(self, text: str) -> None:
        """Append ``text``; raises ScoredFileTooLarge (and drops the file) past the bound."""
        self.size += len(text.encode("utf-8", "surrogatepass"))
        if self.size > self._store.max_file_bytes:
            self.discard()
            raise ScoredFileTooLarge(
                f"the scored file would be over {self._store.max_file_bytes // (1 << 20)} MiB"
            )
        self._file.write(text)

    def keep(self) -> KeptFile:
        """Publish the file under its token; older files make room if the folder is full."""
        self._file.close()
        path = self._store.path_of(self.token)
        os.replace(self._partial, path)
        self._store.sweep(keep=path)
        return KeptFile(self.token, path, self.size)

    def discard(self) -> None:
        self._file.close()
        self._partial.unlink(missing_ok=True)


class ScoredFiles:
    """The folder of kept scored files (see the module docstring for the rules)."""

    def __init__(
        self,
        root: Path,
        *,
        keep_seconds: float = KEEP_SECONDS,
        max_file_bytes: int = MAX_FILE_BYTES,
        max_total_bytes: int = MAX_TOTAL_BYTES,
    ) -> None:
        self.root = root
        self.keep_seconds = keep_seconds
        self.max_file_bytes = max_file_bytes
        self.max_total_bytes = max_total_bytes

    @contextlib.contextmanager
    def writer(self) -> Iterator[ScoredFileWriter]:
        """A writer for one new file; the file is dropped unless ``keep()`` was called."""
        self.root.mkdir(mode=DIRECTORY_MODE, parents=True, exist_ok=True)
        writer = ScoredFileWriter(self)
        try:
            yield writer
        except BaseException:
            writer.discard()
            raise
        writer.discard()  # a no-op after keep(): the .part was renamed

    def path_of(self, token: str) -> Path:
        return self.root / f"{token}{SUFFIX}"

    def find(self, token: str) -> Path | None:
        """The kept file of ``token``, or None: not a token, never kept, or expired."""
        if not TOKEN_PATTERN.fullmatch(token):
            return None
        path = self.path_of(token)
        try:
            modified = path.stat().st_mtime
        except FileNotFoundError:
            return None
        if time.time() - modified > self.keep_seconds:
            path.unlink(missing_ok=True)
            return None
        return path

    def sweep(self, keep: Path | None = None) -> None:
        """Delete expired files, then the oldest until the folder is within its bound.

        Several workers may sweep at once: a file another one deleted is simply skipped.
        """
        now = time.time()
        files: list[tuple[float, int, Path]] = []
        for path in self._entries():
            try:
                info = path.stat()
            except FileNotFoundError:
                continue
            if now - info.st_mtime > self.keep_seconds:
                path.unlink(missing_ok=True)
            elif path != keep:
                files.append((info.st_mtime, info.st_size, path))
        total = sum(size for _, size, _ in files)
        if keep is not None:
            with contextlib.suppress(FileNotFoundError):
                total += keep.stat().st_size
        for _, size, path in sorted(files):
            if total <= self.max_total_bytes:
                break
            if path.suffix == SUFFIX:  # a .part is still being written: only expiry ends it
                path.unlink(missing_ok=True)
                total -= size

    def _entries(self) -> Iterator[Path]:
        if not self.root.is_dir():
            return
        for path in self.root.iterdir():
            if path.suffix in (SUFFIX, PARTIAL_SUFFIX):
                yield path
