"""Rate limits shared through a real Redis server: two replicas count one budget."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from typing import Any

import pytest

from labserve.web import create_app
from tests.conftest import free_port


@pytest.fixture(scope="module")
def redis_url() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("CI"):
            pytest.fail("redis-server is not installed; scripts/install-test-services installs it")
        pytest.skip("redis-server not installed (apt-get install redis-server)")
    port = free_port()
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 20
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                if sock.recv(16).startswith(b"+PONG"):
                    break
        except OSError:
            pass
        if time.monotonic() > deadline or process.poll() is not None:
            process.kill()
            pytest.fail("redis-server did not start")
        time.sleep(0.05)
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


def test_two_replicas_share_one_budget(
    app_config: dict[str, Any], redis_url: str, benign_row: dict
) -> None:
    config = {**app_config, "RATE_LIMIT": "4/minute", "REDIS_URL": redis_url}
    first = create_app(config).test_client()
    second = create_app(config).test_client()
    address = {"REMOTE_ADDR": f"127.0.0.{int(time.time()) % 200 + 20}"}  # fresh counter per run
    statuses = []
    for client in (first, second, first, second, first, second):
        statuses.append(
            client.post("/api/diagnosis", json=benign_row, environ_base=address).status_code
        )
    assert statuses == [200, 200, 200, 200, 429, 429]
