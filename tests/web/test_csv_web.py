"""CSV through the API and the command line (the page's upload form: test_batch_page.py)."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from labserve import cli
from labserve.models.diagnosis import FEATURE_NAMES
from labserve.models.diagnosis.training import load_training_data

ROUTE = "/api/v1/models/diagnosis/predict.csv"


def bundled_csv(rows: int = 569, bad_row: int | None = None) -> str:
    lines = ["id," + ",".join(FEATURE_NAMES)]
    for i, row in enumerate(load_training_data().X[:rows]):
        cells = [repr(float(v)) for v in row]
        if i == bad_row:
            cells[0] = "not-a-number"
        lines.append(f"{i}," + ",".join(cells))
    return "\n".join(lines) + "\n"


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_body_in_csv_out(client: FlaskClient) -> None:
    response = client.post(ROUTE, data=bundled_csv(bad_row=3), content_type="text/csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    rows = parse(response.get_data(as_text=True))
    assert len(rows) == 569
    assert rows[0]["label"] == "Malignant"  # row 0 of WDBC
    assert rows[3]["error"] == "radius_mean: must be a number"
    assert rows[3]["label"] == ""
    assert sum(1 for r in rows if r["error"]) == 1
    json_labels = client.post(
        "/api/v1/models/diagnosis/predict",
        json={
            "inputs": [{n: float(r[n]) for n in FEATURE_NAMES} for r in rows[:50] if not r["error"]]
        },
    ).get_json()["predictions"]
    assert [p["label"] for p in json_labels] == [r["label"] for r in rows[:50] if not r["error"]]


def test_multipart_upload(client: FlaskClient) -> None:
    data = {"file": (io.BytesIO(bundled_csv(10).encode()), "cases.csv")}
    response = client.post(ROUTE, data=data, content_type="multipart/form-data")
    assert response.status_code == 200
    assert len(parse(response.get_data(as_text=True))) == 10


@pytest.mark.parametrize(
    ("body", "content_type", "status", "field"),
    [
        ("radius_mean\n1\n", "text/csv", 422, "texture_mean"),
        ("", "text/csv", 422, None),
        ("{}", "application/json", 415, None),
    ],
)
def test_bad_files_are_json_errors(
    client: FlaskClient, body: str, content_type: str, status: int, field: str | None
) -> None:
    response = client.post(ROUTE, data=body, content_type=content_type)
    assert response.status_code == status
    assert response.get_json()["field"] == field


def test_csv_scoring_is_audited_once_per_file(client: FlaskClient) -> None:
    client.post(ROUTE, data=bundled_csv(20, bad_row=1), content_type="text/csv").get_data()
    (record,) = client.get("/api/v1/predictions").get_json()["predictions"]
    assert record["rows"] == 20
    assert record["outputs"]["row_errors"] == 1
    assert sum(record["outputs"]["labels"].values()) == 19
    assert len(record["inputs"]["csv_sha256"]) == 64


def test_cli_predict_writes_the_scored_file(tmp_path: Path, trained_instance: Path) -> None:
    source = tmp_path / "cases.csv"
    source.write_text(bundled_csv(bad_row=2))
    target = tmp_path / "scored.csv"
    result = CliRunner().invoke(
        cli.main,
        [
            "predict",
            "diagnosis",
            str(source),
            "-o",
            str(target),
            "--instance-path",
            str(trained_instance),
            "--chunk-rows",
            "100",
        ],
    )
    assert result.exit_code == 0, result.output
    rows = parse(target.read_text())
    assert len(rows) == 569
    assert rows[2]["error"] == "radius_mean: must be a number"
    assert rows[0]["label"] == "Malignant"
    assert "569 rows scored with diagnosis version 1, 1 with errors" in result.output


def test_cli_predict_refuses_a_file_without_the_columns(
    tmp_path: Path, trained_instance: Path
) -> None:
    source = tmp_path / "wrong.csv"
    source.write_text("a,b\n1,2\n")
    result = CliRunner().invoke(
        cli.main,
        [
            "predict",
            "diagnosis",
            str(source),
            "-o",
            str(tmp_path / "out.csv"),
            "--instance-path",
            str(trained_instance),
        ],
    )
    assert result.exit_code != 0
    assert "radius_mean" in result.output
