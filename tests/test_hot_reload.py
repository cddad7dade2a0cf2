"""A running two-worker server follows the model store: a model added, a version promoted, a
rollback, each served by every worker within 5 seconds, with no request failing meanwhile."""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labserve.models.store import ModelStore
from tests.live_server import production_server
from tests.model_fixtures import LabModel

pytestmark = pytest.mark.process

SWITCH_DEADLINE = 5.0
#: Consecutive answers from the new version that show every worker switched (two workers
#: share the listening socket and four clients keep both busy).
SETTLED = 200


@dataclass
class Traffic:
    """Requests made by the load threads: (time, version) of each answer, and failures."""

    answers: list[tuple[float, str]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def since(self, moment: float) -> list[tuple[float, str]]:
        with self.lock:
            return [a for a in self.answers if a[0] >= moment]


def post(url: str, body: object) -> dict[str, Any]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # a new connection each time
        return json.loads(response.read())  # type: ignore[no-any-return]


def drive(url: str, row: dict[str, Any], traffic: Traffic) -> None:
    while not traffic.stop.is_set():
        try:
            version = post(url, {"inputs": [row]})["version"]
        except (OSError, urllib.error.HTTPError, ValueError) as exc:
            with traffic.lock:
                traffic.failures.append(repr(exc))
            continue
        with traffic.lock:
            traffic.answers.append((time.monotonic(), version))


def time_to_switch(traffic: Traffic, started: float, version: str) -> float:
    """Seconds from ``started`` until every answer is from ``version`` (``SETTLED`` in a row)."""
    deadline = started + SWITCH_DEADLINE + 10
    while time.monotonic() < deadline:
        answers = traffic.since(started)
        last_other = max((t for t, v in answers if v != version), default=started)
        settled = [a for a in answers if a[0] > last_other]
        if len(settled) >= SETTLED:
            return last_other - started
        time.sleep(0.05)
    raise AssertionError(f"version {version} not served everywhere after {deadline - started}s")


@pytest.fixture
def server(lab_instance: Path, lab_models: dict[str, LabModel]) -> Iterator[str]:
    ModelStore(lab_instance / "models").add("wine", lab_models["wine"].folder)
    with production_server(lab_instance, workers=2) as url:
        yield url


def test_add_promote_and_roll_back_under_load(
    server: str, lab_instance: Path, lab_models: dict[str, LabModel]
) -> None:
    from click.testing import CliRunner

    from labserve import cli

    wine = lab_models["wine"]
    row = {k: v.item() if isinstance(v, np.generic) else v for k, v in wine.X.iloc[0].items()}
    traffic = Traffic()
    threads = [
        threading.Thread(target=drive, args=(server + "/api/v1/models/wine/predict", row, traffic))
        for _ in range(4)
    ]
    for thread in threads:
        thread.start()

    def command(*args: str) -> float:
        result = CliRunner().invoke(cli.main, [*args, "--instance-path", str(lab_instance)])
        assert result.exit_code == 0, result.output
        return time.monotonic()

    try:
        time_to_switch(traffic, time.monotonic(), "1")
        promoted = command("models", "add", "wine", str(wine.folder), "--promote")
        to_new = time_to_switch(traffic, promoted, "2")
        rolled_back = command("models", "promote", "wine", "1")
        to_old = time_to_switch(traffic, rolled_back, "1")
        added = command("models", "add", "diabetes", str(lab_models["diabetes"].folder))
        while True:
            try:
                with urllib.request.urlopen(server + "/api/v1/models/diabetes", timeout=5):
                    break
            except urllib.error.HTTPError:
                assert time.monotonic() - added < SWITCH_DEADLINE
                time.sleep(0.05)
        to_added = time.monotonic() - added
    finally:
        traffic.stop.set()
        for thread in threads:
            thread.join(15)
    print(
        f"\nswitch to every worker: promote {to_new:.2f}s, rollback {to_old:.2f}s, "
        f"new model {to_added:.2f}s; {len(traffic.answers)} answers, "
        f"{len(traffic.failures)} failures"
    )
    assert traffic.failures == []
    assert to_new < SWITCH_DEADLINE
    assert to_old < SWITCH_DEADLINE
    assert to_added < SWITCH_DEADLINE
