"""The production server (``labserve serve``, granian) on a free loopback port, for tests that
talk to labserve as a program or a shell user would.

A separate process, not a thread of pytest: the server then runs with the warning filters and
the settings a user's server has (pytest turns every warning into an error, and a thread of
this process would answer such a warning with a 500 that no real server gives).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import free_port

READY_DEADLINE_S = 90


def is_ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/readyz", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def production_server(
    instance: Path, settings: Mapping[str, str] | None = None, *, workers: int = 1
) -> Iterator[str]:
    """``labserve serve`` on ``instance``; yields its base URL (see ``server_process``)."""
    with server_process(instance, settings, workers=workers) as (url, _):
        yield url


@contextmanager
def server_process(
    instance: Path, settings: Mapping[str, str] | None = None, *, workers: int = 1
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """``labserve serve`` on ``instance``; yields its base URL and the process once /readyz
    answers 200, and stops it with SIGTERM afterwards (unless the test already did). Its
    output goes to ``instance/server.log``: a pipe nobody drained would fill with access-log
    lines and block the server.

    Args:
        instance: the instance folder (model store, database).
        settings: ``LABSERVE_*`` variables for the server, without the prefix
            (``{"MAX_BATCH_ROWS": "20"}``); the caller's own ``LABSERVE_*`` are not passed on.
        workers: worker processes.
    """
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABSERVE_")}
    env.update({f"LABSERVE_{name}": value for name, value in (settings or {}).items()})
    log = (instance / "server.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "labserve.cli",
            "serve",
            "--instance-path",
            str(instance),
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + READY_DEADLINE_S
        while not is_ready(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"labserve did not become ready: {server_log(instance)[-4000:]}")
            time.sleep(0.1)
        yield url, process
    finally:
        # SIGTERM: granian stops its workers too (a kill of the parent would orphan them)
        process.terminate()
        try:
            process.wait(timeout=40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()


def server_log(instance: Path) -> str:
    """What the server printed (for failure messages)."""
    return (instance / "server.log").read_text(encoding="utf-8", errors="replace")
