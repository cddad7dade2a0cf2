"""The ``labserve`` command: serve, models, predict, train, db, keys, audit.

Every command reads the settings once (``Settings.load``: defaults, ``instance/config.py``,
``LABSERVE_*``), with its own options as overrides. A refused request (a model that cannot be
served, a bad name) ends with a one-line reason and exit status 2.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, NoReturn

import click

from labserve.settings import Settings, SettingsError

INSTANCE_OPTION = click.option(
    "--instance-path",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Folder of the model store and data (default: LABSERVE_INSTANCE_PATH, else "
    "~/.local/share/labserve).",
)
DATABASE_OPTION = click.option(
    "--database-url",
    default=None,
    help="SQLAlchemy URL (default: LABSERVE_DATABASE_URL, or SQLite in the instance folder).",
)


class Refused(click.ClickException):
    """What the user asked cannot be done; the message says why (exit status 2)."""

    exit_code = 2


def refuse(reason: object) -> NoReturn:
    raise Refused(str(reason).splitlines()[0] if str(reason) else "refused")


def load_settings(**overrides: Any) -> Settings:
    given = {key: value for key, value in overrides.items() if value is not None}
    try:
        return Settings.load(given)
    except SettingsError as exc:
        refuse(exc)


def model_store(settings: Settings) -> Any:
    from labserve.models.store import ModelStore

    return ModelStore(settings.models_path)


@click.group()
@click.version_option(package_name="labserve")
def main() -> None:
    """labserve: serve trained life-science models to people and programs."""


# -- serve ------------------------------------------------------------------------------------
@main.command()
@INSTANCE_OPTION
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=5000, show_default=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=2,
    show_default=True,
    envvar="LABSERVE_WORKERS",
    help="Worker processes of the production server (granian); one per core is a good start "
    "(env LABSERVE_WORKERS).",
)
@click.option("--dev", is_flag=True, help="Flask's development server with reloader and debugger.")
def serve(instance_path: Path | None, host: str, port: int, workers: int, dev: bool) -> None:
    """Serve the web UI and the JSON API (debug is off unless --dev)."""
    from labserve.db import upgrade_database
    from labserve.models.builtins import ensure_builtin_models

    settings = load_settings(instance_path=instance_path)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    try:
        ensure_builtin_models(model_store(settings), settings, click.echo)
    except SettingsError as exc:
        refuse(exc)
    upgrade_database(settings.resolved_database_url())  # once, before any worker starts
    settings = settings.replace(migrate_on_start=False)
    if dev:
        from labserve.web import create_app

        app = create_app(settings)
        app.run(host=host, port=port, debug=True, use_reloader=True, threaded=True)
        return
    from labserve.server import run_production

    click.echo(startup_line(settings, host, port, workers))
    run_production(settings, host, port, workers)


def startup_line(settings: Settings, host: str, port: int, workers: int) -> str:
    """What the user needs at a glance: where to go, what is served, where things are kept."""
    served = model_store(settings).snapshot()
    models = ", ".join(f"{name} v{version}" for name, version in sorted(served.items()))
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host
    return (
        f"labserve: open http://{shown}:{port} ({workers} workers; API docs at /docs)\n"
        f"  models: {models or 'none yet (labserve models add NAME PATH)'}\n"
        f"  instance: {settings.instance_path}; Ctrl-C to stop"
    )


# -- models -----------------------------------------------------------------------------------
@main.group()
def models() -> None:
    """The model store: add, list, show, promote, remove models and versions."""


@models.command("add")
@click.argument("name")
@click.argument("path", type=click.Path(path_type=Path))
@click.option(
    "--reference",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="CSV of training inputs: schema, ranges, categories, typical cases.",
)
@click.option("--target", default=None, help="Column of --reference holding the labels/values.")
@click.option("--features", default=None, help="Comma-separated input names (ONNX, arrays).")
@click.option("--title", default=None)
@click.option("--description", default="", help="What the model does, for its page.")
@click.option(
    "--trust-pickle",
    metavar="SHA256",
    default=None,
    help="Unpickle a .pkl/.joblib file whose sha256 is exactly this.",
)
@click.option(
    "--trust-types", default=None, help="Comma-separated extra types a .skops file may hold."
)
@click.option("--positive-class", default=None, help="Binary classifiers: the positive class.")
@click.option(
    "--threshold",
    type=float,
    default=None,
    help="Binary classifiers: predict the positive class at this probability.",
)
@click.option("--promote", is_flag=True, help="Serve this version by default at once.")
@INSTANCE_OPTION
def models_add(
    name: str,
    path: Path,
    reference: Path | None,
    target: str | None,
    features: str | None,
    title: str | None,
    description: str,
    trust_pickle: str | None,
    trust_types: str | None,
    positive_class: str | None,
    threshold: float | None,
    promote: bool,
    instance_path: Path | None,
) -> None:
    """Add PATH as a new version of model NAME.

    PATH: a folder written by labserve.save_model, an MLflow model folder, or a .skops,
    .onnx, .pkl or .joblib file. The first version of a model is served at once; later
    ones when promoted (or with --promote).
    """
    from labserve.models.errors import LabserveError
    from labserve.models.importing import AddOptions, add_model

    settings = load_settings(instance_path=instance_path)
    options = AddOptions(
        reference=reference,
        target=target,
        features=split_list(features),
        title=title,
        description=description,
        trust_pickle=trust_pickle,
        trust_types=split_list(trust_types),
        positive_class=positive_class,
        threshold=threshold,
        promote=promote,
    )
    store = model_store(settings)
    try:
        version = add_model(store, settings, name, path, options)
    except (LabserveError, OSError) as exc:
        refuse(exc)
    state = "promoted: served by default" if store.promoted(name) == version else "not promoted"
    click.echo(f"{name} version {version} added ({state})")


def split_list(text: str | None) -> list[str]:
    return [part.strip() for part in (text or "").split(",") if part.strip()]


@models.command("init")
@INSTANCE_OPTION
def models_init(instance_path: Path | None) -> None:
    """Create the built-in models the store lacks (serve does it too; images bake them)."""
    from labserve.models.builtins import ensure_builtin_models

    settings = load_settings(instance_path=instance_path)
    try:
        added = ensure_builtin_models(model_store(settings), settings, click.echo)
    except SettingsError as exc:
        refuse(exc)
    click.echo(f"built-in models added: {', '.join(added) or 'none (all present)'}")


@models.command("list")
@INSTANCE_OPTION
def models_list(instance_path: Path | None) -> None:
    """Every model, its promoted version, kind and task."""
    store = model_store(load_settings(instance_path=instance_path))
    names = store.names()
    if not names:
        click.echo("no models (labserve models add NAME PATH)", err=True)
    for name in names:
        promoted = store.promoted(name)
        info = store.info(name, promoted) if promoted else None
        kind = info.kind if info else "?"
        task = info.metadata.get("task", "") if info else ""
        versions = len(store.versions(name))
        click.echo(f"{name}\tversion {promoted} of {versions}\t{kind}\t{task}".rstrip())


@models.command("show")
@click.argument("name")
@click.option("--version", default=None, help="A version other than the promoted one.")
@INSTANCE_OPTION
def models_show(name: str, version: str | None, instance_path: Path | None) -> None:
    """The metadata of a model's promoted (or given) version, as JSON."""
    from labserve.models.errors import LabserveError

    store = model_store(load_settings(instance_path=instance_path))
    try:
        chosen = version or store.promoted(name) or ""
        info = store.info(name, chosen)
    except LabserveError as exc:
        refuse(exc)
    shown = {
        "name": name,
        "version": info.version,
        "promoted": store.promoted(name),
        "registration": info.registration,
        **info.metadata,
    }
    click.echo(json.dumps(shown, indent=2))


