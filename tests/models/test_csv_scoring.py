"""CSV scoring: the JSON path's answers and rules, per-row errors, constant-memory streaming."""

from __future__ import annotations

import csv
import gc
import hashlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from labserve.models.csv_scoring import CsvScorer, safe_cell, score_csv, supports_csv
from labserve.models.diagnosis import FEATURE_NAMES
from labserve.models.diagnosis.training import load_training_data
from labserve.models.errors import InvalidInput
from labserve.models.tabular import Table, TabularModel
from tests.conftest import diagnosis_folder, serve_folder

OUTPUTS = ["label", "probability_Benign", "probability_Malignant", "warnings", "error"]


@pytest.fixture(scope="module")
def model(trained_instance: Path) -> TabularModel:
    served: TabularModel = serve_folder(diagnosis_folder(trained_instance))
    return served


def csv_text(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows([[repr(v) if isinstance(v, float) else v for v in row] for row in rows])
    return out.getvalue()


def data_csv(X: np.ndarray) -> str:
    return csv_text(list(FEATURE_NAMES), [list(map(float, row)) for row in X])


def parse(output: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(output)))


def records(output: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(output)))


def scored(model: TabularModel, text: str, **options: Any) -> str:
    return "".join(score_csv(model, text, **options))


def good_row() -> dict[str, str]:
    row = load_training_data().X[0]
    return {name: repr(float(v)) for name, v in zip(FEATURE_NAMES, row, strict=True)}


# -- same answers as the JSON path ------------------------------------------------------------
def test_bundled_data_round_trip_matches_the_json_path(model: TabularModel) -> None:
    X = load_training_data().X
    out = records(scored(model, data_csv(X), chunk_rows=100))
    json_answers = model.predict(
        [dict(zip(FEATURE_NAMES, map(float, row), strict=True)) for row in X]
    )
    assert len(out) == len(X)
    assert [r["label"] for r in out] == [p["label"] for p in json_answers]
    assert [float(r["probability_Malignant"]) for r in out] == [
        p["probabilities"]["Malignant"] for p in json_answers
    ]
    assert all(r["error"] == "" for r in out)
    assert [float(r["radius_mean"]) for r in out] == X[:, 0].tolist()


def test_column_order_does_not_matter(model: TabularModel) -> None:
    X = load_training_data().X[:50]
    reordered = list(reversed(FEATURE_NAMES))
    text = csv_text(
        reordered, [[float(row[FEATURE_NAMES.index(n)]) for n in reordered] for row in X]
    )
    out = parse(scored(model, text))
    assert out[0] == [*reordered, *OUTPUTS]
    expected = records(scored(model, data_csv(X)))
    assert [row[-5:] for row in out[1:]] == [[r[c] for c in OUTPUTS] for r in expected]


def test_extra_columns_pass_through_unchanged(model: TabularModel) -> None:
    row = good_row()
    header = ["sample id", *FEATURE_NAMES[:3], "note", *FEATURE_NAMES[3:], ""]
    cells = [
        "S-001",
        *[row[n] for n in FEATURE_NAMES[:3]],
        'biopsy, left; "urgent"\nsecond line',
        *[row[n] for n in FEATURE_NAMES[3:]],
        "ünïcödé",
    ]
    out = parse(scored(model, csv_text(header, [cells])))
    assert out[0] == [*header, *OUTPUTS]
    assert out[1][: len(header)] == cells
    expected = model.predict([{n: float(row[n]) for n in FEATURE_NAMES}])[0]
    probabilities = expected["probabilities"]
    assert out[1][len(header) :] == [
        "Malignant",
        repr(probabilities["Benign"]),
        repr(probabilities["Malignant"]),
        "",
        "",
    ]


def test_quoted_numbers_and_spaces_are_numbers(model: TabularModel) -> None:
    row = good_row()
    text = ",".join(FEATURE_NAMES) + "\n" + ",".join(f'" {row[n]} "' for n in FEATURE_NAMES)
    out = records(scored(model, text))
    assert out[0]["label"] == "Malignant"
    assert out[0]["radius_mean"] == f" {row['radius_mean']} "


