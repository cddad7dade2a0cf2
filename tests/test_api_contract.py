"""The OpenAPI document is exactly what the server does: Schemathesis against a live server.

Schemathesis reads the document the server publishes and sends what it describes (the
examples, the boundaries of every schema, then generated requests) and what it forbids (the
negative cases), and runs every check on each answer: no 5xx, only documented statuses,
content types and headers, answers that match their schema, valid data accepted, invalid data
refused, keys enforced where required. Any difference between the document and the server is
a failure. The lab models are served too, so each kind of per-model schema is exercised.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from labserve.db import make_engine, upgrade_database
from labserve.db.keys import create_key
from labserve.models.store import ModelStore
from labserve.settings import Settings
from tests.live_server import production_server
from tests.model_fixtures import LabModel

pytestmark = pytest.mark.process

LAB_MODELS = ("wine", "diabetes", "categorical")
#: The coverage phase sends arrays of exactly ``maxItems`` rows; a small batch limit (which
#: the document states, as it states any setting) keeps the run within a minute.
MAX_BATCH_ROWS = 20
SCHEMATHESIS = [
    sys.executable,
    "-m",
    "schemathesis.cli",
    "run",
    "--checks=all",
    "--mode=all",  # positive and negative cases
    "--phases=examples,coverage,fuzzing",
    "--generation-deterministic",  # the same cases on every run, no example database
    "--workers=1",
    "--no-color",
]
DEADLINE_S = 600  # a hung run fails instead of hanging the suite


@pytest.fixture
def lab_instance_with_models(
    lab_instance: Path, lab_store: ModelStore, lab_models: dict[str, LabModel]
) -> Path:
    """The built-in models and three lab models: a classifier, a regressor, a pipeline with
    a category."""
    for name in LAB_MODELS:
        lab_store.add(name, lab_models[name].folder, source=f"test {name}")
    return lab_instance


def fetch_document(url: str, headers: dict[str, str], folder: Path) -> tuple[Path, dict[str, Any]]:
    """The published document, checked as OpenAPI 3.1 and saved for Schemathesis to read
    (from a file, so that the route serving it is tested like any other)."""
    request = urllib.request.Request(url + "/api/v1/openapi.json", headers=headers)
    with urllib.request.urlopen(request, timeout=30) as response:
        document = json.load(response)
    validate(document)
    path = folder / "openapi.json"
    path.write_text(json.dumps(document), encoding="utf-8")
    return path, document


def run_schemathesis(document: Path, url: str, *options: str) -> str:
    """Run the CLI; fail with its report unless it found nothing. Returns its output."""
    result = subprocess.run(
        [*SCHEMATHESIS, str(document), f"--url={url}", *options],
        cwd=document.parent,
        capture_output=True,
        text=True,
        timeout=DEADLINE_S,
        check=False,
    )
    report = result.stdout + result.stderr
    assert result.returncode == 0, report
    assert "No issues found" in report, report
    return report


def issue_key(instance: Path) -> str:
    """An API key in the instance's database (created, with its tables, before the server)."""
    url = Settings.load({"instance_path": instance}).resolved_database_url()
    upgrade_database(url)
    engine = make_engine(url)
    try:
        return create_key(engine, "contract", scopes=("predict", "audit:read", "metrics"))
    finally:
        engine.dispose()


def operations(document: dict[str, Any]) -> int:
    return sum(len(item) for item in document["paths"].values())


def operations_tested(report: str) -> int:
    found = re.search(r"Tested: (\d+)", report)
    assert found is not None, report
    return int(found[1])


def test_the_document_is_exact_for_the_default_server(
    lab_instance_with_models: Path, tmp_path: Path
) -> None:
    """Keys optional, no rate limit: the set-up most labs run."""
    settings = {"MAX_BATCH_ROWS": str(MAX_BATCH_ROWS)}
    with production_server(lab_instance_with_models, settings) as url:
        path, document = fetch_document(url, {}, tmp_path)
        for name in (*LAB_MODELS, "diagnosis"):
            assert f"/api/v1/models/{name}/predict.csv" in document["paths"]
        report = run_schemathesis(path, url, "--max-examples=15")
    assert operations_tested(report) == operations(document) == 27
    generated = re.search(r"(\d+) generated, (\d+) passed", report)
    assert generated is not None, report
    assert generated[1] == generated[2], report


def test_the_document_is_exact_when_keys_are_required(
    lab_instance_with_models: Path, tmp_path: Path
) -> None:
    """Keys required and a rate limit on: 401 without a valid key (Schemathesis tries without
    one, and with a wrong one), 429 and ``Retry-After`` documented. A few operations of each
    shape are enough here; the run above covers every schema."""
    key = issue_key(lab_instance_with_models)
    settings = {
        "MAX_BATCH_ROWS": str(MAX_BATCH_ROWS),
        "REQUIRE_API_KEY": "true",
        "RATE_LIMIT": "100000/minute",
    }
    with production_server(lab_instance_with_models, settings) as url:
        path, document = fetch_document(url, {"Authorization": f"Bearer {key}"}, tmp_path)
        operation = document["paths"]["/api/v1/models"]["get"]
        assert operation["security"] == [{"bearer": []}, {"apiKey": []}]
        assert {"401", "429"} <= set(operation["responses"])
        run_schemathesis(
            path,
            url,
            f"--header=Authorization: Bearer {key}",
            "--include-path-regex=^(/metrics|/api/v1/(models|predictions|models/wine(/predict)?))$",
            "--max-examples=5",
        )
