"""The audit log's cost inside one worker: the same request through the app with and without it.

Why: ``benchmarks/serve.py`` measures the audit log's cost in throughput, but on a 2-core
machine that the servers share with the load generator a single 10 s run swings by 10 to 20%
either way, more than the cost itself. Here the apps are built side by side in one process
(no network, no server, no shipper) and called through WSGI in interleaved batches, so every
variant meets the same machine, and differences of a few microseconds show.

Variants, each the app with the audit log on, its journal writer's system calls taken out in
turn (for measuring only: without them a record is not safe):

- ``audit log on``: one write per request, as on a request thread or outside the server (under
  ``labserve serve`` the fast lane's requests of one event-loop turn share one write, which
  this in-process benchmark does not have: ``benchmarks/serve.py`` measures that);
- ``without the fstat``: no check that the segment was deleted;
- ``without the fstat and the write``: the Python part of the audit path alone.

Then ``append alone``: the writer called in a tight loop with one record, its caches hot, for
contrast with what the same call costs inside a request.

    .venv/bin/python benchmarks/audit_path.py [--rounds 15] [--batch 2000]
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import time
import types
from collections.abc import Callable, Iterable
from functools import partial
from pathlib import Path
from typing import Any

# this script's folder is on sys.path: the row benchmarks/serve.py posts, the record
# benchmarks/journal.py appends
from journal import sample_record
from serve import ROW
from werkzeug.test import create_environ

from labserve.buffered_wsgi import start_response
from labserve.journal import JournalWriter
from labserve.journal import writer as writer_module
from labserve.settings import Settings
from labserve.web import create_app

OFF = "audit log off"
ON = "audit log on"
NO_FSTAT = "without the fstat"
NO_WRITE = "without the fstat and the write"
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class _Linked:
    st_nlink = 1


def os_without(*calls: str) -> types.SimpleNamespace:
    """The ``os`` module as the writer sees it, ``calls`` made no-ops that report success."""
    fake = types.SimpleNamespace(**{k: getattr(os, k) for k in dir(os) if not k.startswith("__")})
    if "fstat" in calls:
        fake.fstat = lambda fd: _Linked
    if "write" in calls:
        fake.write = lambda fd, data: len(data)
    return fake


#: The writer's ``os`` per variant (the module global is swapped before each batch).
WRITER_OS: dict[str, Any] = {
    OFF: os,
    ON: os,
    NO_FSTAT: os_without("fstat"),
    NO_WRITE: os_without("fstat", "write"),
}


def use_writer_os(module: Any) -> None:
    """Give the journal writer ``module`` as its ``os`` (a module global) from now on."""
    writer_module.__dict__["os"] = module


def build_apps(folder: Path) -> dict[str, WSGIApp]:
    """One app per variant on one instance (a trained diagnosis model), each its own journal."""
    instance = folder / "instance"
    labserve = Path(sys.executable).parent / "labserve"
    subprocess.run(
        [str(labserve), "train", "diagnosis", "--instance-path", str(instance)],
        check=True,
        capture_output=True,
    )
    apps: dict[str, WSGIApp] = {}
    for index, variant in enumerate(WRITER_OS):
        settings = Settings.load(
            {
                "instance_path": str(instance),
                "audit": variant != OFF,
                "shipper": "none",
                "load_models": "sync",
                "access_log": False,
                "journal_path": str(folder / f"journal-{index}"),
            }
        )
        apps[variant] = create_app(settings)
    return apps


def call_batch(app: WSGIApp, body: bytes, requests: int) -> float:
    """Microseconds a request, over ``requests`` calls of ``POST /api/diagnosis``."""
    base = create_environ(
        "/api/diagnosis",
        "http://127.0.0.1:5000/",
        method="POST",
        data=body,
        content_type="application/json",
    )
    started = time.perf_counter()
    for _ in range(requests):
        environ = dict(base)
        environ["wsgi.input"] = io.BytesIO(body)
        answer: list[Any] = []
        result = app(environ, partial(start_response, answer))
        b"".join(result)
        if answer[0] != 200:
            raise SystemExit(f"the app answered {answer[0]}, not 200")
    return (time.perf_counter() - started) / requests * 1e6


def append_alone(folder: Path, rounds: int, records: int) -> list[float]:
    """Microseconds an ``append``: one record (``benchmarks/journal.py``'s), again and again,
    caches hot."""
    record = sample_record(0)
    times = []
    with JournalWriter(folder / "journal-alone") as writer:
        for _ in range(rounds):
            started = time.perf_counter()
            for _ in range(records):
                writer.append(record)
            times.append((time.perf_counter() - started) / records * 1e6)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=15, help="batches per variant")
    parser.add_argument("--batch", type=int, default=2000, help="requests per batch")
    args = parser.parse_args()
    logging.disable(logging.INFO)  # the apps' start-up lines would bury the table
    body = json.dumps(ROW).encode()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        apps = build_apps(folder)
        gc.collect()
        gc.freeze()  # as every worker does once its models are loaded
        times: dict[str, list[float]] = {variant: [] for variant in apps}
        for variant, app in apps.items():  # warm-up
            use_writer_os(WRITER_OS[variant])
            call_batch(app, body, args.batch)
        try:
            for _ in range(args.rounds):
                for variant, app in apps.items():
                    use_writer_os(WRITER_OS[variant])
                    times[variant].append(call_batch(app, body, args.batch))
        finally:
            use_writer_os(os)
        alone = append_alone(folder, args.rounds, args.batch)

    print(f"\nPOST /api/diagnosis through WSGI, {args.rounds} interleaved batches of {args.batch}")
    print("| variant | us a request (median) | fastest batch | more than audit log off |")
    print("| --- | --- | --- | --- |")
    for variant, values in times.items():
        # paired: each batch against the audit-off batch of the same round
        extra = statistics.median(v - off for v, off in zip(values, times[OFF], strict=True))
        more = "" if variant == OFF else f"{extra:+.1f} us"
        print(f"| {variant} | {statistics.median(values):.1f} | {min(values):.1f} | {more} |")
    print(f"| append alone, caches hot | {statistics.median(alone):.1f} | {min(alone):.1f} | |")


if __name__ == "__main__":
    main()
