"""A WSGI app served over granian's RSGI interface, each request body read in full first.

Why: under granian's WSGI interface a request thread reads the body itself, with no timeout;
a client sending one byte every two seconds holds a thread for as long as it likes, and ~520
such clients took every thread of two workers (issue 13). Here the body is read on the event
loop, where a waiting client costs a coroutine and a buffer, not a thread, and only a
request whose body has arrived is handed to a thread; the app then reads a buffer. It is what
a buffering proxy (nginx's ``proxy_request_buffering``) does, inside the server.

Bounds, per worker process:

- the whole body must arrive within ``body_timeout`` seconds (408 and the connection closed);
- at most ``max_body_bytes`` are read (the app answers 413, as it would have);
- one client address may have ``max_per_address`` requests under way, body reading included
  (429 and the connection closed beyond that; 0 turns the bound off);
- ``threads`` threads run the app; bodies are kept in memory up to ``SPOOL_BYTES``, then in a
  temporary file.

Headers are granian's job (``HTTP1Settings.header_read_timeout``): the app is called only
once they have arrived. Measured with 1,000 trickled bodies and 1,000 trickled headers
against a 2-worker server (tests/test_slow_clients.py, docs/server.md).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from io import BytesIO
from itertools import chain
from tempfile import SpooledTemporaryFile
from typing import IO, Any

from labserve.access_log import AccessLog

log = logging.getLogger(__name__)

SPOOL_BYTES = 256 * 1024
BODYLESS_METHODS = {"GET", "HEAD", "OPTIONS", "DELETE", "TRACE"}
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
Headers = list[tuple[str, str]]
Answer = tuple[int, Headers, bytes]
#: An answer as a WSGI app gives it: status line, headers, body.
WSGIAnswer = tuple[str, Headers, bytes]
#: An environ key present only for a request run on the event loop. The app may set it to a
#: ``DeferredAnswer``: its WSGI answer is then sent only once the awaited step is done.
DEFERRED_ANSWER = "labserve.deferred_answer"


class DeferredAnswer:
    """An answer that waits for a step done once per loop turn (the turn's journal write).

    ``settle`` gets the step's result and returns None to send the app's answer as it is, or
    the answer to send instead, as the app would have given it (a refusal when the step
    failed).
    """

    __slots__ = ("done", "settle")

    def __init__(
        self, done: asyncio.Future[Any], settle: Callable[[Any], WSGIAnswer | None]
    ) -> None:
        self.done = done
        self.settle = settle


class BufferedWSGI:
    """An RSGI application (``__rsgi__``) that runs ``app`` once a request has fully arrived."""

    def __init__(
        self,
        app: WSGIApp,
        *,
        max_body_bytes: int,
        body_timeout: float,
        max_per_address: int,
        threads: int,
        inline: Callable[[Any, int], bool] | None = None,
        access_log: AccessLog | None = None,
    ) -> None:
        self.app = app
        #: One line per request (``labserve.access_log``), or None for no access log.
        self.access_log = access_log
        #: Which requests (scope, body size) run on the event loop itself, without the two
        #: thread hand-overs: short ones that wait on nothing (``labserve.hardening``).
        self.inline = inline
        self.max_body_bytes = max_body_bytes
        self.body_timeout = body_timeout
        self.max_per_address = max_per_address
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="labserve-request")
        #: Requests under way per client address (touched on the event loop only).
        self.under_way: Counter[str] = Counter()

    def __rsgi_del__(self, loop: Any) -> None:
        self.pool.shutdown(wait=True)

    async def __rsgi__(self, scope: Any, protocol: Any) -> None:
        if scope.proto != "http":
            return  # no websockets here
        started = time.perf_counter()
        address = client_host(scope.client)
        if self.max_per_address and self.under_way[address] >= self.max_per_address:
            status = refuse(
                protocol,
                429,
                "too_many_requests",
                "too many requests under way from this address; wait for some to finish",
            )
            self._log(scope, address, status, started, "-")
            return
        self.under_way[address] += 1
        try:
            body = await self._read_body(scope, protocol)
            if body is None:
                self._log(scope, address, 408, started, "-")
            else:
                status, request_id = await self._respond(scope, protocol, body, address)
                self._log(scope, address, status, started, request_id)
        finally:
            self.under_way[address] -= 1
            if not self.under_way[address]:
                del self.under_way[address]

    def _log(self, scope: Any, address: str, status: int, started: float, request_id: str) -> None:
        if self.access_log is not None:
            query = scope.query_string
            self.access_log.write(
                address,
                scope.method,
                f"{scope.path}?{query}" if query else scope.path,
                scope.http_version,
                status,
                time.perf_counter() - started,
                request_id,
            )

    async def _read_body(self, scope: Any, protocol: Any) -> tuple[IO[bytes], int] | None:
        """The body in a buffer, with its size; None when a refusal was sent instead."""
        headers = scope.headers
        declared = headers.get("content-length")
        length = int(declared) if declared is not None and declared.isdigit() else None
        if length is None and "transfer-encoding" not in headers:
            if scope.method in BODYLESS_METHODS:
                return BytesIO(), 0
            length = 0
        if length is not None and length > self.max_body_bytes:
            return BytesIO(), length  # not read: the app answers 413 from the length alone
        try:
            async with asyncio.timeout(self.body_timeout):
                if length is not None and length <= SPOOL_BYTES:
                    # the common case, a small body of known length: one read, in memory
                    body = await protocol()
                    return BytesIO(body), len(body)
                return await self._spool(protocol)
        except TimeoutError:
            refuse(
                protocol,
                408,
                "request_timeout",
                f"the request body did not arrive within {self.body_timeout:g} s",
            )
            return None

    async def _spool(self, protocol: Any) -> tuple[IO[bytes], int]:
        """A large or chunked body, chunk by chunk: memory up to ``SPOOL_BYTES``, then disk."""
        spool: IO[bytes] = SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115
        size = 0
        try:
            async for chunk in protocol:
                size += len(chunk)
                if size > self.max_body_bytes:
                    break  # the app answers 413 from the size
                spool.write(chunk)
        except BaseException:
            spool.close()
            raise
        spool.seek(0)
        return spool, size

    async def _respond(
        self, scope: Any, protocol: Any, body: tuple[IO[bytes], int], address: str
    ) -> tuple[int, str]:
        """Run the app and send its answer; its status and request id (for the access log)."""
        environ = wsgi_environ(scope, body[0], body[1], address)
        if self.inline is not None and self.inline(scope, body[1]):
            environ[DEFERRED_ANSWER] = None
            try:
                status, headers, whole = self._call_app_inline(environ)
            finally:
                body[0].close()
            deferred: DeferredAnswer | None = environ[DEFERRED_ANSWER]
            if deferred is not None:
                instead = deferred.settle(await deferred.done)
                if instead is not None:
                    status, headers, whole = status_code(instead[0]), instead[1], instead[2]
            protocol.response_bytes(status, headers, whole)
            return status, request_id_in(headers)
        loop = asyncio.get_running_loop()
        try:
            status, headers, payload = await loop.run_in_executor(
                self.pool, self._call_app, environ, protocol, loop
            )
        finally:
            body[0].close()
        if payload is not None:
            protocol.response_bytes(status, headers, payload)
        return status, request_id_in(headers)

    def _call_app_inline(self, environ: dict[str, Any]) -> Answer:
        """Run the app here, on the event loop, and collect its whole answer."""
        started: list[Any] = []
        result = self.app(environ, partial(start_response, started))
        try:
            whole = b"".join(result)
        finally:
            close_result(result)
        status, headers = started
        return status, headers, whole

    def _call_app(
        self, environ: dict[str, Any], protocol: Any, loop: asyncio.AbstractEventLoop
    ) -> tuple[int, Headers, bytes | None]:
        """Run the app in this thread; a streamed body is sent from here, chunk by chunk.

        The whole response is produced in one thread, so a streamed response keeps its
        request context (Flask's ``stream_with_context``) from the first chunk to the last.
        """
        started: list[Any] = []
        result = self.app(environ, partial(start_response, started))
        chunks: Iterator[bytes] = iter(result)
        try:
            first = next(chunks, b"")  # a generator app calls start_response lazily
            status, headers = started
            if isinstance(result, list) or has_length(headers):
                return status, headers, first + b"".join(chunks)
            transport = asyncio.run_coroutine_threadsafe(
                open_stream(protocol, status, headers), loop
            ).result()
            for piece in chain([first], chunks):
                if piece:
                    asyncio.run_coroutine_threadsafe(send(transport, piece), loop).result(
                        timeout=self.body_timeout
                    )
            return status, headers, None
        finally:
            close_result(result)


def start_response(started: list[Any], status: str, headers: Headers, exc_info: Any = None) -> Any:
    """WSGI's ``start_response`` (bound to a list by ``partial``): keeps status and headers."""
    started[:] = [status_code(status), headers]
    return lambda data: None


def status_code(status: str) -> int:
    """``"503 SERVICE UNAVAILABLE"`` -> 503."""
    return int(status.split(" ", 1)[0])


def close_result(result: Iterable[bytes]) -> None:
    """PEP 3333: the server calls the app's result's ``close``, however the answer ended."""
    close = getattr(result, "close", None)
    if close is not None:
        close()


async def open_stream(protocol: Any, status: int, headers: Headers) -> Any:
    return protocol.response_stream(status, headers)


async def send(transport: Any, piece: bytes) -> None:
    """Send one chunk (granian's awaitable, wrapped so another thread can schedule it)."""
    await transport.send_bytes(piece)


def has_length(headers: Headers) -> bool:
    return any(name.lower() == "content-length" for name, _ in headers)


def refuse(protocol: Any, status: int, code: str, message: str) -> int:
    """Answer ``status`` with a JSON error and close the connection; the status."""
    body = json.dumps({"error": code, "message": message, "field": None}).encode()
    protocol.response_bytes(
        status, [("content-type", "application/json"), ("connection", "close")], body
    )
    return status


def request_id_in(headers: Headers) -> str:
    """The answer's ``X-Request-ID`` (every app answer has one), else ``-``."""
    for name, value in headers:
        if name == "X-Request-ID" or name.lower() == "x-request-id":
            return value
    return "-"


def client_host(client: str) -> str:
    """``"127.0.0.1:5000"`` -> ``"127.0.0.1"``; ``"[::1]:5000"`` -> ``"::1"``."""
    host = client.rsplit(":", 1)[0] if ":" in client else client
    return host.strip("[]")


def wsgi_environ(scope: Any, body: IO[bytes], size: int, address: str) -> dict[str, Any]:
    """The WSGI environ of an RSGI request (PEP 3333), the body already buffered."""
    server_host, _, server_port = scope.server.rpartition(":")
    client_port = scope.client.rpartition(":")[2]
    environ: dict[str, Any] = {
        "REQUEST_METHOD": scope.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": scope.path.encode("utf-8").decode("latin-1"),
        "QUERY_STRING": scope.query_string,
        "SERVER_NAME": server_host.strip("[]"),
        "SERVER_PORT": server_port,
        "SERVER_PROTOCOL": f"HTTP/{scope.http_version}",
        "REMOTE_ADDR": address,
        "REMOTE_PORT": client_port,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scope.scheme,
        "wsgi.input": body,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        "wsgi.input_terminated": True,
    }
    for name, value in scope.headers.items():
        if "_" in name:  # X_Forwarded_For would pose as X-Forwarded-For: dropped, as nginx does
            continue
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
            continue
        key = f"HTTP_{key}"
        if key in environ:
            environ[key] += ("; " if key == "HTTP_COOKIE" else ",") + value
        else:
            environ[key] = value
    if size or "CONTENT_LENGTH" in environ:
        environ["CONTENT_LENGTH"] = str(size)
    environ.pop("HTTP_TRANSFER_ENCODING", None)  # the body is buffered: its length is known
    return environ
