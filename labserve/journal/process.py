"""Starting and stopping the shipper process from a server (or any parent process).

The shipper is a plain child process (``python -m labserve.journal``), not a forked
copy of the server: it shares no threads, locks or GIL with the workers, and the database URL
reaches it through the environment rather than the command line, which other users can read.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from labserve.journal.shipper import DATABASE_URL_ENV

STOP_SECONDS = 30.0
#: CFS gives a nice-10 process about a tenth of a contended core's time.
SHIPPER_NICE = 10


def start_shipper_process(
    directory: str | os.PathLike[str],
    database_url: str,
    *,
    batch_size: int = 500,
    poll_seconds: float = 0.5,
    max_backoff_seconds: float = 30.0,
    nice: int = SHIPPER_NICE,
    idle_wait_seconds: float = 0.0,
) -> subprocess.Popen[bytes]:
    """Start a shipper for ``directory``; it stops by itself if this process dies.

    It runs at a lower CPU priority (``nice``): on a busy machine the workers answering
    requests come first, and the shipper works in the time they leave. Records wait on disk
    meanwhile, where nothing is lost (the lag is a metric); run alone, it runs at full speed.
    With ``idle_wait_seconds`` it also waits, up to that long, while every CPU is busy
    (``labserve.journal.busy``): the CPU time shipping takes then comes from idle time.

    Stop it with ``stop_shipper_process`` after the writers have closed, so its last round
    ships their final records.
    """
    environment = {**os.environ, DATABASE_URL_ENV: database_url}
    command = [
        sys.executable,
        "-m",
        "labserve.journal",
        "--journal",
        str(Path(directory)),
        "--batch-size",
        str(batch_size),
        "--poll-seconds",
        str(poll_seconds),
        "--max-backoff-seconds",
        str(max_backoff_seconds),
        "--exit-with-parent",
        "--nice",
        str(nice),
        "--idle-wait-seconds",
        str(idle_wait_seconds),
    ]
    return subprocess.Popen(command, env=environment, stdin=subprocess.DEVNULL)


def stop_shipper_process(
    process: subprocess.Popen[bytes], timeout: float = STOP_SECONDS
) -> int | None:
    """SIGTERM, wait up to ``timeout`` for its last round, then SIGKILL. The exit code.

    Killing it loses nothing: the journal keeps every record it had not shipped yet.
    """
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return process.returncode
