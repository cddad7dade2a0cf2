"""Serving through Docker Swarm: req/s and p99 with 1, 2 and 3 replicas, side by side.

One run measures, with the same wrk load (POST /api/diagnosis, 2 threads, 8 connections,
a fixed time each) against 127.0.0.1:
  - ``labserve serve --workers 2`` on the host, no Docker (SQLite audit, no rate limit);
  - one container of the image, its port published directly (PostgreSQL audit, Redis limit);
  - the stack (deploy/stack.yaml) with 1, 2 and 3 replicas through its front door: Swarm's
    routing mesh, or where the kernel has no IPVS the HAProxy edge the deploy test uses.
The difference between the direct container and 1 replica is what the front door costs.

    scripts/install-docker && .venv/bin/python benchmarks/swarm.py [--seconds 10]

Builds the images it needs (scripts/build-base-image, scripts/build-image) and removes the
stack, the swarm (if it created it) and the labserve image afterwards. Bounded: every wrk run
lasts --seconds; the whole run takes a few minutes. Targets only 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.deploy import stack_tools as st  # noqa: E402

IMAGE = "labserve-bench:latest"
STACK = "lsbench"
UNLIMITED = "1000000000/minute"


@dataclass
class Row:
    setup: str
    rps: float
    p50_ms: float
    p99_ms: float
    errors: int


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def to_ms(text: str) -> float:
    """wrk's latency text (``422.00us``, ``1.29ms``, ``1.02s``) in milliseconds."""
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if match is None:
        raise ValueError(f"unexpected latency {text!r} in wrk's output")
    value, unit = match.groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def wrk(setup: str, port: int, seconds: int, connections: int, script: Path) -> Row:
    url = f"http://127.0.0.1:{port}/api/diagnosis"
    base = ["wrk", "-t2", f"-c{connections}", "-s", str(script)]
    # a short warm-up first: connections, caches, the first audit batches
    subprocess.run([*base, "-d2s", url], capture_output=True, check=True, timeout=60)
    out = subprocess.run(
        [*base, f"-d{seconds}s", "--latency", url],
        capture_output=True,
        text=True,
        check=True,
        timeout=seconds + 60,
    ).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out)[1])  # type: ignore[index]
    p50 = to_ms(re.search(r"\n\s+50%\s+(\S+)", out)[1])  # type: ignore[index]
    p99 = to_ms(re.search(r"\n\s+99%\s+(\S+)", out)[1])  # type: ignore[index]
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    sockets = re.search(
        r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out
    )
    errors = (int(non2xx[1]) if non2xx else 0) + (
        sum(int(x) for x in sockets.groups()) if sockets else 0
    )
    row = Row(setup, rps, p50, p99, errors)
    print(f"  {setup}: {rps:,.0f} req/s, p99 {p99:.1f} ms, {errors} errors", flush=True)
    return row


def wait_ready(port: int, deadline_s: float = 180) -> None:
    st.wait_for(
        f"127.0.0.1:{port}/readyz",
        lambda: st.get_status(port, "/readyz") == 200,
        deadline_s=deadline_s,
    )


