"""The shared-memory rate-limit storage: one count for every process that maps the file."""

from __future__ import annotations

import multiprocessing
import time
from pathlib import Path

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from labserve.web.limit_storage import SharedMemoryStorage, storage_url


def hit_many(url: str, hits: int, results: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    limiter = FixedWindowRateLimiter(storage_from_string(url))
    item = parse("1000/minute")
    results.put(sum(limiter.hit(item, "requests", "ip:127.0.0.1") for _ in range(hits)))


def test_processes_share_one_budget(tmp_path: Path) -> None:
    url = storage_url(tmp_path / "ratelimits.shm")
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    workers = [context.Process(target=hit_many, args=(url, 400, results)) for _ in range(4)]
    for worker in workers:
        worker.start()
    granted = sum(results.get(timeout=60) for _ in workers)
    for worker in workers:
        worker.join(30)
    assert granted == 1000  # 1,600 hits by four processes, exactly the budget granted


def test_counts_expire_with_their_window(tmp_path: Path) -> None:
    storage = SharedMemoryStorage(storage_url(tmp_path / "c.shm"))
    assert storage.incr("k", expiry=1, amount=3) == 3
    assert storage.incr("k", expiry=1) == 4
    assert storage.get("k") == 4
    assert storage.get_expiry("k") > time.time()
    deadline = time.monotonic() + 5
    while storage.get("k") and time.monotonic() < deadline:
        time.sleep(0.05)
    assert storage.get("k") == 0
    assert storage.incr("k", expiry=60) == 1  # a new window starts at the next hit
    storage.clear("k")
    assert storage.get("k") == 0


def test_a_reopened_table_keeps_its_counts(tmp_path: Path) -> None:
    url = storage_url(tmp_path / "c.shm")
    SharedMemoryStorage(url).incr("caller", expiry=60, amount=7)
    assert SharedMemoryStorage(url).get("caller") == 7