def test_a_quoted_header_after_a_byte_order_mark(model: TabularModel) -> None:
    row = good_row()
    header = ",".join(f'"{n}"' for n in FEATURE_NAMES)
    text = "\ufeff" + header + "\n" + ",".join(f'"{row[n]}"' for n in FEATURE_NAMES) + "\n"
    scorer = score_csv(model, text)
    out = parse("".join(scorer))
    assert out[0] == [*FEATURE_NAMES, *OUTPUTS]
    assert (out[1][-5], out[1][-1]) == ("Malignant", "")
    assert scorer.tally.sha256.hexdigest() == hashlib.sha256(text.encode()).hexdigest()


def test_header_names_tolerate_a_bom_and_spaces(model: TabularModel) -> None:
    row = good_row()
    header = ["\ufeff" + FEATURE_NAMES[0], *(f" {n} " for n in FEATURE_NAMES[1:])]
    out = parse(scored(model, csv_text(header, [[row[n] for n in FEATURE_NAMES]])))
    assert out[0][0] == FEATURE_NAMES[0]  # the mark is dropped, the names kept as given
    assert out[0][1] == f" {FEATURE_NAMES[1]} "
    assert out[1][-5] == "Malignant"


def test_plain_and_quoted_chunks_give_the_same_output(model: TabularModel) -> None:
    """Plain chunks are split on commas, quoted ones go through csv: the output must agree."""
    values = [[repr(float(v)) for v in row] for row in load_training_data().X[:40]]
    header = ["id", *FEATURE_NAMES, "note"]
    rows = [
        [f"s{i}", *cells, "plain" if i % 3 else "needs, quotes"] for i, cells in enumerate(values)
    ]
    rows[7][2] = "oops"  # a row error in a quoted chunk and in a plain one
    rows[8][2] = ""
    rows[10] = rows[10][:4]  # ragged, in a plain chunk
    text = csv_text(header, rows).replace("\n", "\r\n")  # Windows line ends, too
    one_by_one = scored(model, text, chunk_rows=1)  # each row picks its own path
    assert scored(model, text, chunk_rows=4) == scored(model, text) == one_by_one
    out = parse(one_by_one)
    assert [row[:-5] for row in out[1:]] == [(row + [""] * 8)[:8] for row in rows]
    assert out[11][-1] == "row has 4 cells; the header has 8"


def test_a_quoted_cell_may_span_lines_and_chunks(model: TabularModel) -> None:
    row = good_row()
    header = [*FEATURE_NAMES, "note"]
    notes = ["one", "two\nlines", "carriage\rreturn", "three\nline\nnote", "end"]
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL)  # 3.11 would leave the CR unquoted
    writer.writerows([header, *([*(row[n] for n in FEATURE_NAMES), note] for note in notes)])
    text = buffer.getvalue()
    for chunk_rows in (1, 2, 3, 100):
        out = parse(scored(model, text, chunk_rows=chunk_rows))
        assert [r[len(FEATURE_NAMES)] for r in out[1:]] == notes
        assert {r[-5] for r in out[1:]} == {"Malignant"}


# -- per-row problems -------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("column", "cell", "message"),
    [
        ("radius_mean", "abc", "radius_mean: must be a number"),
        ("radius_mean", "true", "radius_mean: must be a number"),
        ("radius_mean", "1,5", "radius_mean: must be a number"),
        ("texture_mean", "", "texture_mean: must be a number (the cell is empty)"),
        ("texture_mean", "   ", "texture_mean: must be a number (the cell is empty)"),
        (
            "smoothness_mean",
            "nan",
            "smoothness_mean: must be a finite number (not NaN or infinity)",
        ),
        (
            "smoothness_mean",
            "-inf",
            "smoothness_mean: must be a finite number (not NaN or infinity)",
        ),
        ("texture_se", "1e400", "texture_se: must be a finite number (not NaN or infinity)"),
        ("smoothness_se", "-0.001", "smoothness_se: must be at least 0.0"),
        ("symmetry_se", "1.5", "symmetry_se: must be at most 1.0"),
        ("radius_mean", "100.0001", "radius_mean: must be at most 100.0"),
    ],
)
def test_a_bad_cell_fails_its_row_only(
    model: TabularModel, column: str, cell: str, message: str
) -> None:
    good = good_row()
    bad = {**good, column: cell}
    text = csv_text(list(FEATURE_NAMES), [[r[n] for n in FEATURE_NAMES] for r in (good, bad, good)])
    scorer = score_csv(model, text)
    out = records("".join(scorer))
    assert [r["error"] for r in out] == ["", message, ""]
    assert out[1][column] == safe_cell(cell)  # as sent, unless a spreadsheet would run it
    assert (out[1]["label"], out[1]["probability_Malignant"]) == ("", "")
    assert out[0]["label"] == out[2]["label"] == "Malignant"
    assert (scorer.tally.rows, scorer.tally.errors, scorer.tally.labels) == (3, 1, {"Malignant": 2})


