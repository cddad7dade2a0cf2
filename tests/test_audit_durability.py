"""No answered prediction without its audit record: real servers killed, their database
deleted or unreachable, their journal's disk full.

Every request carries its own X-Request-ID; a prediction counts as answered when it came
back 200. After the failure and the recovery, every answered id must be in the database
exactly once. Requests refused with 503 were not answered, and need no record.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import data_row, free_port

pytestmark = pytest.mark.process

ROW = data_row(19)


@dataclass
class Server:
    """``labserve serve`` in a session of its own (so one signal reaches all its processes)."""

    instance: Path
    env: dict[str, str]
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Server:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "labserve.cli",
                "serve",
                "--instance-path",
                str(self.instance),
                "--port",
                str(self.port),
                "--workers",
                "2",
            ],
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_for(lambda: status_of(self.url + "/healthz") == 200, 90, "server start")
        return self

    def kill_everything(self) -> None:
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def terminate(self) -> float:
        """SIGTERM; the seconds it took to exit."""
        assert self.process is not None
        started = time.monotonic()
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(60)
        return time.monotonic() - started

    def workers(self) -> list[int]:
        """The worker processes (granian's children that are not the shipper)."""
        assert self.process is not None
        children = []
        for task in Path(f"/proc/{self.process.pid}/task").iterdir():
            children += [int(p) for p in (task / "children").read_text().split()]
        return [pid for pid in children if b"labserve.journal" not in cmdline(pid)]


def cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def status_of(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as exc:
        return int(exc.code)
    except OSError:
        return 0


def wait_for(condition: Callable[[], bool], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def predict(url: str) -> tuple[int, str]:
    """One prediction on a fresh connection: (status, request id); 0 when it failed."""
    request_id = uuid.uuid4().hex
    request = urllib.request.Request(
        url + "/api/diagnosis",
        data=json.dumps(ROW).encode(),
        headers={"Content-Type": "application/json", "X-Request-ID": request_id},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status), request_id
    except urllib.error.HTTPError as exc:
        return int(exc.code), request_id
    except OSError:
        return 0, request_id


LOAD_THREADS = 4


@dataclass
class Load:
    """A few threads predicting until stopped; what was answered, refused or failed."""

    url: str
    answered: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    failed: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self, threads: int = LOAD_THREADS) -> Load:
        self._threads = [threading.Thread(target=self._loop) for _ in range(threads)]
        for thread in self._threads:
            thread.start()
        return self

    def _loop(self) -> None:
        while not self.stop.is_set():
            status, request_id = predict(self.url)
            with self.lock:
                if status == 200:
                    self.answered.append(request_id)
                elif status == 503:
                    self.refused.append(request_id)
                else:
                    self.failed += 1

    def until(self, answered: int, seconds: float = 60) -> None:
        wait_for(lambda: len(self.answered) >= answered, seconds, f"{answered} answers")

    def halt(self) -> None:
        self.stop.set()
        for thread in self._threads:
            thread.join(20)


def recorded(database: Path) -> list[str]:
    if not database.exists():
        return []
    with sqlite3.connect(database) as connection:
        try:
            return [r for (r,) in connection.execute("SELECT request_id FROM predictions")]
        except sqlite3.OperationalError:
            return []


def assert_all_recorded(database: Path, answered: list[str], seconds: float = 60) -> None:
    wanted = set(answered)
    wait_for(lambda: wanted <= set(recorded(database)), seconds, "every answer shipped")
    ids = recorded(database)
    assert len(ids) == len(set(ids)), "a record was shipped twice"


@pytest.fixture
def instance(trained_instance: Path, tmp_path: Path) -> Path:
    folder = tmp_path / "instance"
    shutil.copytree(trained_instance / "models", folder / "models")
    return folder


@pytest.fixture
def environment() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("LABSERVE_")}


@pytest.fixture
def servers() -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.process is not None and server.process.poll() is None:
            os.killpg(server.process.pid, signal.SIGKILL)
            server.process.wait(10)


@pytest.mark.parametrize("run", [1, 2, 3])
def test_kill_9_of_the_whole_server_loses_no_answered_prediction(
    instance: Path, environment: dict[str, str], servers: list[Server], run: int
) -> None:
    server = Server(instance, environment).start()
    servers.append(server)
    load = Load(server.url).run()
    load.until(300 * run)
    server.kill_everything()  # workers and shipper, mid-stream, no chance to flush
    load.halt()
    assert load.answered
    restarted = Server(instance, environment).start()  # its shipper finds the dead journals
    servers.append(restarted)
    assert_all_recorded(instance / "labserve.db", load.answered)


@pytest.mark.parametrize("run", [1, 2, 3])
def test_kill_9_of_one_worker_loses_no_answered_prediction(
    instance: Path, environment: dict[str, str], servers: list[Server], run: int
) -> None:
    server = Server(instance, environment).start()
    servers.append(server)
    load = Load(server.url).run()
    load.until(200 * run)
    victim = server.workers()[0]
    os.kill(victim, signal.SIGKILL)
    load.until(len(load.answered) + 300)  # the other worker, then the respawned one, serve on
    load.halt()
    assert server.terminate() < 5
    assert_all_recorded(instance / "labserve.db", load.answered, seconds=10)


def test_a_deleted_database_loses_nothing(
    instance: Path, environment: dict[str, str], servers: list[Server]
) -> None:
    server = Server(instance, environment).start()
    servers.append(server)
    database = instance / "labserve.db"
    load = Load(server.url).run()
    load.until(100)
    # Gone from where labserve looks, as a deletion is; kept aside (under a name of its own,
    # with its WAL) so that what the shipper moved before it went can be counted too: which
    # records those are depends on where the shipper's half-second round fell.
    gone = instance / "gone.db"
    for suffix in ("", "-wal", "-shm"):
        if Path(f"{database}{suffix}").exists():
            Path(f"{database}{suffix}").rename(f"{gone}{suffix}")
    # Past the (at most one per thread) requests under way at the move, every answer was
    # journaled after it: those records must reach the restored database, not the one gone.
    after = len(load.answered) + LOAD_THREADS
    load.until(len(load.answered) + 500)
    load.halt()
    assert status_of(server.url + "/readyz") == 200  # predictions go on: they are journaled
    subprocess.run(
        [sys.executable, "-m", "labserve.cli", "db", "upgrade", "--instance-path", str(instance)],
        env=environment,
        check=True,
        capture_output=True,
    )  # the operator restores the database (empty: what was in it is the backup's business)
    answered, later = set(load.answered), set(load.answered[after:])
    # the shipper may be in its longest back-off (30 s) when the database comes back
    wait_for(lambda: later <= set(recorded(database)), 120, "records after the deletion")
    assert answered <= {*recorded(gone), *recorded(database)}
    assert server.terminate() < 5


@pytest.mark.skipif(os.geteuid() != 0 and not os.environ.get("CI"), reason="mounting needs root")
def test_a_full_journal_disk_refuses_instead_of_losing(
    instance: Path, environment: dict[str, str], servers: list[Server], tmp_path: Path
) -> None:
    journal = tmp_path / "journal-disk"
    journal.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(journal)], check=True)
    try:
        live = tmp_path / "db" / "labserve.db"
        live.parent.mkdir()
        env = {
            **environment,
            "LABSERVE_JOURNAL_PATH": str(journal),
            "LABSERVE_DATABASE_URL": f"sqlite:///{live}",
        }
        server = Server(instance, env).start()
        servers.append(server)
        hidden = tmp_path / "db-away"
        os.rename(live.parent, hidden)  # nothing is shipped, so the journal fills its disk
        load = Load(server.url).run()
        wait_for(lambda: len(load.refused) >= 20, 180, "refusals once the disk is full")
        load.halt()
        with urllib.request.urlopen(server.url + "/healthz", timeout=5) as response:
            assert response.status == 200
        with pytest.raises(urllib.error.HTTPError) as not_ready:
            urllib.request.urlopen(server.url + "/readyz", timeout=5)
        assert not_ready.value.code == 503
        assert "audit log" in json.loads(not_ready.value.read())["reason"]
        with urllib.request.urlopen(server.url + "/metrics", timeout=5) as response:
            metrics = response.read().decode()
        refused_line = next(
            line
            for line in metrics.splitlines()
            if line.startswith("labserve_audit_records_refused_total ")
        )
        assert float(refused_line.split()[1]) >= 20
        assert server.terminate() < 5
        os.rename(hidden, live.parent)  # the database is back: what was answered is shipped
        restarted = Server(instance, env).start()
        servers.append(restarted)
        assert_all_recorded(live, load.answered)
        assert not set(load.refused) & set(recorded(live))
        assert restarted.terminate() < 5
    finally:
        subprocess.run(["umount", "-l", str(journal)], check=False)


