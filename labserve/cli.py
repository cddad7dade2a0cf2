"""The ``labserve`` command: serve, train, predict."""

from __future__ import annotations

import json
import os
from pathlib import Path

import click

from labserve.models.catalog import diagnosis_artifact_dir

INSTANCE_OPTION = click.option(
    "--instance-path",
    type=click.Path(file_okay=False, path_type=Path),
    envvar="LABSERVE_INSTANCE_PATH",
    default="instance",
    show_default=True,
    help="Folder for artifacts and data (env LABSERVE_INSTANCE_PATH).",
)


@click.group()
@click.version_option(package_name="labserve")
def main() -> None:
    """labserve: serve trained life-science models to people and programs."""


@main.group()
def train() -> None:
    """Train a built-in model and write its artifact."""


@train.command("diagnosis")
@INSTANCE_OPTION
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option(
    "--if-missing", is_flag=True, help="Do nothing when a trained artifact is already there."
)
def train_diagnosis_command(instance_path: Path, seed: int, if_missing: bool) -> None:
    """Train the WDBC diagnosis pipeline from scikit-learn's bundled data."""
    ensure_diagnosis_artifact(instance_path, seed=seed, force=not if_missing)


def ensure_diagnosis_artifact(instance_path: Path, *, seed: int = 42, force: bool = False) -> None:
    from labserve.models.artifacts import ARTIFACT_FILENAME
    from labserve.models.diagnosis.training import train_diagnosis

    out_dir = diagnosis_artifact_dir(instance_path.resolve())
    if not force and (out_dir / ARTIFACT_FILENAME).exists():
        click.echo(f"diagnosis artifact present in {out_dir}")
        return
    click.echo(f"training diagnosis model into {out_dir} ...")
    metadata = train_diagnosis(out_dir, seed=seed)
    held_out = metadata["metrics"]["held_out"]
    summary = {
        k: round(held_out[k], 4)
        for k in (
            "accuracy",
            "roc_auc",
            "sensitivity_malignant",
            "specificity_malignant",
            "brier_score",
        )
    }
    click.echo(f"version {metadata['version']}; held-out {json.dumps(summary)}")


@main.command()
@INSTANCE_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    help="Worker processes of the production server (granian); one per core is a good start.",
)
@click.option("--dev", is_flag=True, help="Flask's development server with reloader and debugger.")
def serve(instance_path: Path, host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the web UI and the JSON API (debug is off unless --dev)."""
    instance_path = instance_path.resolve()
    os.environ["LABSERVE_INSTANCE_PATH"] = str(instance_path)
    ensure_diagnosis_artifact(instance_path)
    if dev:
        from labserve.web import create_app

        create_app().run(host=host, port=port, debug=True, use_reloader=True, threaded=True)
        return
    from labserve.server import run_production

    click.echo(f"labserve on http://{host}:{port} ({workers} workers); Ctrl-C to stop")
    run_production(host, port, workers, instance_path)


if __name__ == "__main__":
    main()
