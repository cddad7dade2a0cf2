"""Microseconds per rate-limit hit, per storage: the cost every request pays for a limit.

    .venv/bin/python benchmarks/rate_limit_check.py [--hits 20000]

Compares ``limits``' per-process memory storage with the shared-memory table that the
workers of ``labserve serve`` share (labserve/web/limit_storage.py), on one thread.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from labserve.web.limit_storage import storage_url


def per_hit_us(url: str, hits: int) -> float:
    limiter = FixedWindowRateLimiter(storage_from_string(url))
    item = parse("1000000000/minute")
    started = time.perf_counter()
    for i in range(hits):
        limiter.hit(item, "requests", f"ip:127.0.0.{i % 50}")
    return (time.perf_counter() - started) / hits * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hits", type=int, default=20_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for name, url in (
            ("memory (one process)", "memory://"),
            ("shared memory (all workers)", storage_url(Path(folder) / "ratelimits.shm")),
        ):
            best = min(per_hit_us(url, args.hits) for _ in range(3))
            print(f"{name:30} {best:6.1f} us per hit")


if __name__ == "__main__":
    main()
