"""The deployment files agree with the image and the app: ports, probes, variables, grace.

The Kubernetes manifests are rendered with ``kubectl kustomize`` (or ``kustomize build``),
exactly as ``kubectl apply -k deploy/kubernetes`` would send them. No cluster is needed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from labserve.server import GRACEFUL_SECONDS
from labserve.settings import SECRET_FILE_SETTINGS, Settings
from tests.deploy.conftest import ROOT, missing

KUSTOMIZATION = ROOT / "deploy/kubernetes"


def dockerfile_runtime() -> dict[str, str]:
    """EXPOSE, USER and HEALTHCHECK of the Dockerfile's final stage."""
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    final = text[text.rindex("\nFROM ") :]
    found: dict[str, str] = {}
    for instruction in ("EXPOSE", "USER", "HEALTHCHECK"):
        match = re.search(rf"^{instruction} (.+)", final, re.MULTILINE)
        assert match, f"no {instruction} in the runtime stage"
        found[instruction] = match.group(1)
    return found


def image_port() -> int:
    exposed = int(dockerfile_runtime()["EXPOSE"].split("/")[0])
    entrypoint = (ROOT / "deploy/docker/entrypoint.sh").read_text()
    assert f"--port {exposed}" in entrypoint, "the entrypoint serves on another port"
    return exposed


def image_uid() -> int:
    return int(dockerfile_runtime()["USER"].split(":")[0])


def known_variables() -> set[str]:
    """Every LABSERVE_* name the app (or the image's entrypoint) reads."""
    names = {f"LABSERVE_{key.upper()}" for key in Settings.model_fields}
    names.add("LABSERVE_WORKERS")  # `labserve serve --workers`
    return names | {f"LABSERVE_{key.upper()}_FILE" for key in SECRET_FILE_SETTINGS}


def assert_known(variables: set[str], where: str) -> None:
    unknown = {v for v in variables if v.startswith("LABSERVE_")} - known_variables()
    assert not unknown, f"{where} sets variables labserve does not read: {sorted(unknown)}"


@pytest.fixture(scope="module")
def rendered() -> dict[str, dict[str, Any]]:
    if kubectl := shutil.which("kubectl"):
        command = [kubectl, "kustomize", str(KUSTOMIZATION)]
    elif kustomize := shutil.which("kustomize"):
        command = [kustomize, "build", str(KUSTOMIZATION)]
    else:
        missing("neither kubectl nor kustomize is installed (scripts/install-docker adds kubectl)")
    result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    documents = [doc for doc in yaml.safe_load_all(result.stdout) if doc]
    return {doc["kind"]: doc for doc in documents}


def container(rendered: dict[str, dict[str, Any]]) -> dict[str, Any]:
    containers = rendered["Deployment"]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return dict(containers[0])


def test_every_resource_is_there(rendered: dict[str, dict[str, Any]]) -> None:
    assert set(rendered) == {
        "ConfigMap",
        "Secret",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "HorizontalPodAutoscaler",
    }