@pytest.mark.parametrize(
    ("column", "value"),
    [("smoothness_mean", float("nan")), ("smoothness_se", -0.001), ("symmetry_se", 1.5)],
)
def test_the_same_rules_and_words_as_the_json_schema(
    model: TabularModel, column: str, value: float
) -> None:
    row = {name: float(v) for name, v in good_row().items()}
    with pytest.raises(InvalidInput) as json_error:
        model.validate([{**row, column: value}], row_prefix="")
    text = csv_text(list(FEATURE_NAMES), [[{**row, column: value}[n] for n in FEATURE_NAMES]])
    assert records(scored(model, text))[0]["error"] == json_error.value.message


def test_every_problem_of_a_row_is_named(model: TabularModel) -> None:
    bad = {**good_row(), "radius_mean": "x", "symmetry_se": "2"}
    out = records(scored(model, csv_text(list(FEATURE_NAMES), [[bad[n] for n in FEATURE_NAMES]])))
    assert out[0]["error"] == "radius_mean: must be a number; symmetry_se: must be at most 1.0"


def test_ragged_rows_keep_the_output_rectangular(model: TabularModel) -> None:
    good = [good_row()[n] for n in FEATURE_NAMES]
    header = [*FEATURE_NAMES, "note"]
    text = csv_text(header, [[*good, "a"], good[:3], [*good, "b", "surplus"], [*good, "c"]])
    out = parse(scored(model, text))
    assert {len(row) for row in out} == {len(header) + 5}
    assert [row[-1] for row in out[1:]] == [
        "",
        "row has 3 cells; the header has 7",
        "row has 8 cells; the header has 7 (extra cells dropped)",
        "",
    ]
    assert out[2][:3] == good[:3]
    assert [row[-5] for row in out[1:]] == ["Malignant", "", "", "Malignant"]


def test_blank_lines_are_skipped(model: TabularModel) -> None:
    good = ",".join(good_row()[n] for n in FEATURE_NAMES)
    text = "\n" + ",".join(FEATURE_NAMES) + "\n\n" + good + "\n\n\n" + good + "\r\n\n"
    scorer = score_csv(model, text, chunk_rows=1)
    out = parse("".join(scorer))
    assert len(out) == 3
    assert scorer.tally.rows == 2


# -- whole-file problems ----------------------------------------------------------------------
@pytest.mark.parametrize("missing", FEATURE_NAMES)
def test_a_missing_feature_column_fails_before_any_output(
    model: TabularModel, missing: str
) -> None:
    header = [n for n in FEATURE_NAMES if n != missing]
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        yield ",".join(header) + "\n"
        for _ in range(100_000):
            consumed += 1
            yield "1,2,3,4,5\n"

    with pytest.raises(InvalidInput, match=f"column '{missing}' is missing") as error:
        score_csv(model, lines())  # raised by the call itself: there is no output to iterate
    assert error.value.field == missing
    assert consumed < 2_000


@pytest.mark.parametrize(
    ("header", "field", "match"),
    [
        ([*FEATURE_NAMES, "radius_mean"], "radius_mean", "appears 2 times"),
        ([*FEATURE_NAMES, "label"], "label", "already has a column 'label'"),
        ([*FEATURE_NAMES, " error"], "error", "already has a column 'error'"),
        ([";".join(FEATURE_NAMES)], "radius_mean", "does not look comma-separated"),
    ],
)
def test_a_header_that_cannot_be_scored(
    model: TabularModel, header: list[str], field: str, match: str
) -> None:
    with pytest.raises(InvalidInput, match=match) as error:
        score_csv(model, csv_text(header, []))
    assert error.value.field == field


