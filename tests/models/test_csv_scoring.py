"""CSV scoring: same answers as the JSON path, per-row errors, streaming."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from labserve.models.catalog import diagnosis_artifact_dir
from labserve.models.csv_scoring import CsvScorer
from labserve.models.diagnosis import FEATURE_NAMES, DiagnosisModel
from labserve.models.diagnosis.training import load_training_data
from labserve.models.errors import InvalidInput

GOOD = ["13.54", "14.36", "0.09779", "0.7886", "0.008462", "0.0198"]


@pytest.fixture(scope="module")
def model(trained_instance: Path) -> DiagnosisModel:
    loaded = DiagnosisModel(diagnosis_artifact_dir(trained_instance))
    loaded.load()
    return loaded


def score(model: DiagnosisModel, text: str, chunk_rows: int = 10_000) -> list[dict[str, str]]:
    scorer = CsvScorer(model, io.StringIO(text), chunk_rows=chunk_rows)
    return list(csv.DictReader(io.StringIO("".join(scorer.chunks()))))


def test_bundled_data_scores_like_the_json_path(model: DiagnosisModel) -> None:
    X = load_training_data().X
    lines = [",".join(FEATURE_NAMES)] + [",".join(repr(float(v)) for v in row) for row in X]
    rows = score(model, "\n".join(lines) + "\n", chunk_rows=100)
    expected = model.predict([dict(zip(FEATURE_NAMES, map(float, row), strict=True)) for row in X])
    assert len(rows) == 569
    assert [r["label"] for r in rows] == [p["label"] for p in expected]
    assert [float(r["probability_malignant"]) for r in rows] == [
        p["probability_malignant"] for p in expected
    ]
    assert all(r["error"] == "" for r in rows)


def test_column_order_is_free_and_extra_columns_pass_through(model: DiagnosisModel) -> None:
    names = list(reversed(FEATURE_NAMES))
    text = (
        "sample_id," + ",".join(names) + ",note\n" + "S-1," + ",".join(reversed(GOOD)) + ',"a, b"\n'
    )
    plain = "\n".join([",".join(FEATURE_NAMES), ",".join(GOOD)]) + "\n"
    (row,) = score(model, text)
    (reference,) = score(model, plain)
    assert row["sample_id"] == "S-1"
    assert row["note"] == "a, b"
    assert row["label"] == reference["label"]
    assert row["probability_malignant"] == reference["probability_malignant"]


@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [
        ("radius_mean", "abc", "radius_mean: must be a number"),
        ("radius_mean", "", "radius_mean: must be a number"),
        ("texture_mean", "nan", "texture_mean: must be a finite number"),
        ("texture_mean", "inf", "texture_mean: must be a finite number"),
        ("smoothness_mean", "-0.1", "smoothness_mean: must be at least 0.0"),
        ("symmetry_se", "3", "symmetry_se: must be at most 1.0"),
        ("texture_se", "1e400", "texture_se: must be a finite number"),
    ],
)
def test_a_bad_cell_fails_its_row_only(
    model: DiagnosisModel, column: str, cell: str, message: str
) -> None:
    bad = list(GOOD)
    bad[FEATURE_NAMES.index(column)] = cell
    text = (
        "\n".join([",".join(FEATURE_NAMES), ",".join(GOOD), ",".join(bad), ",".join(GOOD)]) + "\n"
    )
    first, broken, last = score(model, text)
    assert broken["error"].startswith(message)
    assert broken["label"] == ""
    assert broken["probability_malignant"] == ""
    assert first["label"] == last["label"] != ""
    assert first["error"] == last["error"] == ""


def test_ragged_rows_are_reported(model: DiagnosisModel) -> None:
    text = ",".join(FEATURE_NAMES) + "\n1,2\n" + ",".join(GOOD) + ",extra\n" + ",".join(GOOD) + "\n"
    short, long, good = score(model, text)
    assert short["error"] == "row has 2 cells; the header has 6"
    assert "row has 7 cells" in long["error"]
    assert good["error"] == ""


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("", None),
        ("radius_mean,texture_mean\n1,2\n", "smoothness_mean"),
        (",".join(FEATURE_NAMES) + ",radius_mean\n", "radius_mean"),
        (",".join(FEATURE_NAMES) + ",label\n", "label"),
    ],
)
def test_header_problems_fail_before_any_output(
    model: DiagnosisModel, text: str, field: str | None
) -> None:
    with pytest.raises(InvalidInput) as info:
        CsvScorer(model, io.StringIO(text))
    assert info.value.field == field


def test_header_only_gives_header_only(model: DiagnosisModel) -> None:
    scorer = CsvScorer(model, io.StringIO(",".join(FEATURE_NAMES) + "\n"))
    assert (
        "".join(scorer.chunks())
        == ",".join([*FEATURE_NAMES, "label", "probability_malignant", "error"]) + "\n"
    )
    assert scorer.tally.rows == 0


def test_quoted_fields_and_a_byte_order_mark(model: DiagnosisModel) -> None:
    text = (
        "\ufeff"
        + ",".join(f'"{n}"' for n in FEATURE_NAMES)
        + "\n"
        + ",".join(f'"{v}"' for v in GOOD)
        + "\n"
    )
    (row,) = score(model, text)
    assert row["error"] == ""
    assert row["label"] in {"Benign", "Malignant"}


def test_output_streams_before_the_input_is_read_whole(model: DiagnosisModel) -> None:
    consumed = {"lines": 0}

    def lines() -> Iterator[str]:
        yield ",".join(FEATURE_NAMES) + "\n"
        for _ in range(100_000):
            consumed["lines"] += 1
            yield ",".join(GOOD) + "\n"

    scorer = CsvScorer(model, lines(), chunk_rows=1_000)
    chunks = scorer.chunks()
    next(chunks)  # header
    first = next(chunks)
    assert first.count("\n") == 1_000
    assert consumed["lines"] <= 1_001  # one chunk read, not the whole input
    chunks.close()


def test_tally_counts_rows_errors_and_labels(model: DiagnosisModel) -> None:
    bad = ["x", *GOOD[1:]]
    text = (
        "\n".join([",".join(FEATURE_NAMES), ",".join(GOOD), ",".join(bad), ",".join(GOOD)]) + "\n"
    )
    scorer = CsvScorer(model, io.StringIO(text))
    "".join(scorer.chunks())
    assert scorer.tally.rows == 3
    assert scorer.tally.errors == 1
    assert sum(scorer.tally.labels.values()) == 2
    assert len(scorer.tally.sha256.hexdigest()) == 64
    assert np.isfinite(float(score(model, text)[0]["probability_malignant"]))
