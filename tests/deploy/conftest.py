"""Deployment tests: the container image, the Swarm stack, the Kubernetes manifests.

Every test in this folder carries the ``deploy`` marker (``pytest -m "not deploy"`` leaves
them out). They need root, Docker (installed and started by ``scripts/install-docker``) and
kubectl; in CI (``CI=true``) a missing capability fails with the reason, elsewhere it skips.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "deploy: container image, Swarm stack and Kubernetes manifests (tests/deploy)"
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in Path(str(item.fspath)).resolve().parents:
            item.add_marker(pytest.mark.deploy)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    from tests.deploy.stack_tools import SUMMARY

    if SUMMARY:
        terminalreporter.section("deploy: figures of this run")
        for name, value in SUMMARY.items():
            terminalreporter.write_line(f"{name:>34}: {value}")


def missing(reason: str) -> NoReturn:
    """A capability the test needs is not there: fail in CI, skip elsewhere."""
    if os.environ.get("CI"):
        pytest.fail(f"CI must run the deploy tests, but: {reason}", pytrace=False)
    pytest.skip(reason)
