"""The production server: granian running the WSGI app in N worker processes.

Chosen by measurement (docs/server.md): on this 2-core machine, 2 workers and 8 connections,
a bare Flask JSON echo answered 14,860 req/s under granian against 5,820 under gunicorn's
sync workers and 2,130 under gthread. Each worker builds its own app from the one
``Settings`` object the CLI read (handed over as an argument, not through the environment),
so models load once per worker, before it accepts connections. On SIGTERM granian stops
accepting, lets in-flight requests finish (up to ``GRACEFUL_SECONDS``), and each worker
flushes its audit records on the way out.
"""

from __future__ import annotations

import os
import shutil
from functools import partial
from pathlib import Path

from labserve.settings import Settings

GRACEFUL_SECONDS = 30


def prepare_metrics_dir(instance_path: Path) -> Path:
    """A fresh folder where every worker writes Prometheus samples (multiprocess mode)."""
    directory = instance_path / "prometheus"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def run_production(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve until SIGINT/SIGTERM."""
    from granian import Granian

    # prometheus_client reads this variable when the metrics module is imported; it is the
    # library's only switch for multiprocess mode, so it is the one variable set here (our
    # settings travel as an argument) and it is set before the web layer is imported.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prepare_metrics_dir(settings.instance_path))
    from labserve import hardening  # issue 13; imports the web layer, so after the line above

    # Each worker loads its models before it accepts a connection (callers wait in the listen
    # backlog), so no request ever reaches a worker that is still loading; the schema was
    # migrated once by the caller, so workers never race to do it.
    worker_settings = settings.replace(load_models="sync", migrate_on_start=False)
    # -- issue 13: slow clients, shared rate limits (labserve/hardening.py) -----------------
    worker_settings = hardening.worker_settings(worker_settings)
    Granian(
        "labserve.hardening:guarded_app_from_settings",
        address=host,
        port=port,
        workers=workers,
        workers_kill_timeout=GRACEFUL_SECONDS,
        respawn_failed_workers=True,
        log_access=False,
        **hardening.granian_options(settings, workers),
    ).serve(
        target_loader=partial(hardening.guarded_app_from_settings, worker_settings),
        wrap_loader=False,
    )
    # -- end issue 13 ------------------------------------------------------------------------
