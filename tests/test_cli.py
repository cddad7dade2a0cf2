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


def test_serve_trains_when_missing_and_never_debugs_by_default(
    runner: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from flask import Flask

    calls: list[dict[str, Any]] = []
    monkeypatch.setattr(
        Flask, "run", lambda self, **kw: calls.append({**kw, "debug_flag": self.debug})
    )
    result = runner.invoke(
        cli.main,
        ["serve", "--instance-path", str(tmp_path), "--host", "127.0.0.1", "--port", "5055"],
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "models" / "diagnosis" / "model.skops").is_file()
    assert calls[0]["host"] == "127.0.0.1"
    assert calls[0]["port"] == 5055
    assert calls[0]["debug"] is False
    assert calls[0]["debug_flag"] is False


def test_help_lists_commands(runner: CliRunner) -> None:
    result = runner.invoke(cli.main, ["--help"])
    assert result.exit_code == 0
    assert "serve" in result.output
    assert "train" in result.output