@pytest.mark.parametrize("text", ["", "\n\n", "\r\n"])
def test_an_empty_file_is_refused(model: TabularModel, text: str) -> None:
    with pytest.raises(InvalidInput, match="the CSV is empty"):
        score_csv(model, text)


def test_a_header_alone_gives_a_header_alone(model: TabularModel) -> None:
    scorer = score_csv(model, ",".join(["id", *FEATURE_NAMES]))
    assert "".join(scorer) == ",".join(["id", *FEATURE_NAMES, *OUTPUTS]) + "\n"
    assert (scorer.tally.rows, scorer.tally.errors, scorer.tally.labels) == (0, 0, {})


@pytest.mark.parametrize("chunk_rows", [1, 2, 10_000])
def test_an_unreadable_row_gets_an_error_row_and_scoring_goes_on(
    model: TabularModel, chunk_rows: int
) -> None:
    good = ",".join(good_row()[n] for n in FEATURE_NAMES)
    huge = '"' + "x" * 200_000 + '"'
    text = ",".join(FEATURE_NAMES) + f"\n{good}\n{good}\n{huge}\n{good}\n"
    scorer = score_csv(model, text, chunk_rows=chunk_rows)
    out = records("".join(scorer))
    assert len(out) == 4  # never a silently truncated file
    assert [r["error"] for r in out] == [
        "",
        "",
        "this row cannot be read: field larger than field limit (131072)",
        "",
    ]
    assert [r["label"] for r in out] == ["Malignant", "Malignant", "", "Malignant"]
    assert (scorer.tally.rows, scorer.tally.errors) == (4, 1)
    assert gc.isenabled()  # collection was paused per chunk, and is back on


# -- streaming --------------------------------------------------------------------------------
def test_input_is_consumed_lazily(model: TabularModel) -> None:
    good = ",".join(good_row()[n] for n in FEATURE_NAMES) + "\n"
    total = 50_000
    consumed = 0

    def lines() -> Iterator[str]:
        nonlocal consumed
        yield ",".join(FEATURE_NAMES) + "\n"
        for _ in range(total):
            consumed += 1
            yield good

    scorer = score_csv(model, lines(), chunk_rows=1_000)
    assert consumed < 2_000  # the header check read one batch, not the file
    header, first = next(scorer), next(scorer)
    assert header.startswith("radius_mean,")
    assert first.count("\n") == 1_000
    assert consumed < 3_000
    assert scorer.tally.rows == 1_000
    rest = list(scorer)
    assert consumed == total
    assert len(rest) == total // 1_000 - 1
    assert scorer.tally.rows == total


def test_chunk_size_does_not_change_the_output(model: TabularModel) -> None:
    X = load_training_data().X
    text = data_csv(X)
    lines = text.splitlines(keepends=True)
    bad = lines[5].replace(lines[5].split(",")[0], "oops", 1)
    text = "".join([*lines[:5], bad, *lines[6:]])
    assert (
        scored(model, text, chunk_rows=7)
        == scored(model, text)
        == scored(model, text, chunk_rows=1)
    )


def test_progress_and_checksum(model: TabularModel) -> None:
    X = load_training_data().X
    text = data_csv(X)
    progress: list[int] = []
    scorer = CsvScorer(model, io.StringIO(text), chunk_rows=100, on_chunk=progress.append)
    assert scorer.chunks() is scorer.chunks()
    list(scorer)
    assert progress == [100] * 5 + [69]
    assert scorer.tally.sha256.hexdigest() == hashlib.sha256(text.encode()).hexdigest()
    labels = model.predict_arrays(Table.from_matrix(model.features, X))["label"]
    assert scorer.tally.labels == {label: labels.count(label) for label in set(labels)}
    assert scorer.tally.scored == 569


def test_only_tabular_models_score_csv(model: TabularModel) -> None:
    assert supports_csv(model)
    assert not supports_csv(object())