def host_server(args: argparse.Namespace, script: Path) -> Row:
    """``labserve serve --workers 2`` outside Docker, in a throwaway instance folder."""
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="labserve-bench-") as instance:
        env = {**os.environ, "LABSERVE_INSTANCE_PATH": instance}
        env.pop("LABSERVE_RATE_LIMIT", None)
        labserve = str(Path(sys.executable).with_name("labserve"))
        process = subprocess.Popen(
            [labserve, "serve", "--port", str(port), "--workers", "2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            wait_ready(port)
            return wrk("labserve serve --workers 2 (host, no Docker)", port, *load(args), script)
        finally:
            os.killpg(process.pid, signal.SIGTERM)
            process.wait(60)


def load(args: argparse.Namespace) -> tuple[int, int]:
    return args.seconds, args.connections


def direct_container(stack: st.Stack, url: str, args: argparse.Namespace, script: Path) -> Row:
    """One container on the stack's network (same PostgreSQL and Redis), port published."""
    port = free_port()
    container = st.docker(
        "run", "--detach", "--network", f"{STACK}_backend",
        "--publish", f"127.0.0.1:{port}:8000",
        "--env", f"LABSERVE_DATABASE_URL={url}",
        "--env", "LABSERVE_REDIS_URL=redis://redis:6379/0",
        "--env", f"LABSERVE_RATE_LIMIT={UNLIMITED}",
        IMAGE,
    )  # fmt: skip
    try:
        wait_ready(port)
        return wrk("1 container, port published directly", port, *load(args), script)
    finally:
        st.docker("rm", "--force", container, check=False)


def scale(stack: st.Stack, replicas: int) -> None:
    st.docker("service", "scale", "--detach", f"{stack.service('labserve')}={replicas}")
    st.wait_for(
        f"{replicas} healthy replicas",
        lambda: stack.converged("labserve", replicas),
        deadline_s=240,
    )
    if not stack.mesh:
        st.wait_for(
            f"the edge sends to {replicas} replicas",
            lambda: stack.edge_servers_up() == replicas,
            deadline_s=60,
        )
    wait_ready(stack.port)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="length of each wrk run")
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--image", help="use this labserve image instead of building one")
    args = parser.parse_args()

    problem = st.docker_problem()
    if problem:
        sys.exit(f"benchmarks/swarm.py: {problem}")
    workdir = Path(tempfile.mkdtemp(prefix="swarm-bench-"))
    script = workdir / "post.lua"
    script.write_text(
        'wrk.method = "POST"\n'
        f"wrk.body = '{json.dumps(st.ROW)}'\n"
        'wrk.headers["Content-Type"] = "application/json"\n'
    )
    rows = [host_server(args, script)]

    image = args.image or IMAGE
    st.build_base_images()
    if not args.image:
        print("building the image ...", flush=True)
        st.build_labserve_image(IMAGE, sys.executable)
    created_swarm = st.swarm_state() != "active"
    if created_swarm:
        st.docker("swarm", "init", "--advertise-addr", "127.0.0.1")
    mesh = st.kernel_has_ipvs()
    port = free_port()
    stack = st.new_stack(
        STACK,
        port,
        {
            "LABSERVE_IMAGE": image,
            "POSTGRES_IMAGE": st.SERVICES_IMAGE,
            "REDIS_IMAGE": st.SERVICES_IMAGE,
            "EDGE_IMAGE": st.SERVICES_IMAGE,
            "LABSERVE_PORT": str(port),
            "LABSERVE_RATE_LIMIT": UNLIMITED,
            "DATABASE_URL_SECRET": f"{STACK}_database_url",
            "POSTGRES_PASSWORD_SECRET": f"{STACK}_postgres_password",
            "SECRET_KEY_SECRET": f"{STACK}_secret_key",
        },
        mesh,
        attachable=True,
    )
    front = "routing mesh" if mesh else "HAProxy edge (no IPVS)"
    try:
        password = "bench-" + os.urandom(8).hex()
        st.deploy_stack(stack, password)
        scale(stack, 3)
        url = f"postgresql+psycopg://labserve:{password}@postgres:5432/labserve"
        scale(stack, 1)
        rows.append(direct_container(stack, url, args, script))
        for replicas in (1, 2, 3):
            scale(stack, replicas)
            rows.append(
                wrk(f"stack, {replicas} replica(s), via {front}", port, *load(args), script)
            )
    finally:
        stack.discard()
        if created_swarm:
            st.docker("swarm", "leave", "--force", check=False)
        if not args.image:
            st.docker("rmi", IMAGE, check=False)
        shutil.rmtree(workdir, ignore_errors=True)

    print(f"\n{args.seconds} s per run, wrk -t2 -c{args.connections}, {os.cpu_count()} cores\n")
    print(f"| {'setup':<52} | {'req/s':>7} | {'p50 ms':>7} | {'p99 ms':>7} | errors |")
    print(f"|{'-' * 54}|{'-' * 9}|{'-' * 9}|{'-' * 9}|--------|")
    for row in rows:
        print(
            f"| {row.setup:<52} | {row.rps:>7,.0f} | {row.p50_ms:>7.1f} | {row.p99_ms:>7.1f} "
            f"| {row.errors:>6} |"
        )
    direct, one = rows[1], rows[2]
    print(
        f"\nfront door ({front}) with 1 replica vs the container published directly: "
        f"{one.rps / direct.rps - 1:+.0%} req/s, p99 {one.p99_ms - direct.p99_ms:+.1f} ms"
    )


if __name__ == "__main__":
    main()
