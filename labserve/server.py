"""The production server: granian in N worker processes, each running the Flask app behind
``labserve.hardening``'s body guard over granian's RSGI interface.

Chosen by measurement (docs/server.md): on this 2-core machine, 2 workers and 8 connections,
a bare Flask JSON echo answered 14,860 req/s under granian against 5,820 under gunicorn's
sync workers and 2,130 under gthread; the guard (bodies read on the event loop, so slow
clients hold no thread) is what keeps trickling clients from starving it. Each worker builds
its own app from the one ``Settings`` object the CLI read (handed over as an argument, not
through the environment), so models load once per worker, before it accepts connections. On
SIGTERM granian stops accepting and lets in-flight requests finish (up to
``GRACEFUL_SECONDS``); every answered prediction is already in the journal, and the shipper
process ships what it can before it stops.
"""

from __future__ import annotations

import os
import shutil
from functools import partial
from pathlib import Path

from labserve.journal import start_shipper_process, stop_shipper_process
from labserve.settings import Settings

GRACEFUL_SECONDS = 30
#: The shipper's last round on the way out; anything it cannot ship by then waits in the
#: journal for the next start, so a database that is down cannot hold up a shutdown.
SHIPPER_STOP_SECONDS = 3.0


def prepare_metrics_dir(instance_path: Path) -> Path:
    """A fresh folder where every worker writes Prometheus samples (multiprocess mode)."""
    directory = instance_path / "prometheus"
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    return directory


def run_production(settings: Settings, host: str, port: int, workers: int) -> None:
    """Serve until SIGINT/SIGTERM."""
    # prometheus_client reads this variable when the metrics module is imported; it is the
    # library's only switch for multiprocess mode, so it is the one variable set here (our
    # settings travel as an argument) and it is set before the web layer is imported.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(prepare_metrics_dir(settings.instance_path))
    from labserve import hardening  # its functions import the web layer: after the line above

    # Each worker loads its models before it accepts a connection (callers wait in the listen
    # backlog), so no request ever reaches a worker that is still loading; the schema was
    # migrated once by the caller, so workers never race to do it.
    # Rate-limit counts without Redis are shared by the workers (labserve/hardening.py).
    worker_settings = hardening.worker_settings(
        settings.replace(load_models="sync", migrate_on_start=False, shipper="none")
    )
    shipper = None
    if settings.audit:
        # one shipper process moves every worker's journal into the database; it shares no
        # GIL, lock or connection with the workers, and it outlives none of them
        settings.resolved_journal_path.mkdir(parents=True, exist_ok=True)
        shipper = start_shipper_process(
            settings.resolved_journal_path,
            settings.resolved_database_url(),
            idle_wait_seconds=settings.shipper_idle_wait_seconds,
        )
    preload_libraries()
    try:
        serve_workers(settings, worker_settings, host, port, workers)
    finally:
        if shipper is not None:
            # after the workers: its last round ships their last records (what it cannot ship
            # now, the journal keeps for the next start)
            stop_shipper_process(shipper, timeout=SHIPPER_STOP_SECONDS)


def preload_libraries() -> None:
    """Import what loading a model needs once, here, before the workers are forked.

    Each worker inherits the imported modules instead of importing them itself: skops'
    import alone walks every scikit-learn estimator (and, where torch is installed, imports
    it) and costs seconds; paid once, a worker (or a respawned one) is ready in about the time
    its models take to read. A worker that is still loading cannot stop gracefully, so this
    also keeps a shutdown short.
    """
    import importlib

    for name in ("skops.io", "sklearn.ensemble", "sklearn.pipeline", "onnxruntime", "pandas"):
        try:
            importlib.import_module(name)
        except ImportError:  # an optional engine: its kind reports it when a model needs it
            continue


def serve_workers(
    settings: Settings, worker_settings: Settings, host: str, port: int, workers: int
) -> None:
    """Granian's RSGI interface, each worker's Flask app behind the body-buffering guard."""
    from granian import Granian
    from granian.log import LogLevels

    from labserve import hardening

    Granian(
        "labserve.hardening:guarded_app_from_settings",
        address=host,
        port=port,
        workers=workers,
        workers_kill_timeout=GRACEFUL_SECONDS,
        respawn_failed_workers=True,
        websockets=False,  # the guard serves HTTP only; saying so at every start is noise
        log_level=LogLevels.warning,  # worker spawns are not news; failures are
        log_access=False,  # labserve.access_log writes the lines (granian's cost 52 µs each)
        **hardening.granian_options(settings, workers),
    ).serve(
        target_loader=partial(hardening.guarded_app_from_settings, worker_settings),
        wrap_loader=False,
    )
