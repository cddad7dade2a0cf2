"""The ``labserve`` command: serve, train, predict."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

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


DATABASE_OPTION = click.option(
    "--database-url",
    envvar="LABSERVE_DATABASE_URL",
    default=None,
    help="SQLAlchemy URL (env LABSERVE_DATABASE_URL); default: SQLite in the instance folder.",
)


def resolve_database_url(instance_path: Path, database_url: str | None) -> str:
    from labserve.db import default_database_url

    instance_path = instance_path.resolve()
    instance_path.mkdir(parents=True, exist_ok=True)
    return database_url or default_database_url(instance_path)


def open_database(instance_path: Path, database_url: str | None) -> Any:
    """Upgrade the schema, then return an engine."""
    from labserve.db import make_engine, upgrade_database

    url = resolve_database_url(instance_path, database_url)
    upgrade_database(url)
    return make_engine(url)


@main.command()
@click.argument("model_name", metavar="MODEL")
@click.argument(
    "input_file", metavar="INPUT.csv", type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    required=True,
    help="Scored CSV to write.",
)
@click.option("--chunk-rows", type=click.IntRange(1, 1_000_000), default=10_000, show_default=True)
@INSTANCE_OPTION
def predict(
    model_name: str, input_file: Path, output: Path, chunk_rows: int, instance_path: Path
) -> None:
    """Score a CSV file of any size (read and written in chunks) with a progress bar."""
    from tqdm import tqdm

    from labserve.models.catalog import build_registry
    from labserve.models.csv_scoring import CsvScorer
    from labserve.models.errors import LabserveError

    try:
        model = build_registry(instance_path.resolve()).get(model_name)
        model.load()
    except LabserveError as exc:
        raise click.ClickException(str(exc)) from None
    if not hasattr(model, "predict_arrays"):
        raise click.ClickException(f"model {model_name!r} does not score CSV files")
    with (
        input_file.open(encoding="utf-8", errors="replace", newline="") as source,
        output.open("w", encoding="utf-8", newline="") as target,
        tqdm(total=input_file.stat().st_size, unit="B", unit_scale=True, desc="scoring") as bar,
    ):

        def counted(lines: Any) -> Any:
            for line in lines:
                bar.update(len(line.encode("utf-8")))
                yield line

        try:
            scorer = CsvScorer(model, counted(source), chunk_rows=chunk_rows)  # type: ignore[arg-type]
            for text in scorer.chunks():
                target.write(text)
        except LabserveError as exc:
            raise click.ClickException(str(exc)) from None
    tally = scorer.tally
    click.echo(
        f"{tally.rows} rows scored, {tally.errors} with errors, labels {tally.labels} -> {output}",
        err=True,
    )


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@INSTANCE_OPTION
@DATABASE_OPTION
def db_upgrade(instance_path: Path, database_url: str | None) -> None:
    """Apply every schema migration (safe to repeat)."""
    from labserve.db import upgrade_database
    from labserve.db.migrate import current_revision

    url = resolve_database_url(instance_path, database_url)
    upgrade_database(url)
    click.echo(f"database at revision {current_revision(url)}")


@main.group()
def keys() -> None:
    """API keys (stored hashed; a key is shown once, when created)."""


@keys.command("create")
@click.argument("name")
@INSTANCE_OPTION
@DATABASE_OPTION
def keys_create(name: str, instance_path: Path, database_url: str | None) -> None:
    """Create a key called NAME; the key itself is the last line of output."""
    from labserve.db import DuplicateKeyName, create_key

    engine = open_database(instance_path, database_url)
    try:
        key = create_key(engine, name)
    except (DuplicateKeyName, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"key {name!r} created; store it now, it is not shown again:", err=True)
    click.echo(key)


@keys.command("list")
@INSTANCE_OPTION
@DATABASE_OPTION
def keys_list(instance_path: Path, database_url: str | None) -> None:
    """List keys (names and prefixes, never the keys)."""
    from labserve.db import list_keys

    for info in list_keys(open_database(instance_path, database_url)):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(
            f"{info.name}\t{info.prefix}...\tcreated {info.created_at:%Y-%m-%d %H:%M}\t{state}"
        )


@keys.command("revoke")
@click.argument("name")
@INSTANCE_OPTION
@DATABASE_OPTION
def keys_revoke(name: str, instance_path: Path, database_url: str | None) -> None:
    """Revoke the active key called NAME."""
    from labserve.db import revoke_key

    if not revoke_key(open_database(instance_path, database_url), name):
        raise click.ClickException(f"no active key named {name!r}")
    click.echo(f"key {name!r} revoked")


@main.group()
def audit() -> None:
    """The audit log of predictions."""


@audit.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["csv", "jsonl"]), default="csv", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.File("w", encoding="utf-8"),
    default="-",
    help="File (default stdout).",
)
@click.option("--model", default=None, help="Only this model.")
@click.option(
    "--since", type=click.DateTime(), default=None, help="Only records from this time (UTC)."
)
@INSTANCE_OPTION
@DATABASE_OPTION
def audit_export(
    fmt: str,
    output: Any,
    model: str | None,
    since: Any,
    instance_path: Path,
    database_url: str | None,
) -> None:
    """Write audited predictions as CSV or JSON lines."""
    from datetime import UTC

    from labserve.db import export_predictions

    engine = open_database(instance_path, database_url)
    since = since.replace(tzinfo=UTC) if since is not None else None
    count = export_predictions(engine, fmt, output, model=model, since=since)  # type: ignore[arg-type]
    click.echo(f"{count} records exported", err=True)


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
    # migrate once here, so several workers never race to do it
    from labserve.db import upgrade_database

    upgrade_database(resolve_database_url(instance_path, os.environ.get("LABSERVE_DATABASE_URL")))
    os.environ.setdefault("LABSERVE_MIGRATE_ON_START", "false")
    if dev:
        from labserve.web import create_app

        create_app().run(host=host, port=port, debug=True, use_reloader=True, threaded=True)
        return
    from labserve.server import run_production

    click.echo(f"labserve on http://{host}:{port} ({workers} workers); Ctrl-C to stop")
    run_production(host, port, workers, instance_path)


if __name__ == "__main__":
    main()