@models.command("versions")
@click.argument("name")
@INSTANCE_OPTION
def models_versions(name: str, instance_path: Path | None) -> None:
    """Every version of a model; the promoted one is marked with *."""
    store = model_store(load_settings(instance_path=instance_path))
    versions = store.versions(name)
    if not versions:
        refuse(f"no model named {name!r}")
    promoted = store.promoted(name)
    for version in versions:
        registration = store.info(name, version).registration
        mark = "*" if version == promoted else " "
        added, source = registration.get("added_at", ""), registration.get("source", "")
        click.echo(f"{mark} {version}\t{added}\t{source}")


@models.command("promote")
@click.argument("name")
@click.argument("version")
@INSTANCE_OPTION
def models_promote(name: str, version: str, instance_path: Path | None) -> None:
    """Serve VERSION of NAME by default (running servers switch within seconds)."""
    from labserve.models.errors import LabserveError

    store = model_store(load_settings(instance_path=instance_path))
    try:
        store.promote(name, version)
    except LabserveError as exc:
        refuse(exc)
    click.echo(f"{name} version {int(version)} promoted")


@models.command("remove")
@click.argument("name")
@click.argument("version", required=False)
@click.option("--all", "everything", is_flag=True, help="Remove the model and every version.")
@INSTANCE_OPTION
def models_remove(
    name: str, version: str | None, everything: bool, instance_path: Path | None
) -> None:
    """Remove a version that is not promoted (or, with --all, the whole model)."""
    from labserve.models.errors import LabserveError

    store = model_store(load_settings(instance_path=instance_path))
    try:
        if everything:
            store.remove_model(name)
            click.echo(f"{name} removed")
            return
        if version is None:
            refuse("give the VERSION to remove, or --all for the whole model")
        store.remove(name, version)
    except LabserveError as exc:
        refuse(exc)
    click.echo(f"{name} version {int(version)} removed")


