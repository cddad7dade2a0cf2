"""The command line: train, serve."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from labserve import cli


def test_train_writes_artifact_and_reports_metrics(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli.main, ["train", "diagnosis", "--instance-path", str(tmp_path)])
    assert result.exit_code == 0, result.output
    meta = json.loads((tmp_path / "models" / "diagnosis" / "metadata.json").read_text())
    assert meta["version"] in result.output
    assert "roc_auc" in result.output
    again = runner.invoke(
        cli.main, ["train", "diagnosis", "--instance-path", str(tmp_path), "--if-missing"]
    )
    assert again.exit_code == 0
    assert "present" in again.output


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
    assert (tmp_path / "models" / "diagnosis" / "model.skops").is_file()
    assert calls == [("127.0.0.1", 5055, 3, tmp_path.resolve())]


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
