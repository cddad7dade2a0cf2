"""A real deployment: the image on Docker Swarm with 3 replicas, PostgreSQL and Redis.

One scenario (a module fixture) deploys deploy/stack.yaml and drives predictions through the
published port on 127.0.0.1 while it
  1. fires a burst of 60 requests at a 30/minute limit (counts shared in Redis),
  2. lifts the limit with a rolling update, then under steady load
  3. kills one replica's container (``docker kill``) and waits for Swarm to replace it,
  4. rolls out a new image tag whose workers take 6 s longer to become ready,
then compares every answered request with the audit log in PostgreSQL. The tests below each
check one property of that run; the figures are printed at the end of the session.

Where the kernel has no IPVS (no routing mesh, no virtual IPs), the stack is deployed with an
HAProxy edge in front of DNS round robin instead (stack_tools.render_stack), and says so.
Everything the scenario starts is removed afterwards, also when it fails; the base images
(Debian + Python, and the PostgreSQL/Redis/HAProxy stand-ins) are kept as a build cache.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import yaml

from tests.deploy import stack_tools as st
from tests.deploy.conftest import missing

STACK = "lsdeploy"
V1 = "labserve-deploytest:v1"
V2 = "labserve-deploytest:v2"
RATE_LIMIT = 30
BURST = 60
LOAD_THREADS = 4
# requests a second per thread: steady traffic that leaves the 2 cores room to start replicas
LOAD_RATE = 25
# failures allowed at the kill: they must all start within this many seconds of it ...
KILL_SETTLE_SECONDS = 2.0
# ... and be at most this many (in flight on the replica, or accepted while it died)
MAX_KILL_FAILURES = 10


@dataclass
class Run:
    """What the scenario measured."""

    mesh: bool
    image_mb: float = 0.0
    ready_seconds: float = 0.0
    burst: list[st.Result] = field(default_factory=list)
    burst_per_replica: dict[str, int] = field(default_factory=dict)
    load: list[st.Result] = field(default_factory=list)
    t_kill: float = 0.0
    t_recovered: float = 0.0
    t_update: float = 0.0
    t_updated: float = 0.0
    update_state: str = ""
    gating_violations: list[str] = field(default_factory=list)
    gating_samples: int = 0
    # v2 containers: when first seen running but not yet healthy, when first seen healthy
    seen_starting: dict[str, float] = field(default_factory=dict)
    seen_healthy: dict[str, float] = field(default_factory=dict)
    starting_probes: set[str] = field(default_factory=set)
    early_restarts: list[str] = field(default_factory=list)
    limit_update_seconds: float = 0.0
    update_config: dict[str, Any] = field(default_factory=dict)
    audited: list[str] = field(default_factory=list)

    def answered(self) -> set[str]:
        return {r.request_id for r in self.burst + self.load if r.ok}

    def failures(self, start: float, end: float) -> list[st.Result]:
        return [r for r in self.load if not r.ok and st.in_window(r, start, end)]

    def kill_window(self) -> tuple[float, float]:
        return self.t_kill - 0.5, self.t_recovered

    def update_window(self) -> tuple[float, float]:
        return self.t_update, self.t_updated


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def docker_engine() -> None:
    problem = st.docker_problem()
    if problem:
        missing(problem)


@pytest.fixture(scope="module")
def images(docker_engine: None) -> Iterator[float]:
    try:
        started = time.monotonic()
        st.build_base_images()
        based = time.monotonic()
        st.build_labserve_image(V1, sys.executable)
        st.build_slow_image(V2, V1)
        st.SUMMARY["image builds"] = (
            f"base images {based - started:.0f} s (cached: skipped), "
            f"labserve {time.monotonic() - based:.0f} s"
        )
        yield st.image_size_mb(V1)
    finally:
        st.docker("rmi", V2, V1, check=False)


@pytest.fixture(scope="module")
def swarm(docker_engine: None) -> Iterator[None]:
    created = False
    if st.swarm_state() != "active":
        st.docker("swarm", "init", "--advertise-addr", "127.0.0.1")
        created = True
    yield
    if created:
        st.docker("swarm", "leave", "--force", check=False)


@pytest.fixture(scope="module")
def scenario(images: float, swarm: None) -> Iterator[Run]:
    mesh = st.kernel_has_ipvs()
    run = Run(mesh=mesh, image_mb=images)
    port = free_port()
    stack = st.new_stack(
        STACK,
        port,
        {
            "LABSERVE_IMAGE": V1,
            "POSTGRES_IMAGE": st.SERVICES_IMAGE,
            "REDIS_IMAGE": st.SERVICES_IMAGE,
            "EDGE_IMAGE": st.SERVICES_IMAGE,
            "LABSERVE_PORT": str(port),
            "LABSERVE_RATE_LIMIT": f"{RATE_LIMIT}/minute",
            "DATABASE_URL_SECRET": f"{STACK}_database_url",
            "POSTGRES_PASSWORD_SECRET": f"{STACK}_postgres_password",
            "SECRET_KEY_SECRET": f"{STACK}_secret_key",
        },
        mesh,
    )
    stack.remove()  # what a run that was itself killed may have left behind
    try:
        play(stack, run)
        yield run
    finally:
        stack.discard()
        summarize(run)


def play(stack: st.Stack, run: Run) -> None:
    # --- deploy, then wait until 3 healthy replicas answer through the published port ----
    started = time.monotonic()
    st.deploy_stack(stack)
    st.wait_for(
        "3 healthy labserve replicas",
        lambda: stack.converged("labserve", 3),
        deadline_s=240,
    )
    st.wait_for(
        "/readyz through the published port",
        lambda: st.get_status(stack.port, "/readyz") == 200,
        deadline_s=60,
    )
    run.ready_seconds = time.monotonic() - started
    if not run.mesh:
        # the edge finds replicas through DNS and its own checks, a moment after Swarm does
        st.wait_for(
            "the edge sends to 3 replicas", lambda: stack.edge_servers_up() == 3, deadline_s=30
        )

    # --- 1. the rate limit: a burst of 60 from one client against 30/minute ----------------
    run.burst = st.burst(stack.port, "dt-burst", BURST)
    for container in stack.healthy("labserve"):
        metrics = st.docker(
            "exec", container.id, "python3", "-c",
            "import urllib.request;"
            "print(urllib.request.urlopen('http://127.0.0.1:8000/metrics').read().decode())",
        )  # fmt: skip
        run.burst_per_replica[container.id[:12]] = posted_requests(metrics)

    # --- 2. lift the limit (a rolling update of its own) before the load ------------------
    lifting = time.monotonic()
    # All replicas at once and a short monitor: this is plumbing, not the rollout under test
    # (that one, below, puts the update settings of deploy/stack.yaml back).
    st.docker(
        "service", "update", "--detach", "--no-resolve-image",
        "--update-parallelism", "3", "--update-monitor", "5s",
        "--env-add", "LABSERVE_RATE_LIMIT=1000000/minute", stack.service("labserve"),
    )  # fmt: skip
    st.wait_for(
        "replicas without the 30/minute limit",
        lambda: stack.converged(
            "labserve", 3, lambda c: c.env.get("LABSERVE_RATE_LIMIT") == "1000000/minute"
        ),
        deadline_s=180,
    )
    # Until the update's monitor period is over, a replica that dies counts as a failed
    # update and Swarm rolls back to the 30/minute limit: let it finish first.
    st.wait_for(
        "the limit update completed",
        lambda: stack.update_state("labserve") == "completed",
        deadline_s=90,
    )
    run.early_restarts = failed_tasks(stack)
    run.limit_update_seconds = time.monotonic() - lifting

    # --- 3. steady load; kill one replica; 4. roll out v2 --------------------------------
    load = st.Load(
        stack.port, "dt-load", threads=LOAD_THREADS, max_seconds=300, rate_per_thread=LOAD_RATE
    ).start()
    try:
        st.wait_for("load flowing", lambda: load.done() >= 300, deadline_s=30, interval=0.2)
        victim = stack.healthy("labserve")[0]
        run.t_kill = time.monotonic()
        st.docker("kill", victim.id)
        st.wait_for(
            "a replacement for the killed replica",
            lambda: stack.converged("labserve", 3) and victim.id not in running_ids(stack),
            deadline_s=120,
        )
        run.t_recovered = time.monotonic()
        steady = load.done()
        st.wait_for("steady load again", lambda: load.done() >= steady + 200, deadline_s=30)

        run.t_update = time.monotonic()
        update = stack_update_config()
        st.docker(
            "service", "update", "--detach", "--no-resolve-image", "--image", V2,
            "--update-parallelism", str(update["parallelism"]),
            "--update-monitor", update["monitor"], stack.service("labserve"),
        )  # fmt: skip
        deadline = time.monotonic() + 240
        while not stack.converged("labserve", 3, lambda c: c.image == V2):
            if time.monotonic() > deadline:
                raise st.DeployError("the rollout to v2 did not converge in 240 s")
            check_gating(stack, run)
            time.sleep(0.5)
        run.t_updated = time.monotonic()
        steady = load.done()
        st.wait_for("load after the rollout", lambda: load.done() >= steady + 200, deadline_s=30)
    finally:
        run.load = load.stop()
    run.update_state = stack.update_state("labserve")
    run.update_config = json.loads(
        st.docker(
            "service",
            "inspect",
            "--format",
            "{{json .Spec.UpdateConfig}}",
            stack.service("labserve"),
        )  # fmt: skip
    )

    # --- 5. the audit log: wait (bounded) until every answered request is there -----------
    answered = run.answered()

    query = "SELECT request_id FROM predictions WHERE request_id LIKE 'dt-%'"

    def audited_all() -> bool:
        run.audited = list(st.iter_lines(stack.psql(query)))
        return answered <= set(run.audited)

    with contextlib.suppress(st.DeployError):  # the tests below report what is missing
        st.wait_for("every answered request in the audit log", audited_all, deadline_s=20)


def stack_update_config() -> dict[str, Any]:
    stack = yaml.safe_load((st.ROOT / "deploy/stack.yaml").read_text())
    return dict(stack["services"]["labserve"]["deploy"]["update_config"])


def failed_tasks(stack: st.Stack) -> list[str]:
    """Errors of labserve tasks that failed so far (e.g. started before PostgreSQL was up)."""
    lines = st.docker(
        "service", "ps", "--no-trunc", "--filter", "desired-state=shutdown",
        "--format", "{{.CurrentState}}|{{.Error}}", stack.service("labserve"),
    )  # fmt: skip
    return [line.split("|", 1)[1] for line in st.iter_lines(lines) if line.startswith("Failed")]


def running_ids(stack: st.Stack) -> set[str]:
    return {c.id for c in stack.containers("labserve") if c.running}


def posted_requests(metrics: str) -> int:
    """POST requests a replica answered, from its /metrics (all its workers)."""
    total = 0.0
    for line in metrics.splitlines():
        if line.startswith("labserve_http_requests_total{") and 'method="POST"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def check_gating(stack: st.Stack, run: Run) -> None:
    """Docker's DNS must not list a replica whose container is still starting.

    DNS first, container health second: a container listed at t1 was healthy at t1, and
    health never goes back to 'starting', so seeing 'starting' at t2 > t1 is a violation.
    The routing mesh's virtual IP follows the same membership.
    """
    try:
        answer = stack.exec_in("postgres", "getent", "ahostsv4", "tasks.labserve", timeout=10)
    except st.DeployError:
        answer = ""  # no healthy replica listed at all (never the case mid-rollout)
    listed = {line.split()[0] for line in st.iter_lines(answer)}
    now = time.monotonic()
    run.gating_samples += 1
    for container in stack.containers("labserve"):
        if not container.running or container.image != V2:
            continue
        if container.health == "starting":
            run.seen_starting.setdefault(container.id, now)
            if container.last_probe:
                run.starting_probes.add(container.last_probe[:60])
            if container.ip in listed:
                run.gating_violations.append(f"{container.id[:12]} listed while starting")
        elif container.health == "healthy":
            run.seen_healthy.setdefault(container.id, now)


def not_ready_seconds(run: Run) -> list[float]:
    """How long each v2 replica was seen up but not ready (a lower bound)."""
    return sorted(
        round(run.seen_healthy[cid] - started, 1)
        for cid, started in run.seen_starting.items()
        if cid in run.seen_healthy
    )


def summarize(run: Run) -> None:
    answered = run.answered()
    audited = set(run.audited)
    kill = run.failures(*run.kill_window()) if run.t_kill else []
    update = run.failures(*run.update_window()) if run.t_update else []
    latencies = [r.end - r.start for r in run.load if r.ok]
    st.SUMMARY.update(
        {
            "front door": "Swarm routing mesh" if run.mesh else "HAProxy edge (kernel has no IPVS)",
            "image size": f"{run.image_mb:.0f} MB",
            "stack deploy -> 3 replicas ready": f"{run.ready_seconds:.1f} s "
            f"({len(run.early_restarts)} replica starts failed on the way: "
            f"{sorted(set(run.early_restarts))})",
            "burst 60 at 30/minute": f"{sum(r.status != 429 for r in run.burst)} not 429, "
            f"{sum(r.status == 429 for r in run.burst)} x 429; "
            f"per replica {sorted(run.burst_per_replica.values())}",
            "update lifting the limit": f"{run.limit_update_seconds:.0f} s (all at once)",
            "load requests": f"{len(run.load)} ({sum(r.ok for r in run.load)} answered 2xx), "
            f"p99 {st.percentile(latencies, 0.99) * 1000:.0f} ms",
            "failed at the kill": f"{len(kill)}, started at "
            f"{[round(r.start - run.t_kill, 2) for r in kill]} s from the kill, "
            f"{sorted({r.error.split('(')[0] or str(r.status) for r in kill})} "
            f"(3 healthy replicas again after {run.t_recovered - run.t_kill:.1f} s)",
            "failed during the rollout": f"{len(update)} "
            f"(rollout {run.t_updated - run.t_update:.1f} s, state {run.update_state!r})",
            "gating": f"{len(run.gating_violations)} violations in {run.gating_samples} samples; "
            f"v2 replicas seen up but not ready for {not_ready_seconds(run)} s "
            f"(their probe said {sorted(run.starting_probes)[:2]})",
            "audit": f"{len(answered)} answered, {len(audited & answered)} in the log, "
            f"{len(answered - audited)} lost, {len(audited - answered)} logged but unanswered, "
            f"{len(run.audited) - len(audited)} duplicates",
        }
    )


# --- the properties -----------------------------------------------------------------------


def test_image_is_small_and_unprivileged(images: float) -> None:
    user = st.docker("image", "inspect", "--format", "{{.Config.User}}", V1)
    ports = st.docker("image", "inspect", "--format", "{{json .Config.ExposedPorts}}", V1)
    health = st.docker("image", "inspect", "--format", "{{json .Config.Healthcheck}}", V1)
    assert user.split(":")[0] not in ("", "0", "root")
    assert "8000/tcp" in ports
    assert "labserve-healthcheck" in health
    tools = st.docker(
        "run", "--rm", "--entrypoint", "sh", V1, "-c",
        "for t in gcc cc g++ make pip curl; do command -v $t || true; done;"
        " python3 -c 'import importlib.util as u; print(u.find_spec(\"torch\"))'",
    )  # fmt: skip
    assert tools.split() == ["None"], f"the image carries {tools!r}"
    assert images < 700, f"image is {images:.0f} MB"


def test_deploys_and_gets_ready(scenario: Run) -> None:
    assert scenario.ready_seconds < 240


def test_rate_limit_holds_across_replicas(scenario: Run) -> None:
    statuses = [r.status for r in scenario.burst]
    assert statuses.count(429) == BURST - RATE_LIMIT, statuses
    assert sum(s != 429 for s in statuses) == RATE_LIMIT
    assert all(r.ok or r.status == 429 for r in scenario.burst), statuses
    # the burst really was spread: at least two replicas answered part of it
    assert sum(n > 0 for n in scenario.burst_per_replica.values()) >= 2, scenario.burst_per_replica


def test_killing_a_replica_fails_only_requests_around_the_kill(scenario: Run) -> None:
    failed = scenario.failures(*scenario.kill_window())
    late = [r for r in failed if r.start > scenario.t_kill + KILL_SETTLE_SECONDS]
    # requests in flight on the killed replica, and those it took in while it was torn down;
    # after that the front door sends nothing more its way
    assert late == [], [(round(r.start - scenario.t_kill, 2), r.status, r.error) for r in late]
    assert len(failed) <= MAX_KILL_FAILURES, [(r.status, r.error) for r in failed]


def test_rolling_update_fails_no_request(scenario: Run) -> None:
    failed = scenario.failures(*scenario.update_window())
    assert failed == [], [(r.request_id, r.status, r.error) for r in failed][:20]
    assert scenario.update_state in ("updating", "completed"), scenario.update_state
    # the rollout ran with the update settings of deploy/stack.yaml
    config = scenario.update_config
    documented = stack_update_config()
    assert config["Parallelism"] == documented["parallelism"]
    assert config["Order"] == documented["order"]
    assert config["FailureAction"] == documented["failure_action"]
    assert config["Monitor"] == int(documented["monitor"].rstrip("s")) * 10**9


def test_no_failures_outside_the_kill(scenario: Run) -> None:
    outside = [
        r for r in scenario.load if not r.ok and not st.in_window(r, *scenario.kill_window())
    ]
    assert outside == [], [(r.request_id, r.status, r.error) for r in outside][:20]


def test_readiness_gates_traffic(scenario: Run) -> None:
    assert scenario.gating_samples > 0
    assert scenario.gating_violations == []
    # the v2 replicas were up but not ready for a while (each worker sleeps 6 s first), so
    # gating had something to hold back; a request sent to one would have waited for it
    waits = not_ready_seconds(scenario)
    assert len(waits) == 3, waits
    assert min(waits) >= 4, waits
    during = [r for r in scenario.load if st.in_window(r, *scenario.update_window())]
    assert max(r.end - r.start for r in during) < 4, "a request waited on a replica still loading"


def test_every_answered_prediction_is_audited(scenario: Run) -> None:
    answered = scenario.answered()
    audited = set(scenario.audited)
    lost = sorted(answered - audited)
    assert not lost, f"{len(lost)} answered predictions missing from the audit log: {lost[:10]}"
    assert len(scenario.audited) == len(audited), "duplicate audit records"
    # a record may exist for a request whose answer was lost with the killed replica
    unanswered = audited - answered
    kill_failures = {r.request_id for r in scenario.failures(*scenario.kill_window())}
    assert unanswered <= kill_failures, sorted(unanswered - kill_failures)[:10]