# -- predict, train ---------------------------------------------------------------------------
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
@click.option("--version", default=None, help="A stored version instead of the promoted one.")
@click.option("--chunk-rows", type=click.IntRange(1, 1_000_000), default=10_000, show_default=True)
@INSTANCE_OPTION
def predict(
    model_name: str,
    input_file: Path,
    output: Path,
    version: str | None,
    chunk_rows: int,
    instance_path: Path | None,
) -> None:
    """Score a CSV file of any size (read and written in chunks) with a progress bar.

    The run is one record of the audit log, like a file scored through the API.
    """
    import time

    from tqdm import tqdm

    from labserve.models.csv_scoring import CsvScorer, supports_csv
    from labserve.models.errors import LabserveError
    from labserve.models.registry import load_model

    settings = load_settings(instance_path=instance_path)
    try:
        model = load_model(model_store(settings), settings, model_name, version)
    except LabserveError as exc:
        refuse(exc)
    if not supports_csv(model):
        refuse(f"model {model_name!r} does not score CSV files (it is not tabular)")
    journal = open_journal(settings)
    started = time.perf_counter()
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
            scorer = CsvScorer(  # issue 13: formula-like cells prefixed unless turned off
                model, counted(source), chunk_rows=chunk_rows, safe_cells=settings.csv_safe_cells
            )
            for text in scorer.chunks():
                target.write(text)
        except LabserveError as exc:
            refuse(exc)
    tally = scorer.tally
    if journal is not None:
        record_cli_run(settings, journal, model, tally, input_file, started)
    click.echo(
        f"{tally.rows} rows scored with {model_name} version {model.version}, {tally.errors} "
        f"with errors, labels {tally.labels} -> {output}",
        err=True,
    )


def open_journal(settings: Settings) -> Any:
    """This run's audit journal, or None when auditing is off; refuse if records can't be kept."""
    if not settings.audit:
        return None
    from labserve.journal import JournalWriter

    journal = JournalWriter(
        settings.resolved_journal_path,
        mode=settings.audit_inputs,
        fsync=settings.journal_fsync,
        max_bytes=settings.journal_max_bytes,
    )
    if not journal.healthy and settings.audit_failure == "refuse":
        refuse(f"the audit log cannot record this run: {journal.reason}")
    return journal


def record_cli_run(
    settings: Settings, journal: Any, model: Any, tally: Any, source: Path, started: float
) -> None:
    """Journal the run's record, then ship it (a server's shipper does it later if not now)."""
    import getpass
    import time
    import uuid

    from labserve.db import AuditRecord, upgrade_database
    from labserve.journal import (
        DatabaseUnavailable,
        JournalUnavailable,
        Shipper,
        make_shipper_engine,
    )

    record = AuditRecord(
        model=model.name,
        model_version=model.version,
        caller=f"cli:{getpass.getuser()}",
        request_id=uuid.uuid4().hex,
        inputs={"csv_sha256": tally.sha256.hexdigest(), "rows": tally.rows, "file": source.name},
        outputs={"labels": tally.labels, "row_errors": tally.errors, "end": "complete"},
        latency_ms=(time.perf_counter() - started) * 1000,
        rows=tally.rows,
    )
    try:
        journal.append(record)
    except JournalUnavailable as exc:
        raise click.ClickException(
            f"scored, but the audit record was not kept: {exc.reason}"
        ) from None
    finally:
        journal.close()
    url = settings.resolved_database_url()
    try:
        upgrade_database(url)
        Shipper(settings.resolved_journal_path, make_shipper_engine(url)).run_once()
    except (DatabaseUnavailable, OSError, LookupError, RuntimeError) as exc:
        click.echo(f"audit record kept in the journal, shipped later: {exc}", err=True)