def test_a_database_down_for_30_seconds_loses_nothing_and_memory_stays_flat(
    instance: Path, environment: dict[str, str], servers: list[Server], tmp_path: Path
) -> None:
    """The database is a file that vanishes for 30 s (for the shipper: unreachable)."""
    live = tmp_path / "db" / "labserve.db"
    env = {**environment, "LABSERVE_DATABASE_URL": f"sqlite:///{live}"}
    live.parent.mkdir()
    server = Server(instance, env).start()
    servers.append(server)
    workers = server.workers()
    load = Load(server.url).run()
    load.until(200)
    idle = {pid: rss_mb(pid) for pid in workers}
    hidden = tmp_path / "db-away"
    os.rename(live.parent, hidden)  # down: the shipper's connections fail from now on
    down_since = time.monotonic()
    peak: dict[int, float] = dict(idle)
    while time.monotonic() - down_since < 30:
        for pid in workers:
            peak[pid] = max(peak[pid], rss_mb(pid))
        time.sleep(0.5)
    answered_while_down = len(load.answered)
    os.rename(hidden, live.parent)  # back
    load.until(answered_while_down + 200)
    load.halt()
    assert load.failed == 0
    assert not load.refused
    assert_all_recorded(live, load.answered)
    for pid in workers:
        assert peak[pid] - idle[pid] < 20, f"worker {pid} grew {peak[pid] - idle[pid]:.1f} MB"
    assert server.terminate() < 5
