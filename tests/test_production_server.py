"""The production server as a user runs it: real processes on a loopback port."""

from __future__ import annotations

import json
import os
import shutil
import signal
import sqlite3
import subprocess
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import data_row
from tests.live_server import server_process

pytestmark = pytest.mark.process


def server_instance(process: subprocess.Popen) -> str:
    args = list(process.args)  # type: ignore[arg-type]
    return str(args[args.index("--instance-path") + 1])


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def post_json(url: str, body: object) -> tuple[int, dict]:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, json.loads(response.read())


@pytest.fixture
def server(trained_instance: Path, tmp_path: Path) -> Iterator[tuple[str, subprocess.Popen]]:
    instance = tmp_path / "instance"
    shutil.copytree(trained_instance / "models", instance / "models")
    with server_process(instance, workers=2) as (url, process):
        yield url, process


def test_serves_predictions_from_two_workers_and_stops_on_sigterm(
    server: tuple[str, subprocess.Popen],
) -> None:
    url, process = server
    for _ in range(40):
        status, body = post_json(url + "/api/diagnosis", data_row(0))
        assert status == 200
        assert body["diagnosis"] == "Malignant"
    status, metrics = get(url + "/metrics")
    assert status == 200
    # samples of both workers are aggregated (multiprocess mode): all 40 are counted
    line = next(
        x
        for x in metrics.decode().splitlines()
        if x.startswith("labserve_predictions_total{") and 'label="Malignant"' in x
    )
    assert float(line.rsplit(" ", 1)[1]) == 40.0
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=40) == 0
    # a clean shutdown loses no audit record: both workers flushed theirs on the way out
    instance = Path(server_instance(process))
    with sqlite3.connect(instance / "labserve.db") as connection:
        (count,) = connection.execute("SELECT count(*) FROM predictions").fetchone()
    assert count == 40


def test_streamed_files_and_large_bodies_are_served_from_request_threads(
    server: tuple[str, subprocess.Popen],
) -> None:
    """Short requests run on each worker's event loop; a streamed CSV and a body over the
    inline size take a request thread (labserve.hardening.runs_inline). Both are answered
    whole and right."""
    url, _ = server
    features = list(data_row(0))
    line = ",".join(str(data_row(0)[name]) for name in features)
    rows = 5_000
    request = urllib.request.Request(
        url + "/api/v1/models/diagnosis/predict.csv",
        data=("\n".join([",".join(features), *[line] * rows]) + "\n").encode(),
        headers={"Content-Type": "text/csv"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.headers.get("Content-Length") is None  # streamed, chunk by chunk
        scored = response.read().decode().splitlines()
    assert len(scored) == rows + 1
    assert all(",Malignant," in row for row in scored[1:])
    batch = {"inputs": [data_row(0)] * 1_000}
    assert len(json.dumps(batch)) > 64 * 1024
    status, body = post_json(url + "/api/v1/models/diagnosis/predict", batch)
    assert status == 200
    assert [p["label"] for p in body["predictions"]] == ["Malignant"] * 1_000
    assert post_json(url + "/api/diagnosis", data_row(0))[1]["diagnosis"] == "Malignant"


def test_an_installed_rloop_does_not_replace_the_event_loop(
    trained_instance: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """granian's default loop is rloop whenever that package is importable; behind the body
    guard its p99 was 75 to 102 ms against uvloop's 2.6 to 11 ms (docs/server.md). labserve
    names its loop, so a server started where an rloop that cannot make a loop is importable
    serves as before."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "rloop.py").write_text(
        "def new_event_loop():\n    raise RuntimeError('granian picked rloop')\n"
    )
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))
    )
    instance = tmp_path / "instance"
    shutil.copytree(trained_instance / "models", instance / "models")
    with server_process(instance, workers=1) as (url, _):
        status, body = post_json(url + "/api/diagnosis", data_row(0))
    assert status == 200
    assert body["diagnosis"] == "Malignant"
