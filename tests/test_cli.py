"""The command line: train, serve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from labserve import cli


def test_train_adds_a_version_and_reports_metrics(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli.main, ["train", "diagnosis", "--instance-path", str(tmp_path)])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "models" / "diagnosis" / "1" / "metadata.json").read_text())
    assert "diagnosis version 1 (promoted)" in result.output
    assert str(meta["metrics"]["held_out"]["roc_auc"]) in result.output
    again = runner.invoke(cli.main, ["train", "diagnosis", "--instance-path", str(tmp_path)])
    assert again.exit_code == 0
    assert "diagnosis version 2 (not promoted)" in again.output
    assert (tmp_path / "models" / "diagnosis" / "promoted").read_text().strip() == "1"


def test_serve_trains_when_missing_and_runs_the_production_server(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import labserve.server

    calls: list[tuple[Any, ...]] = []
    monkeypatch.setattr(labserve.server, "run_production", lambda *args: calls.append(args))
    result = runner.invoke(
        cli.main,
        ["serve", "--instance-path", str(tmp_path), "--port", "5055", "--workers", "3"],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "models" / "diagnosis" / "1" / "model.skops").is_file()
    assert (tmp_path / "models" / "summarizer" / "1" / "metadata.json").is_file()
    ((settings, host, port, workers),) = calls
    assert (host, port, workers) == ("127.0.0.1", 5055, 3)
    assert settings.instance_path == tmp_path.resolve()
    assert settings.migrate_on_start is False  # migrated once, before the workers start


def test_dev_flag_is_the_only_way_to_debug(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask import Flask

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(Flask, "run", lambda self, **kw: calls.append(kw))
    result = runner.invoke(cli.main, ["serve", "--instance-path", str(tmp_path), "--dev"])
    assert result.exit_code == 0, result.output
    assert calls[0]["debug"] is True


def test_help_lists_commands(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output
    assert "train" in result.output


def test_keys_and_audit_export_from_the_command_line(
    runner: CliRunner, tmp_path: Path, trained_instance: Path, benign_row: dict
) -> None:
    db_args = ["--instance-path", str(tmp_path)]
    assert runner.invoke(cli.main, ["db", "upgrade", *db_args]).exit_code == 0
    created = runner.invoke(cli.main, ["keys", "create", "robot", *db_args])
    assert created.exit_code == 0
    key = created.stdout.strip().splitlines()[-1]
    assert key.startswith("lsk_")
    assert runner.invoke(cli.main, ["keys", "create", "robot", *db_args]).exit_code != 0
    listed = runner.invoke(cli.main, ["keys", "list", *db_args]).output
    assert "robot" in listed
    assert key not in listed

    from labserve.web import create_app

    app = create_app(
        {
            "INSTANCE_PATH": str(trained_instance),
            "LOAD_MODELS": "sync",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'labserve.db'}",
            "JOURNAL_PATH": str(tmp_path / "journal"),
            "REQUIRE_API_KEY": True,
            "API_KEY_CACHE_SECONDS": 0,  # see revocation at once, not after the cache's 5 s
        }
    )
    client = app.test_client()
    for _ in range(3):
        assert (
            client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": key}).status_code
            == 200
        )
    from labserve.web.audit_log import get_audit_log

    with app.app_context():
        audit_log = get_audit_log()
        assert audit_log is not None
        audit_log.ship_now()
    out = tmp_path / "audit.jsonl"
    exported = runner.invoke(
        cli.main, ["audit", "export", "--format", "jsonl", "-o", str(out), *db_args]
    )
    assert exported.exit_code == 0, exported.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    assert len(lines) == 3
    assert {x["caller"] for x in lines} == {"robot"}
    csv_out = runner.invoke(cli.main, ["audit", "export", "--format", "csv", *db_args])
    assert csv_out.stdout.splitlines()[0].startswith("id,created_at,model")
    assert runner.invoke(cli.main, ["keys", "revoke", "robot", *db_args]).exit_code == 0
    assert (
        client.post("/api/diagnosis", json=benign_row, headers={"X-API-Key": key}).status_code
        == 401
    )


def test_keys_carry_scopes(runner: CliRunner, tmp_path: Path) -> None:
    """Issue 13: ``keys create --scopes``; ``predict`` unless told otherwise."""
    from labserve.cli import main

    instance = ["--instance-path", str(tmp_path)]
    assert runner.invoke(main, ["keys", "create", "robot", *instance]).exit_code == 0
    made = runner.invoke(
        main, ["keys", "create", "ops", "--scopes", "audit:read,metrics", *instance]
    )
    assert made.exit_code == 0
    assert made.output.strip().splitlines()[-1].startswith("lsk_")
    listing = runner.invoke(main, ["keys", "list", *instance]).output
    assert "robot\tlsk_" in listing
    assert "\tpredict\t" in listing
    assert "\taudit:read,metrics\t" in listing
    refused = runner.invoke(main, ["keys", "create", "x", "--scopes", "everything", *instance])
    assert refused.exit_code == 2
    assert "unknown scope 'everything'" in refused.output


def test_every_command_finds_the_same_per_user_instance(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, trained_instance: Path
) -> None:
    import shutil

    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_DATA_HOME", str(home))
    monkeypatch.delenv("LABSERVE_INSTANCE_PATH", raising=False)
    shutil.copytree(trained_instance / "models", home / "labserve" / "models")
    elsewhere = tmp_path / "some" / "project"
    elsewhere.mkdir(parents=True)
    monkeypatch.chdir(elsewhere)
    listed = runner.invoke(cli.main, ["models", "list"])
    assert listed.exit_code == 0, listed.output
    assert "diagnosis\tversion 1 of 1" in listed.output
    cases = elsewhere / "cases.csv"
    cases.write_text(
        "radius_mean,texture_mean,smoothness_mean,texture_se,smoothness_se,symmetry_se\n"
        "17.99,10.38,0.1184,0.9053,0.006399,0.03003\n13.54,14.36,0.09779,0.7886,0.008462,x\n"
    )
    scored = runner.invoke(cli.main, ["predict", "diagnosis", str(cases), "-o", "scored.csv"])
    assert scored.exit_code == 0, scored.output
    assert "2 rows scored with diagnosis version 1, 1 with errors" in scored.output
    assert not (elsewhere / "instance").exists()  # nothing appears in the working folder
    exported = runner.invoke(cli.main, ["audit", "export", "--format", "jsonl"])
    assert exported.exit_code == 0, exported.output
    (record,) = [json.loads(line) for line in exported.stdout.splitlines()]
    assert record["model"] == "diagnosis"
    assert record["rows"] == 2
    assert record["caller"].startswith("cli:")
    assert json.loads(record["outputs"])["row_errors"] == 1
    assert (home / "labserve" / "labserve.db").is_file()


def test_audit_export_is_in_time_order(runner: CliRunner, tmp_path: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from labserve.db import make_engine, upgrade_database
    from labserve.db.schema import PredictionRecord

    url = f"sqlite:///{tmp_path / 'db.sqlite'}"
    upgrade_database(url)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [
        {
            "created_at": start + timedelta(seconds=s),
            "model": "m",
            "model_version": "1",
            "caller": "c",
            "request_id": f"r{s}",
            "rows": 1,
            "inputs": "[]",
            "inputs_sha256": "0" * 64,
            "outputs": "[]",
            "latency_ms": 1.0,
        }
        for s in (30, 10, 20)  # ids in shipping order, not in time order
    ]
    engine = make_engine(url)
    with engine.begin() as connection:
        connection.execute(insert(PredictionRecord), rows)
    engine.dispose()
    result = runner.invoke(
        cli.main,
        [
            "audit",
            "export",
            "--format",
            "jsonl",
            "--database-url",
            url,
            "--instance-path",
            str(tmp_path),
        ],
    )
    ids = [json.loads(line)["request_id"] for line in result.stdout.splitlines()]
    assert ids == ["r10", "r20", "r30"]


def test_serve_says_where_to_go_and_what_it_serves(
    runner: CliRunner, trained_instance: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    import labserve.server

    shutil.copytree(trained_instance / "models", tmp_path / "models")
    monkeypatch.setattr(labserve.server, "run_production", lambda *args: None)
    result = runner.invoke(cli.main, ["serve", "--instance-path", str(tmp_path), "--port", "5077"])
    assert result.exit_code == 0, result.output
    assert "labserve: open http://127.0.0.1:5077 (2 workers; API docs at /docs)" in result.output
    assert "models: diagnosis v1, summarizer v1" in result.output
