"""The access log: one whole line per request, with status, time and request id."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from labserve.access_log import AccessLog
from labserve.buffered_wsgi import BufferedWSGI
from tests.journal.helpers import run_on_a_loop_of_its_own

LINE = re.compile(
    r'^\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] (\S+) "(.*)" (\d{3}) (\d+\.\d)ms (\S+)$'
)


@pytest.fixture
def pipe() -> Iterator[tuple[int, int]]:
    read, write = os.pipe()
    yield read, write
    os.close(read)
    os.close(write)


def lines_in(read: int) -> list[str]:
    return os.read(read, 65536).decode().splitlines()


def test_a_line_holds_the_request_its_status_time_and_id(pipe: tuple[int, int]) -> None:
    read, write = pipe
    log = AccessLog(write)
    log.write("10.0.0.7", "POST", "/api/diagnosis", "1.1", 200, 0.00123, "abc-1")
    (line,) = lines_in(read)
    assert LINE.match(line).groups() == (  # type: ignore[union-attr]
        "10.0.0.7",
        "POST /api/diagnosis HTTP/1.1",
        "200",
        "1.2",
        "abc-1",
    )


def test_a_decoded_newline_cannot_forge_a_second_line(pipe: tuple[int, int]) -> None:
    read, write = pipe
    AccessLog(write).write("::1", "GET", "/x\n[2026] 1.2.3.4 fake", "1.1", 404, 0.0, "-")
    (line,) = lines_in(read)
    assert '"GET /x\\n[2026] 1.2.3.4 fake HTTP/1.1" 404' in line


def test_a_closed_log_never_fails_the_request() -> None:
    read, write = os.pipe()
    os.close(read)
    os.close(write)
    AccessLog(write).write("::1", "GET", "/", "1.1", 200, 0.0, "-")  # EBADF: ignored


@dataclass
class Scope:
    path: str
    method: str = "POST"
    query_string: str = ""
    proto: str = "http"
    client: str = "127.0.0.1:50123"
    server: str = "127.0.0.1:8000"
    http_version: str = "1.1"
    scheme: str = "http"
    headers: dict[str, str] = field(default_factory=dict)


class Protocol:
    def __init__(self, body: bytes) -> None:
        self.body = body
        self.sent: list[tuple[int, Any, bytes]] = []

    async def __call__(self) -> bytes:
        return self.body

    def response_bytes(self, status: int, headers: Any, body: bytes) -> None:
        self.sent.append((status, headers, body))


def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    status = "201 CREATED" if environ["PATH_INFO"] == "/made" else "404 NOT FOUND"
    start_response(status, [("X-Request-ID", environ.get("HTTP_X_REQUEST_ID", "fresh"))])
    return [b"{}"]


def serve(guard: BufferedWSGI, scope: Scope, body: bytes) -> None:
    """One request through the guard, on an event loop of its own thread (a test that ran
    before may have left a loop running in this one)."""
    run_on_a_loop_of_its_own(lambda: guard.__rsgi__(scope, Protocol(body)))


@pytest.mark.parametrize("inline", [True, False])
def test_the_guard_logs_each_answer_and_each_refusal(pipe: tuple[int, int], inline: bool) -> None:
    read, write = pipe
    guard = BufferedWSGI(
        app,
        max_body_bytes=1024,
        body_timeout=5,
        max_per_address=1,
        threads=2,
        inline=(lambda scope, size: True) if inline else None,
        access_log=AccessLog(write),
    )
    made = Scope(
        "/made", query_string="a=1", headers={"content-length": "2", "x-request-id": "r-1"}
    )
    serve(guard, made, b"{}")
    serve(guard, Scope("/gone", method="GET"), b"")
    guard.under_way["127.0.0.1"] = 1  # as if a request of this client were under way
    serve(guard, Scope("/made", method="GET"), b"")
    guard.pool.shutdown()
    found = [LINE.match(line).groups() for line in lines_in(read)]  # type: ignore[union-attr]
    assert [(g[1], g[2], g[4]) for g in found] == [
        ("POST /made?a=1 HTTP/1.1", "201", "r-1"),
        ("GET /gone HTTP/1.1", "404", "fresh"),
        ("GET /made HTTP/1.1", "429", "-"),
    ]
