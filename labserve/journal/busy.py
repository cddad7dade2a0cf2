"""When to ship: not while the machine's CPUs are all busy, unless records have waited too long.

Why: shipping costs CPU (decoding, canonical JSON, the insert: tens of microseconds a record).
On a machine whose cores the workers already keep busy, that time comes out of the requests:
measured on 2 cores, a shipper at nice 10 that ships as records arrive costs about a sixth of
the throughput, and with the shipper paused the audit log costs a few percent. A record
waiting in the journal is already safe (it is on disk before its answer is sent), so the
shipper can wait for idle CPU, as long as the wait is bounded: after ``max_wait_seconds`` of
busy CPU it ships anyway, so the database is never more than about that far behind.

Busy means less than ``idle_wanted`` of all CPUs' time idle since the last look, not counting
the shipper's own time (its shipping must not make it wait). Where the CPU times cannot be
read, nothing is ever deferred.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import psutil

#: Share of all CPUs' time that must have been idle for shipping to go ahead.
IDLE_WANTED = 0.25


class CpuIdleMeter:
    """The share of all CPUs' time that was idle (or this process's) since the last call."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._last = self._sample()

    def _sample(self) -> tuple[float, float] | None:
        """(seconds idle or used by this process, seconds in all) summed over the CPUs."""
        try:
            machine = psutil.cpu_times()
            own = self._process.cpu_times()
        except (OSError, psutil.Error):
            return None
        # On Linux guest time is also counted in user and nice (psutil's own rule).
        guest = getattr(machine, "guest", 0.0) + getattr(machine, "guest_nice", 0.0)
        spare = machine.idle + getattr(machine, "iowait", 0.0) + own.user + own.system
        return spare, sum(machine) - guest

    def idle_fraction(self) -> float | None:
        """Idle share since the previous call (or creation); None when it cannot be read."""
        sample = self._sample()
        last, self._last = self._last, sample
        if sample is None or last is None:
            return None
        elapsed = sample[1] - last[1]
        if elapsed <= 0:  # the clock ticks at 100 Hz: called again too soon to tell
            return None
        return min(1.0, max(0.0, (sample[0] - last[0]) / elapsed))


class BusyDeferral:
    """Decides, before each shipping round, whether to wait for idle CPU instead.

    Args:
        max_wait_seconds: longest run of busy rounds deferred; 0 never defers.
        idle_wanted: the idle share below which the machine counts as busy.
        idle_fraction: reads the idle share since the last call (None: unknown, ship).
        clock: seconds, monotonic.
    """

    def __init__(
        self,
        max_wait_seconds: float,
        *,
        idle_wanted: float = IDLE_WANTED,
        idle_fraction: Callable[[], float | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if max_wait_seconds < 0:
            raise ValueError("max_wait_seconds must not be negative")
        self.max_wait_seconds = max_wait_seconds
        self.idle_wanted = idle_wanted
        if idle_fraction is None and max_wait_seconds > 0:
            idle_fraction = CpuIdleMeter().idle_fraction
        self._idle_fraction = idle_fraction
        self._clock = clock
        self.waiting_since: float | None = None

    def should_wait(self) -> bool:
        """True to skip this round: the CPUs are busy and the wait has not run out."""
        if self._idle_fraction is None:
            return False
        idle = self._idle_fraction()
        if idle is None or idle >= self.idle_wanted:
            self.waiting_since = None
            return False
        now = self._clock()
        if self.waiting_since is None:
            self.waiting_since = now
        if now - self.waiting_since >= self.max_wait_seconds:
            self.waiting_since = None  # ship now; a new wait starts after this round
            return False
        return True