def test_probes_and_ports_match_the_image(rendered: dict[str, dict[str, Any]]) -> None:
    spec = container(rendered)
    ports = {port["name"]: port["containerPort"] for port in spec["ports"]}
    assert ports == {"http": image_port()}
    assert spec["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert spec["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert spec["startupProbe"]["httpGet"]["path"] == "/healthz"
    service_ports = rendered["Service"]["spec"]["ports"]
    assert [port["targetPort"] for port in service_ports] == ["http"]


def test_the_app_reads_every_variable(rendered: dict[str, dict[str, Any]]) -> None:
    spec = container(rendered)
    variables = set(rendered["ConfigMap"]["data"]) | {item["name"] for item in spec["env"]}
    assert_known(variables, "deploy/kubernetes")
    assert "LABSERVE_DATABASE_URL_FILE" in variables
    assert spec["envFrom"] == [
        {"configMapRef": {"name": rendered["ConfigMap"]["metadata"]["name"]}}
    ]


def test_database_url_comes_from_the_secret_file(rendered: dict[str, dict[str, Any]]) -> None:
    spec = container(rendered)
    path = next(e["value"] for e in spec["env"] if e["name"] == "LABSERVE_DATABASE_URL_FILE")
    pod = rendered["Deployment"]["spec"]["template"]["spec"]
    mounts = {m["name"]: m["mountPath"] for m in spec["volumeMounts"]}
    volume = next(v for v in pod["volumes"] if "secret" in v)
    item = volume["secret"]["items"][0]
    assert path == f"{mounts[volume['name']]}/{item['path']}"
    secret = rendered["Secret"]
    assert volume["secret"]["secretName"] == secret["metadata"]["name"]
    assert "CHANGE-ME" in secret["stringData"][item["key"]], "the Secret must stay a placeholder"


def test_runs_as_the_image_user_without_privileges(rendered: dict[str, dict[str, Any]]) -> None:
    pod = rendered["Deployment"]["spec"]["template"]["spec"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == image_uid() != 0
    context = container(rendered)["securityContext"]
    assert context["allowPrivilegeEscalation"] is False
    assert context["capabilities"]["drop"] == ["ALL"]
    resources = container(rendered)["resources"]
    assert resources["requests"]["cpu"]
    assert resources["requests"]["memory"]
    assert resources["limits"]["memory"]


def test_selectors_and_targets_agree(rendered: dict[str, dict[str, Any]]) -> None:
    deployment = rendered["Deployment"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    for kind in ("Service", "PodDisruptionBudget"):
        spec = rendered[kind]["spec"]
        selector = spec["selector"].get("matchLabels", spec["selector"])
        assert selector.items() <= labels.items(), kind
    target = rendered["HorizontalPodAutoscaler"]["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    assert "replicas" not in deployment["spec"], "the autoscaler owns the replica count"
    strategy = deployment["spec"]["strategy"]["rollingUpdate"]
    assert strategy["maxUnavailable"] == 0


def test_termination_grace_outlasts_the_drain(rendered: dict[str, dict[str, Any]]) -> None:
    pod = rendered["Deployment"]["spec"]["template"]["spec"]
    pre_stop = container(rendered)["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert pod["terminationGracePeriodSeconds"] > int(pre_stop[1]) + GRACEFUL_SECONDS


def seconds(duration: str) -> int:
    match = re.fullmatch(r"(\d+)s", duration)
    assert match, duration
    return int(match.group(1))


@pytest.mark.parametrize("name", ["stack.yaml", "compose.yaml"])
def test_compose_files_match_the_image(name: str) -> None:
    services = yaml.safe_load((ROOT / "deploy" / name).read_text())["services"]
    labserve = services["labserve"]
    assert_known(set(labserve["environment"]), f"deploy/{name}")
    assert labserve["environment"]["LABSERVE_DATABASE_URL_FILE"].startswith("/run/secrets/")
    assert seconds(labserve["stop_grace_period"]) > GRACEFUL_SECONDS
    ports = labserve["ports"]
    targets = [p["target"] if isinstance(p, dict) else int(p.rsplit(":", 1)[1]) for p in ports]
    assert targets == [image_port()]
    for image in ("postgres", "redis"):
        assert services[image]["image"].startswith("${"), "the test substitutes these images"


def test_stack_rolls_out_health_gated() -> None:
    labserve = yaml.safe_load((ROOT / "deploy/stack.yaml").read_text())["services"]["labserve"]
    deploy = labserve["deploy"]
    assert deploy["replicas"] == 3
    update = deploy["update_config"]
    assert (update["order"], update["failure_action"]) == ("start-first", "rollback")
    assert seconds(update["monitor"]) > 0
    assert deploy["restart_policy"]["condition"] == "any"
    assert labserve["healthcheck"]["test"][-1] == "/usr/local/bin/labserve-healthcheck"
    assert "labserve-healthcheck" in dockerfile_runtime()["HEALTHCHECK"]
    healthcheck = (ROOT / "deploy/docker/healthcheck.py").read_text()
    assert '"/readyz"' in healthcheck


def test_image_context_is_an_allow_list() -> None:
    lines = [
        line
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", ".dockerignore must start by leaving everything out"
    assert not any("secret" in line or "instance" in line for line in lines if line[0] == "!")


def test_no_real_secret_in_deploy_files() -> None:
    for path in Path(ROOT / "deploy").rglob("*.yaml"):
        text = path.read_text()
        for url in re.findall(r"postgresql\+psycopg://[^\s'\"]+", text):
            password = url.split("://", 1)[1].split("@")[0].split(":", 1)[1]
            assert password in ("CHANGE-ME", "%s", "..."), f"{path}: {url}"
