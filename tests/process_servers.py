"""Starting a real ``labserve serve`` (2 granian workers) on a loopback port, for process tests."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import free_port


def status_of(url: str, timeout: float = 5) -> int:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)


@contextmanager
def running_server(
    trained_instance: Path, tmp_path: Path, env: dict[str, str] | None = None, workers: int = 2
) -> Iterator[tuple[str, int, Path]]:
    """Serve a copy of the trained instance; yields (base URL, port, instance folder)."""
    instance = tmp_path / "instance"
    shutil.copytree(trained_instance / "models", instance / "models")
    port = free_port()
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LABSERVE_")}
    # to a file, not a pipe: an undrained pipe fills with access-log lines and blocks the server
    log_path = tmp_path / "server.log"
    log = log_path.open("wb")
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
        env={**clean, **(env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            if status_of(url + "/readyz", timeout=2) == 200:
                break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            process.wait(10)
            log.close()
            pytest.fail(f"server not ready: {log_path.read_text(errors='replace')[-3000:]}")
        time.sleep(0.1)
    try:
        yield url, port, instance
    finally:
        process.terminate()
        try:
            process.wait(40)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
        log.close()
