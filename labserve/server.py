"""The production server: granian running the WSGI app in N worker processes.

Chosen by measurement (docs/server.md): on this 2-core machine, 2 workers and 8 connections,
a bare Flask JSON echo answered 14,860 req/s under granian against 5,820 under gunicorn's
sync workers and 2,130 under gthread. Each worker builds its own app, so models load once
per worker; /readyz answers 503 in a worker until its models have loaded. On SIGTERM granian
stops accepting, lets in-flight requests finish (up to ``GRACEFUL_SECONDS``), and each worker
flushes its audit records on the way out.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

GRACEFUL_SECONDS = 30


def prepare_metrics_dir(instance_path: Path) -> Path:
    """A fresh folder where every worker writes Prometheus samples (multiprocess mode)."""
    directory = instance_path / "prometheus"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def run_production(host: str, port: int, workers: int, instance_path: Path) -> None:
    """Serve until SIGINT/SIGTERM. Settings reach the workers through LABSERVE_* variables."""
    from granian import Granian
    from granian.constants import Interfaces

    os.environ["LABSERVE_INSTANCE_PATH"] = str(instance_path)
    # Each worker loads its models before it accepts a connection (callers wait in the listen
    # backlog), so no request ever reaches a worker that is still loading.
    os.environ.setdefault("LABSERVE_LOAD_MODELS", "sync")
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prepare_metrics_dir(instance_path))
    Granian(
        "labserve.web:create_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.WSGI,
        workers=workers,
        workers_kill_timeout=GRACEFUL_SECONDS,
        respawn_failed_workers=True,
        log_access=False,
    ).serve()
