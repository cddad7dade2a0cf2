"""Audit journal benchmark: what an append costs per fsync policy, and how fast shipping is.

For each fsync policy (never, interval, always) and 1 or 8 appending threads: appends per
second (all threads together, wall clock) and the p50/p99 latency of one ``append`` in
microseconds, each the median of ``--runs`` runs on a fresh journal folder. "encode only" is
the record's line (packed, as ``full`` mode writes it) without any write: the floor any journal
pays on the request thread.
Then shipping: records per second from a journal of ``--ship-records`` records into a fresh
SQLite database (and PostgreSQL with ``--postgres-url``), batch of 500, median of the runs.

The folder is on the disk that holds ``--directory`` (default: the system temp folder); fsync
costs depend entirely on that disk. Use ``nice`` on a shared machine:

    nice .venv/bin/python benchmarks/journal.py [--runs 5] [--records 20000]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from labserve.db import AuditRecord, upgrade_database
from labserve.journal import JournalWriter, Shipper, make_shipper_engine
from labserve.journal.records import encode_record
from labserve.journal.writer import FsyncPolicy


def sample_record(i: int) -> AuditRecord:
    """A single-row diagnosis prediction, the size of a typical API call's record."""
    features = ("radius", "texture", "smoothness", "texture_se", "smoothness_se", "symmetry_se")
    return AuditRecord(
        model="diagnosis",
        model_version="1.0-3f2a9c1",
        caller="plate-reader",
        request_id=f"req-{i:08d}",
        inputs=[{f"{name}_mean": 10.0 + i % 7 + k / 10 for k, name in enumerate(features)}],
        outputs=[{"label": "Benign", "probability_malignant": 0.0731}],
        latency_ms=1.234,
        rows=1,
    )


@dataclass
class Run:
    appends_per_second: float
    p50_us: float
    p99_us: float


def percentile(values: list[int], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))] / 1000


def run_appends(directory: Path, fsync: FsyncPolicy | None, threads: int, records: int) -> Run:
    """``records`` appends spread over ``threads``; ``fsync=None`` measures encoding only."""
    writer = JournalWriter(directory, fsync=fsync) if fsync else None
    per_thread = records // threads
    latencies: list[list[int]] = [[] for _ in range(threads)]
    prepared = [sample_record(i) for i in range(per_thread)]
    start = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        own = latencies[t]
        clock = time.perf_counter_ns
        start.wait()
        for item in prepared:
            began = clock()
            if writer is None:
                encode_record(item, "0" * 32, "full")
            else:
                writer.append(item)
            own.append(clock() - began)

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    began = time.perf_counter()
    for worker in workers:
        worker.join()
    elapsed = time.perf_counter() - began
    if writer is not None:
        writer.close()
    merged = [value for chunk in latencies for value in chunk]
    return Run(len(merged) / elapsed, percentile(merged, 0.50), percentile(merged, 0.99))


def median_run(runs: list[Run]) -> Run:
    return Run(
        statistics.median(r.appends_per_second for r in runs),
        statistics.median(r.p50_us for r in runs),
        statistics.median(r.p99_us for r in runs),
    )


def ship_rate(base: Path, url: str, records: int) -> float:
    """Records per second for one ``run_once`` over a journal of ``records`` records."""
    journal = base / "ship-journal"
    with JournalWriter(journal) as writer:
        for i in range(records):
            writer.append(sample_record(i))
    upgrade_database(url)
    engine = make_shipper_engine(url)
    try:
        began = time.perf_counter()
        shipped = Shipper(journal, engine, batch_size=500).run_once()
        elapsed = time.perf_counter() - began
    finally:
        engine.dispose()
        shutil.rmtree(journal, ignore_errors=True)
    assert shipped == records, (shipped, records)
    return records / elapsed


def postgres_database(admin_url: str) -> tuple[str, Callable[[], None]]:
    """A throwaway database on the server of ``admin_url``, and a function that drops it."""
    import uuid

    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import OperationalError

    name = f"labserve_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        # Not WITH (FORCE): that may not end an autovacuum worker the test role does not own;
        # the worker leaves by itself, so try again for a while.
        deadline = time.monotonic() + 30
        try:
            while True:
                try:
                    with admin.connect() as connection:
                        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
                    return
                except OperationalError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.2)
        finally:
            admin.dispose()

    return make_url(admin_url).set(database=name).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--records", type=int, default=20_000, help="appends per run")
    parser.add_argument(
        "--always-records", type=int, default=4_000, help="appends per fsync=always run"
    )
    parser.add_argument("--ship-records", type=int, default=50_000)
    parser.add_argument("--directory", type=Path, default=Path(tempfile.gettempdir()))
    parser.add_argument("--postgres-url", help="also ship into PostgreSQL (an admin URL)")
    arguments = parser.parse_args()

    base = Path(tempfile.mkdtemp(prefix="labserve-journal-bench-", dir=arguments.directory))
    try:
        print(f"journal folder on: {base}")
        print(f"median of {arguments.runs} runs\n")
        print("| fsync | threads | appends/s | p50 µs | p99 µs |")
        print("|---|---:|---:|---:|---:|")
        policies: list[tuple[str, FsyncPolicy | None]] = [
            ("encode only", None),
            ("never", "never"),
            ("interval (200 ms)", "interval"),
            ("always", "always"),
        ]
        for label, fsync in policies:
            for threads in (1, 8):
                count = arguments.always_records if fsync == "always" else arguments.records
                runs = []
                for n in range(arguments.runs):
                    folder = base / f"{label.split()[0]}-{threads}-{n}"
                    runs.append(run_appends(folder, fsync, threads, count))
                    shutil.rmtree(folder, ignore_errors=True)
                result = median_run(runs)
                print(
                    f"| {label} | {threads} | {result.appends_per_second:,.0f} "
                    f"| {result.p50_us:,.1f} | {result.p99_us:,.1f} |",
                    flush=True,
                )

        print(f"\nshipping {arguments.ship_records:,} records, batches of 500\n")
        print("| database | records/s |")
        print("|---|---:|")
        rates = [
            ship_rate(base, f"sqlite:///{base / f'ship-{n}.db'}", arguments.ship_records)
            for n in range(arguments.runs)
        ]
        print(f"| SQLite (WAL, synchronous=NORMAL) | {statistics.median(rates):,.0f} |", flush=True)
        if arguments.postgres_url:
            rates = []
            for _ in range(arguments.runs):
                url, drop = postgres_database(arguments.postgres_url)
                try:
                    rates.append(ship_rate(base, url, arguments.ship_records))
                finally:
                    drop()
            print(f"| PostgreSQL | {statistics.median(rates):,.0f} |")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
