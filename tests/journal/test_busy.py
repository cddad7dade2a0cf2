"""Shipping waits for idle CPU, never longer than its bound, and says so in its status."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections import namedtuple
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
from sqlalchemy import Engine

from labserve.journal import JournalWriter, Shipper, journal_metrics, read_status
from labserve.journal import busy as busy_module
from labserve.journal.busy import BusyDeferral, CpuIdleMeter
from labserve.journal.process import start_shipper_process, stop_shipper_process
from tests.journal.helpers import record, stored_counts, wait_for


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def deferral(readings: list[float | None], max_wait: float, clock: FakeClock) -> BusyDeferral:
    values = iter(readings)
    return BusyDeferral(max_wait, idle_wanted=0.25, idle_fraction=lambda: next(values), clock=clock)


def test_idle_cpu_ships_at_once() -> None:
    clock = FakeClock()
    waits = deferral([0.9, 0.25, None], 30, clock)
    assert [waits.should_wait() for _ in range(3)] == [False, False, False]
    assert waits.waiting_since is None


def test_busy_cpu_waits_until_the_bound_then_ships_and_waits_again() -> None:
    clock = FakeClock()
    waits = deferral([0.1] * 5, 30, clock)
    assert waits.should_wait()
    assert waits.waiting_since == 1000.0
    clock.now += 29.9
    assert waits.should_wait()
    clock.now += 0.1  # 30 s of busy CPU: this round ships
    assert not waits.should_wait()
    assert waits.waiting_since is None
    clock.now += 1
    assert waits.should_wait()  # still busy after the round: a new wait begins
    assert waits.waiting_since == 1031.0


def test_idle_cpu_ends_a_wait() -> None:
    clock = FakeClock()
    waits = deferral([0.0, 0.5, 0.0], 30, clock)
    assert waits.should_wait()
    clock.now += 10
    assert not waits.should_wait()
    clock.now += 10
    assert waits.should_wait()
    assert waits.waiting_since == 1020.0  # counted afresh, not from the first wait


def test_no_bound_means_no_waiting_and_no_meter(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_meter() -> None:
        pytest.fail("a CPU meter was made for a shipper that never waits")

    monkeypatch.setattr(busy_module, "CpuIdleMeter", no_meter)
    waits = BusyDeferral(0)
    assert not waits.should_wait()
    with pytest.raises(ValueError, match="negative"):
        BusyDeferral(-1)


Times = namedtuple("Times", "user nice system idle iowait guest guest_nice")
OwnTimes = namedtuple("OwnTimes", "user system")


def test_the_meter_counts_idle_and_its_own_time_as_spare(monkeypatch: pytest.MonkeyPatch) -> None:
    samples = iter(
        [
            (Times(100, 0, 50, 300, 10, 0, 0), OwnTimes(5, 1)),
            # 200 s more over all CPUs (guest time is already in user): 20 idle, 5 waiting
            # for disk, 25 this process's own
            (Times(245, 10, 70, 320, 15, 40, 0), OwnTimes(25, 6)),
        ]
    )
    current: list[tuple[Times, OwnTimes]] = []

    def machine() -> Times:
        current[:] = [next(samples)]
        return current[0][0]

    monkeypatch.setattr(busy_module.psutil, "cpu_times", machine)
    monkeypatch.setattr(psutil.Process, "cpu_times", lambda self: current[0][1])
    meter = CpuIdleMeter()
    assert meter.idle_fraction() == pytest.approx((20 + 5 + 25) / 200)


def test_the_meter_says_none_when_it_cannot_read(monkeypatch: pytest.MonkeyPatch) -> None:
    def unreadable() -> Times:
        raise PermissionError("no /proc here")

    meter = CpuIdleMeter()
    monkeypatch.setattr(busy_module.psutil, "cpu_times", unreadable)
    assert meter.idle_fraction() is None
    assert BusyDeferral(30, idle_fraction=meter.idle_fraction).should_wait() is False


def test_the_meter_reads_this_machine() -> None:
    meter = CpuIdleMeter()
    time.sleep(0.2)
    fraction = meter.idle_fraction()
    assert fraction is not None
    assert 0.0 <= fraction <= 1.0


def ship_in_thread(shipper: Shipper) -> tuple[threading.Event, threading.Thread]:
    stop = threading.Event()
    thread = threading.Thread(target=shipper.run, args=(stop,))
    thread.start()
    return stop, thread


def test_a_waiting_shipper_reports_its_lag_and_ships_everything_when_stopped(
    journal_dir: Path, engine: Engine
) -> None:
    clock = FakeClock()
    always_busy = BusyDeferral(60, idle_fraction=lambda: 0.0, clock=clock)
    shipper = Shipper(journal_dir, engine, poll_seconds=0.02, deferral=always_busy)
    writer = JournalWriter(journal_dir)
    stop, thread = ship_in_thread(shipper)
    try:
        wait_for(lambda: waiting(journal_dir))
        for i in range(20):
            writer.append(record(i))
        time.sleep(0.2)  # ten rounds skipped
        assert stored_counts(engine)[0] == 0
        status = read_status(journal_dir)
        assert status is not None
        assert status.waiting_for_idle_since is not None
        assert journal_metrics(journal_dir).lag_seconds > 0.2
    finally:
        writer.close()
        stop.set()
        thread.join()
    assert stored_counts(engine) == (20, 20, 20)  # the last round does not wait
    status = read_status(journal_dir)
    assert status is not None
    assert status.waiting_for_idle_since is None
    assert status.oldest_unshipped_at is None


def test_a_busy_shipper_ships_once_the_bound_has_passed(journal_dir: Path, engine: Engine) -> None:
    clock = FakeClock()
    always_busy = BusyDeferral(30, idle_fraction=lambda: 0.0, clock=clock)
    shipper = Shipper(journal_dir, engine, poll_seconds=0.02, deferral=always_busy)
    stop, thread = ship_in_thread(shipper)
    try:
        wait_for(lambda: always_busy.waiting_since is not None)
        with JournalWriter(journal_dir) as writer:
            for i in range(5):
                writer.append(record(i))
        time.sleep(0.1)
        assert stored_counts(engine)[0] == 0
        clock.now += 30
        wait_for(lambda: stored_counts(engine)[0] == 5, timeout=10, what="shipping at the bound")
    finally:
        stop.set()
        thread.join()


def test_what_is_in_the_journal_at_start_is_shipped_before_any_wait(
    journal_dir: Path, engine: Engine
) -> None:
    always_busy = BusyDeferral(60, idle_fraction=lambda: 0.0)
    shipper = Shipper(journal_dir, engine, poll_seconds=0.02, deferral=always_busy)
    with JournalWriter(journal_dir) as writer:
        for i in range(7):
            writer.append(record(i))  # left by an earlier server: older than this shipper
    stop, thread = ship_in_thread(shipper)
    try:
        wait_for(lambda: waiting(journal_dir))
        assert stored_counts(engine) == (7, 7, 7)
    finally:
        stop.set()
        thread.join()


def test_a_waiting_shipper_with_nothing_to_ship_reports_no_lag(
    journal_dir: Path, engine: Engine
) -> None:
    journal_dir.mkdir()
    always_busy = BusyDeferral(60, idle_fraction=lambda: 0.0)
    shipper = Shipper(journal_dir, engine, poll_seconds=0.02, deferral=always_busy)
    stop, thread = ship_in_thread(shipper)
    try:
        wait_for(lambda: waiting(journal_dir))
        assert journal_metrics(journal_dir).lag_seconds == 0.0
    finally:
        stop.set()
        thread.join()


@pytest.fixture
def every_cpu_busy() -> Iterator[None]:
    """One busy loop per CPU, at the tests' own priority."""
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"])
        for _ in range(psutil.cpu_count() or 1)
    ]
    try:
        yield
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()


def test_the_shipper_process_waits_while_every_cpu_is_busy(
    journal_dir: Path, engine: Engine, database_url: str, every_cpu_busy: None
) -> None:
    writer = JournalWriter(journal_dir)
    process = start_shipper_process(
        journal_dir, database_url, poll_seconds=0.05, idle_wait_seconds=5
    )
    try:
        wait_for(lambda: waiting(journal_dir), what="the shipper to wait for idle CPU")
        for i in range(30):
            writer.append(record(i))
        time.sleep(1.0)  # twenty rounds: a shipper that does not wait ships within one
        assert stored_counts(engine)[0] == 0
        # the bound: shipped within 5 s of the wait's start although the CPUs stay busy
        wait_for(lambda: stored_counts(engine)[0] == 30, timeout=20, what="shipping at the bound")
        writer.close()
    finally:
        stop_shipper_process(process)


def waiting(journal_dir: Path) -> bool:
    """Whether the status file says shipping waits for idle CPU."""
    status = read_status(journal_dir)
    return status is not None and status.waiting_for_idle_since is not None
