"""Slow clients cannot starve the server (issue 13): trickled bodies and headers, measured.

1,000 connections trickle a request body and 1,000 trickle headers, one byte every two
seconds, from other loopback addresses (127.0.0.2 and .3), reconnecting when the server
drops them, as an attacker would. Meanwhile a normal client on 127.0.0.1 makes requests on
fresh connections: at least 99% must succeed with a p99 under 100 ms, and /healthz answers.
Everything targets 127.0.0.1 and stops by itself: the attack lasts the measurement only.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import resource
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import data_row
from tests.process_servers import running_server

pytestmark = pytest.mark.process

SLOW_BODIES = 1000
SLOW_HEADERS = 1000
MEASURE_SECONDS = 10.0
TRICKLE_SECONDS = 2.0
OPEN_FILES_NEEDED = SLOW_BODIES + SLOW_HEADERS + 500


class Trickler:
    """The attack: an asyncio loop in a thread, holding and re-opening slow connections."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.outcomes: Counter[str] = Counter()
        self.connected = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    def __enter__(self) -> Trickler:
        self._thread.start()
        deadline = time.monotonic() + 60
        while self.connected < SLOW_BODIES + SLOW_HEADERS:
            if time.monotonic() > deadline:
                self.__exit__()
                pytest.fail(f"only {self.connected} attack connections were accepted")
            time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    async def _main(self) -> None:
        tasks = []
        for i in range(max(SLOW_BODIES, SLOW_HEADERS)):
            if i < SLOW_BODIES:
                tasks.append(asyncio.create_task(self._attacker("127.0.0.2", body=True)))
            if i < SLOW_HEADERS:
                tasks.append(asyncio.create_task(self._attacker("127.0.0.3", body=False)))
            if i % 50 == 49:
                await asyncio.sleep(0.01)  # do not overflow the listen backlog at once
        await asyncio.gather(*tasks)

    async def _attacker(self, source: str, body: bool) -> None:
        head = b"POST /api/diagnosis HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        first = True
        while not self._stop.is_set():
            try:
                reader, writer = await asyncio.open_connection(
                    "127.0.0.1", self.port, local_addr=(source, 0)
                )
            except OSError:
                self.outcomes["connect failed"] += 1
                await asyncio.sleep(0.5)
                continue
            if first:
                self.connected += 1
                first = False
            trickle = b"{" * 100_000 if body else b"X-Slow: " + b"a" * 100_000
            if body:
                writer.write(head + b"Content-Length: 100000\r\n\r\n")
            else:
                writer.write(head)
            outcome = "held to the end"
            try:
                for byte in trickle:
                    if self._stop.is_set():
                        break
                    writer.write(bytes([byte]))
                    await writer.drain()
                    try:
                        answer = await asyncio.wait_for(reader.read(200), TRICKLE_SECONDS)
                    except TimeoutError:
                        continue
                    status = answer.split(b" ", 2)[1].decode() if answer else "closed"
                    outcome = f"{'body' if body else 'headers'}: {status}"
                    break
            except OSError:
                outcome = f"{'body' if body else 'headers'}: reset"
            finally:
                writer.close()
            self.outcomes[outcome] += 1
            if not self._stop.is_set():
                await asyncio.sleep(TRICKLE_SECONDS)  # a patient attacker: reconnect, trickle again


def normal_request(port: int, body: bytes) -> tuple[int, float]:
    started = time.perf_counter()
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request(
            "POST", "/api/diagnosis", body=body, headers={"Content-Type": "application/json"}
        )
        response = connection.getresponse()
        response.read()
        return response.status, time.perf_counter() - started
    except OSError:
        return 0, time.perf_counter() - started
    finally:
        connection.close()


def healthz(port: int) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/healthz")
        return connection.getresponse().status
    except OSError:
        return 0
    finally:
        connection.close()


@pytest.fixture
def open_files() -> Iterator[None]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < OPEN_FILES_NEEDED:
        pytest.fail(f"the hard limit on open files ({hard}) is below {OPEN_FILES_NEEDED}")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, OPEN_FILES_NEEDED), hard))
    yield
    resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_trickling_clients_do_not_starve_a_normal_client(
    open_files: None, trained_instance: Path, tmp_path: Path
) -> None:
    env = {"LABSERVE_HEADER_TIMEOUT_SECONDS": "3", "LABSERVE_BODY_TIMEOUT_SECONDS": "5"}
    body = json.dumps(data_row(0)).encode()
    with running_server(trained_instance, tmp_path, env) as (_, port, _), Trickler(port) as attack:
        statuses, latencies = [], []
        deadline = time.monotonic() + MEASURE_SECONDS
        while time.monotonic() < deadline:
            status, seconds = normal_request(port, body)
            statuses.append(status)
            latencies.append(seconds)
            time.sleep(0.01)
        health = healthz(port)
    successes = statuses.count(200) / len(statuses)
    p99 = sorted(latencies)[max(0, int(len(latencies) * 0.99) - 1)]
    report = (
        f"{len(statuses)} requests, {successes:.1%} succeeded, p99 {p99 * 1000:.1f} ms, "
        f"healthz {health}, attack outcomes {dict(attack.outcomes)}"
    )
    print(report)
    assert health == 200, report
    assert successes >= 0.99, report
    assert p99 < 0.100, report
    # the guard's own doing: slow headers and slow bodies were cut off, not waited for
    assert any(k.startswith("headers: ") for k in attack.outcomes), report
    assert attack.outcomes["body: 408"] + attack.outcomes["body: 429"] > 0, report
