"""Docker, Swarm and load helpers shared by the deploy test and benchmarks/swarm.py.

Everything here drives the ``docker`` command line (no SDK), waits by polling with a
deadline, and sends traffic only to 127.0.0.1.
"""

from __future__ import annotations

import csv
import hashlib
import http.client
import json
import os
import secrets
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent

BASE_IMAGE = "labserve-base:bookworm"


def _content_tag(directory: Path) -> str:
    """A tag that changes with the files the image is built from (so the cache is never stale)."""
    digest = hashlib.sha256()
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


SERVICES_IMAGE = f"labserve-test-services:{_content_tag(HERE / 'images/services')}"
ROW = {
    "radius_mean": 17.99,
    "texture_mean": 10.38,
    "smoothness_mean": 0.1184,
    "texture_se": 0.9053,
    "smoothness_se": 0.006399,
    "symmetry_se": 0.03003,
}
BODY = json.dumps(ROW).encode()
# Figures of the last deploy run, printed at the end of the pytest session (conftest.py).
SUMMARY: dict[str, str] = {}


class DeployError(RuntimeError):
    """A docker command failed or a wait ran out of time."""


def run(
    args: list[str], *, timeout: float = 120, check: bool = True, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    try:
        result = subprocess.run(
            args, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise DeployError(f"timed out after {timeout}s: {' '.join(args)}") from exc
    if check and result.returncode != 0:
        raise DeployError(
            f"exit {result.returncode}: {' '.join(args)}\n{result.stdout[-2000:]}"
            f"{result.stderr[-2000:]}"
        )
    return result


def docker(*args: str, timeout: float = 120, check: bool = True, stdin: str | None = None) -> str:
    return run(["docker", *args], timeout=timeout, check=check, stdin=stdin).stdout.strip()


def wait_for(
    what: str, predicate: Callable[[], Any], *, deadline_s: float, interval: float = 0.5
) -> Any:
    """Poll ``predicate`` until it returns something truthy; DeployError at the deadline."""
    end = time.monotonic() + deadline_s
    last_error: Exception | None = None
    while True:
        try:
            value = predicate()
            if value:
                return value
        except (DeployError, OSError) as exc:
            last_error = exc
        if time.monotonic() > end:
            raise DeployError(f"{what}: not reached in {deadline_s:.0f}s (last: {last_error})")
        time.sleep(interval)


# --- capabilities -------------------------------------------------------------------------


def docker_problem() -> str | None:
    """None when a Docker engine answers (after scripts/install-docker); else the reason."""
    if shutil.which("docker") is None or run(["docker", "info"], check=False).returncode != 0:
        if os.geteuid() != 0:
            return "no Docker engine answers, and installing/starting one needs root"
        result = run(["bash", str(ROOT / "scripts/install-docker")], timeout=600, check=False)
        if result.returncode != 0:
            return f"scripts/install-docker failed: {result.stderr[-1500:]}"
    if run(["docker", "info"], check=False).returncode != 0:
        return "docker info fails after scripts/install-docker"
    return None


def kernel_has_ipvs() -> bool:
    """Swarm's routing mesh and virtual IPs are IPVS; some kernels are built without it."""
    return Path("/proc/net/ip_vs").exists()


def swarm_state() -> str:
    return docker("info", "--format", "{{.Swarm.LocalNodeState}}")


# --- images -------------------------------------------------------------------------------


def image_exists(tag: str) -> bool:
    return run(["docker", "image", "inspect", tag], check=False).returncode == 0


def build_base_images() -> None:
    """The Debian base and the PostgreSQL/Redis/HAProxy stand-ins; kept between runs."""
    run(["bash", str(ROOT / "scripts/build-base-image"), BASE_IMAGE], timeout=900)
    if not image_exists(SERVICES_IMAGE):
        run(
            [
                "docker", "build", "--quiet", "--build-arg", f"BASE_IMAGE={BASE_IMAGE}",
                "--tag", SERVICES_IMAGE, str(HERE / "images/services"),
            ],
            timeout=900,
        )  # fmt: skip


def build_labserve_image(tag: str, python: str) -> None:
    env = {**os.environ, "BASE_IMAGE": BASE_IMAGE, "PYTHON": python}
    result = subprocess.run(
        ["bash", str(ROOT / "scripts/build-image"), tag],
        env=env, capture_output=True, text=True, timeout=1200, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise DeployError(f"scripts/build-image failed:\n{result.stderr[-3000:]}")


def build_slow_image(tag: str, base: str) -> None:
    """``base`` whose workers take 6 s longer to become ready (tests/deploy/images/slow)."""
    docker(
        "build", "--quiet", "--build-arg", f"BASE={base}", "--tag", tag,
        str(HERE / "images/slow"), timeout=300,
    )  # fmt: skip


def image_size_mb(tag: str) -> float:
    return int(docker("image", "inspect", "--format", "{{.Size}}", tag)) / 1e6


# --- the stack ----------------------------------------------------------------------------


def render_stack(directory: Path, *, mesh: bool, attachable: bool = False) -> Path:
    """deploy/stack.yaml, as is when the kernel has IPVS; else with an edge in front.

    Without IPVS neither the routing mesh nor virtual IPs work, so the labserve service is
    switched to DNS round robin, publishes nothing, and an HAProxy service (host-mode port)
    spreads requests over the replicas Docker's DNS lists: those whose container is healthy,
    the same rule the mesh follows. Everything else is the file users deploy.
    ``attachable``: plain containers may join the backend network too (the benchmark's).
    """
    stack = yaml.safe_load((ROOT / "deploy/stack.yaml").read_text())
    if attachable:
        stack["networks"]["backend"]["attachable"] = True
    if not mesh:
        labserve = stack["services"]["labserve"]
        ports = labserve.pop("ports")
        labserve["deploy"]["endpoint_mode"] = "dnsrr"
        stack["services"]["edge"] = {
            "image": "${EDGE_IMAGE}",
            "command": ["haproxy", "-db", "-f", "/etc/haproxy/labserve-edge.cfg"],
            "networks": ["backend"],
            "ports": [{**ports[0], "mode": "host"}],
            "deploy": {"replicas": 1, "endpoint_mode": "dnsrr"},
        }
    path = directory / "stack.yaml"
    path.write_text(yaml.safe_dump(stack, sort_keys=False))
    return path


@dataclass
class Container:
    id: str
    image: str
    health: str
    ip: str
    running: bool
    env: dict[str, str]
    last_probe: str = ""  # what the latest health probe printed


@dataclass
class Stack:
    """One deployed stack, named ``name``; ``remove`` takes away all it made."""

    name: str
    port: int
    env: dict[str, str]
    file: Path
    mesh: bool = True
    secrets_created: list[str] = field(default_factory=list)

    def service(self, short: str) -> str:
        return f"{self.name}_{short}"

    def deploy(self) -> None:
        run(
            ["docker", "stack", "deploy", "--resolve-image", "never", "-c", str(self.file),
             self.name],
            timeout=120,
        )  # fmt: skip

    def create_secret(self, name: str, value: str) -> None:
        docker("secret", "rm", name, check=False)
        docker("secret", "create", name, "-", stdin=value)
        self.secrets_created.append(name)

    def containers(self, short: str) -> list[Container]:
        ids = docker(
            "ps", "--all", "--quiet", "--no-trunc",
            "--filter", f"label=com.docker.swarm.service.name={self.service(short)}",
        ).split()  # fmt: skip
        if not ids:
            return []
        found = []
        for info in json.loads(docker("inspect", *ids)):
            networks = info["NetworkSettings"]["Networks"] or {}
            backend = networks.get(f"{self.name}_backend") or {}
            state = info["State"]
            probes = (state.get("Health") or {}).get("Log") or [{}]
            found.append(
                Container(
                    id=info["Id"],
                    image=info["Config"]["Image"].split("@")[0],
                    health=(state.get("Health") or {}).get("Status", "none"),
                    ip=backend.get("IPAddress", ""),
                    running=bool(state["Running"]),
                    env=dict(item.split("=", 1) for item in info["Config"]["Env"]),
                    last_probe=str(probes[-1].get("Output", "")).strip(),
                )
            )
        return found

    def healthy(self, short: str) -> list[Container]:
        return [c for c in self.containers(short) if c.running and c.health == "healthy"]

    def converged(
        self, short: str, replicas: int, accept: Callable[[Container], bool] = lambda c: True
    ) -> bool:
        """Exactly ``replicas`` running containers, all healthy and all accepted."""
        running = [c for c in self.containers(short) if c.running]
        return len(running) == replicas and all(
            c.health == "healthy" and accept(c) for c in running
        )

    def update_state(self, short: str) -> str:
        status = docker(
            "service", "inspect", "--format", "{{json .UpdateStatus}}", self.service(short)
        )
        parsed = json.loads(status) if status not in ("", "null") else None
        return str(parsed.get("State", "")) if parsed else ""

    def exec_in(self, short: str, *command: str, timeout: float = 30) -> str:
        running = [c for c in self.containers(short) if c.running]
        if not running:
            raise DeployError(f"no running container for {short}")
        return docker("exec", running[0].id, *command, timeout=timeout)

    def edge_servers_up(self) -> int:
        """Replicas the HAProxy edge currently sends traffic to (its stats page, as CSV)."""
        text = self.exec_in(
            "edge", "python3", "-c",
            "import urllib.request;"
            "print(urllib.request.urlopen('http://127.0.0.1:8404/stats;csv').read().decode())",
        )  # fmt: skip
        rows = csv.DictReader(text.lstrip("# ").splitlines())
        return sum(
            row["pxname"] == "labserve" and row["svname"].startswith("replica")
            and row["status"] == "UP"
            for row in rows
        )  # fmt: skip

    def psql(self, sql: str) -> str:
        return self.exec_in("postgres", "psql", "-U", "labserve", "-d", "labserve", "-tAc", sql)

    def remove(self) -> None:
        docker("stack", "rm", self.name, check=False)
        label = f"label=com.docker.stack.namespace={self.name}"

        def gone() -> bool:
            return not docker("ps", "--all", "--quiet", "--filter", label) and not docker(
                "network", "ls", "--quiet", "--filter", label
            )

        try:
            wait_for("stack removed", gone, deadline_s=90)
        finally:
            volumes = docker("volume", "ls", "--quiet", "--filter", label, check=False).split()
            # the per-slot journal volumes are named after the service, not labelled
            journal_filter = f"name={self.name}_labserve-journal-"
            journals = docker("volume", "ls", "--quiet", "--filter", journal_filter, check=False)
            for volume in sorted(set(volumes + journals.split())):
                docker("volume", "rm", "--force", volume, check=False)
            for secret in self.secrets_created:
                docker("secret", "rm", secret, check=False)

    def discard(self) -> None:
        """Remove the stack and the rendered stack file (at the very end)."""
        try:
            self.remove()
        finally:
            shutil.rmtree(self.file.parent, ignore_errors=True)


def new_stack(
    name: str, port: int, env: dict[str, str], mesh: bool, *, attachable: bool = False
) -> Stack:
    directory = Path(tempfile.mkdtemp(prefix=f"{name}-"))
    file = render_stack(directory, mesh=mesh, attachable=attachable)
    return Stack(name=name, port=port, env=env, file=file, mesh=mesh)


def deploy_stack(stack: Stack, password: str | None = None) -> None:
    """Secrets, then ``docker stack deploy`` with the stack's variables in the environment."""
    password = password or secrets.token_hex(16)
    url = f"postgresql+psycopg://labserve:{password}@postgres:5432/labserve"
    stack.create_secret(stack.env["DATABASE_URL_SECRET"], url)
    stack.create_secret(stack.env["POSTGRES_PASSWORD_SECRET"], password)
    stack.create_secret(stack.env["SECRET_KEY_SECRET"], secrets.token_urlsafe(48))
    saved = dict(os.environ)
    os.environ.update(stack.env)
    try:
        stack.deploy()
    finally:
        os.environ.clear()
        os.environ.update(saved)


# --- HTTP through the published port ------------------------------------------------------


def get_status(port: int, path: str, timeout: float = 3) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    finally:
        connection.close()


@dataclass(frozen=True)
class Result:
    request_id: str
    start: float
    end: float
    status: int  # HTTP status, or -1 when no answer came (reset, timeout)
    error: str = ""

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


class Load:
    """Threads posting predictions through 127.0.0.1:port, bounded in count and time."""

    def __init__(
        self,
        port: int,
        prefix: str,
        *,
        threads: int = 4,
        max_requests: int = 40_000,
        max_seconds: float = 240,
        timeout: float = 10,
        rate_per_thread: float = 0,
    ) -> None:
        self.port = port
        self.prefix = prefix
        self.threads = threads
        self.max_requests = max_requests
        self.max_seconds = max_seconds
        self.timeout = timeout
        # 0: as fast as answers come; else each thread keeps to this many requests a second
        self.interval = 1 / rate_per_thread if rate_per_thread else 0.0
        self.results: list[Result] = []
        self._lock = threading.Lock()
        self._count = 0
        self._stop = threading.Event()
        self._workers: list[threading.Thread] = []

    def _next_id(self) -> str | None:
        with self._lock:
            if self._count >= self.max_requests:
                return None
            self._count += 1
            return f"{self.prefix}-{self._count:06d}"

    def _worker(self) -> None:
        end = time.monotonic() + self.max_seconds
        connection: http.client.HTTPConnection | None = None
        next_at = time.monotonic()
        while not self._stop.is_set() and time.monotonic() < end:
            if self.interval:
                next_at += self.interval
                self._stop.wait(max(0.0, next_at - time.monotonic()))
            request_id = self._next_id()
            if request_id is None:
                break
            if connection is None:
                connection = http.client.HTTPConnection(
                    "127.0.0.1", self.port, timeout=self.timeout
                )
            start = time.monotonic()
            try:
                connection.request(
                    "POST",
                    "/api/diagnosis",
                    body=BODY,
                    headers={"Content-Type": "application/json", "X-Request-ID": request_id},
                )
                response = connection.getresponse()
                response.read()
                result = Result(request_id, start, time.monotonic(), response.status)
                if response.getheader("Connection", "").lower() == "close":
                    connection.close()
                    connection = None
            except (OSError, http.client.HTTPException) as exc:
                result = Result(request_id, start, time.monotonic(), -1, repr(exc))
                connection.close()
                connection = None
            with self._lock:
                self.results.append(result)
        if connection is not None:
            connection.close()

    def start(self) -> Load:
        for index in range(self.threads):
            worker = threading.Thread(target=self._worker, name=f"load-{index}", daemon=True)
            worker.start()
            self._workers.append(worker)
        return self

    def join(self, timeout: float) -> None:
        for worker in self._workers:
            worker.join(timeout)

    def done(self) -> int:
        with self._lock:
            return len(self.results)

    def stop(self) -> list[Result]:
        self._stop.set()
        for worker in self._workers:
            worker.join(self.timeout + 5)
        with self._lock:
            return list(self.results)


def burst(port: int, prefix: str, count: int, threads: int = 4) -> list[Result]:
    load = Load(port, prefix, threads=threads, max_requests=count, max_seconds=60)
    load.start().join(70)
    return load.stop()


def in_window(result: Result, start: float, end: float) -> bool:
    return result.start <= end and result.end >= start


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def iter_lines(text: str) -> Iterator[str]:
    return (line for line in text.splitlines() if line.strip())