@main.group()
def train() -> None:
    """Train a built-in model and add it to the store as a new version."""


@train.command("diagnosis")
@INSTANCE_OPTION
@click.option("--seed", type=int, default=42, show_default=True, help="Random seed.")
@click.option("--promote", is_flag=True, help="Serve the new version by default at once.")
def train_diagnosis_command(instance_path: Path | None, seed: int, promote: bool) -> None:
    """Train the WDBC diagnosis pipeline from scikit-learn's bundled data."""
    from labserve.models.builtins import add_builtin

    settings = load_settings(instance_path=instance_path)
    store = model_store(settings)
    click.echo("training the diagnosis model ...")
    version = add_builtin(store, "diagnosis", seed=seed, promote=promote)
    held_out = store.info("diagnosis", version).metadata["metrics"]["held_out"]
    summary = {
        k: held_out[k] for k in ("accuracy", "roc_auc", "sensitivity", "specificity", "brier_score")
    }
    state = "promoted" if store.promoted("diagnosis") == version else "not promoted"
    click.echo(f"diagnosis version {version} ({state}); held-out {json.dumps(summary)}")


# -- database, keys, audit --------------------------------------------------------------------
def open_database(instance_path: Path | None, database_url: str | None) -> Any:
    """Upgrade the schema, then return an engine."""
    from labserve.db import make_engine, upgrade_database

    settings = load_settings(instance_path=instance_path, database_url=database_url)
    settings.instance_path.mkdir(parents=True, exist_ok=True)
    url = settings.resolved_database_url()
    upgrade_database(url)
    return make_engine(url)


@main.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@INSTANCE_OPTION
@DATABASE_OPTION
def db_upgrade(instance_path: Path | None, database_url: str | None) -> None:
    """Apply every schema migration (safe to repeat)."""
    from labserve.db.migrate import current_revision

    engine = open_database(instance_path, database_url)
    url = engine.url.render_as_string(hide_password=False)
    engine.dispose()
    click.echo(f"database at revision {current_revision(url)}")


@main.group()
def keys() -> None:
    """API keys (stored hashed; a key is shown once, when created)."""


@keys.command("create")
@click.argument("name")
@click.option(
    "--scopes",
    default="predict",
    show_default=True,
    help="Comma-separated: predict, audit:read (every caller's records), metrics, admin (all).",
)
@INSTANCE_OPTION
@DATABASE_OPTION
def keys_create(
    name: str, scopes: str, instance_path: Path | None, database_url: str | None
) -> None:
    """Create a key called NAME; the key itself is the last line of output."""
    from labserve.db import DuplicateKeyName, create_key, parse_scopes

    try:
        chosen = parse_scopes(scopes)
    except ValueError as exc:
        refuse(exc)
    engine = open_database(instance_path, database_url)
    try:
        key = create_key(engine, name, chosen)
    except (DuplicateKeyName, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"key {name!r} created with scopes {','.join(chosen)}; store it now, it is not shown "
        "again:",
        err=True,
    )
    click.echo(key)


@keys.command("list")
@INSTANCE_OPTION
@DATABASE_OPTION
def keys_list(instance_path: Path | None, database_url: str | None) -> None:
    """List keys (names and prefixes, never the keys)."""
    from labserve.db import list_keys

    for info in list_keys(open_database(instance_path, database_url)):
        state = f"revoked {info.revoked_at:%Y-%m-%d %H:%M}" if info.revoked_at else "active"
        click.echo(
            f"{info.name}\t{info.prefix}...\t{','.join(info.scopes)}\t"
            f"created {info.created_at:%Y-%m-%d %H:%M}\t{state}"
        )


@keys.command("revoke")
@click.argument("name")
@INSTANCE_OPTION
@DATABASE_OPTION
def keys_revoke(name: str, instance_path: Path | None, database_url: str | None) -> None:
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
    instance_path: Path | None,
    database_url: str | None,
) -> None:
    """Write audited predictions as CSV or JSON lines."""
    from datetime import UTC

    from labserve.db import export_predictions

    engine = open_database(instance_path, database_url)
    since = since.replace(tzinfo=UTC) if since is not None else None
    count = export_predictions(engine, fmt, output, model=model, since=since)  # type: ignore[arg-type]
    click.echo(f"{count} records exported", err=True)


if __name__ == "__main__":
    main()
