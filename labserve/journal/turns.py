"""One journal write per event-loop turn: the records of the requests answered together.

Why: a worker answers its short requests on its event loop, one after another, and under load
one turn of the loop answers one to two of them. Written one by one, each record costs its own
``write``, ``fstat`` and budget check (about 14 µs in a worker, ``benchmarks/audit_path.py``).
Here a request stages its record and waits; at the start of the next turn one write takes
every record staged in this one, and only then are the answers sent. A record is still in the
journal before its answer goes out, and a failed write refuses every answer that waited on it.

Only code running on the event loop's thread may stage (``stage`` needs the running loop).
"""

from __future__ import annotations

import asyncio
import logging

from labserve.db.audit import AuditRecord
from labserve.journal.writer import JournalUnavailable, JournalWriter

log = logging.getLogger(__name__)


class TurnWriter:
    """Gathers the records staged during one loop turn and writes them at the next."""

    def __init__(self, writer: JournalWriter) -> None:
        self.writer = writer
        self._frames: list[bytes] = []
        self._waiting: list[asyncio.Future[str | None]] = []

    def stage(self, record: AuditRecord) -> asyncio.Future[str | None]:
        """Stage ``record`` for this turn's write.

        Returns:
            A future: None once the record is in the journal, else why it is not (the answer
            must then be refused, or the record counted as lost).
        """
        loop = asyncio.get_running_loop()
        written: asyncio.Future[str | None] = loop.create_future()
        if not self._frames:
            loop.call_soon(self._write)
        self._frames.append(self.writer.encode(record)[1])
        self._waiting.append(written)
        return written

    def _write(self) -> None:
        frames, waiting = self._frames, self._waiting
        self._frames, self._waiting = [], []
        reason: str | None = None
        try:
            self.writer.write_lines(frames)
        except JournalUnavailable as exc:
            reason = exc.reason
        except Exception:  # a bug must refuse the answers, never leave them waiting
            log.exception("journal: writing a turn's records failed")
            reason = "the journal write failed unexpectedly"
        for written in waiting:
            if not written.done():  # a request cancelled meanwhile has no answer to send
                written.set_result(reason)
