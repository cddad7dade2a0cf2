"""Formula-like cells of a scored CSV are read as text by spreadsheets (OWASP CSV injection)."""

from __future__ import annotations

import csv
import io

import pytest

from labserve.models.csv_scoring import safe_cell, score_csv
from labserve.models.diagnosis import FEATURE_NAMES
from labserve.models.tabular import TabularModel
from tests.conftest import diagnosis_folder, serve_folder

GOOD = "17.99,10.38,0.1184,0.9053,0.006399,0.03003"


@pytest.fixture(scope="module")
def model(trained_instance) -> TabularModel:  # type: ignore[no-untyped-def]
    return serve_folder(diagnosis_folder(trained_instance))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+2", "'=1+2"),
        ("+41", "+41"),
        ("-1.5", "-1.5"),
        ("-2e-4", "-2e-4"),
        ("-1+2", "'-1+2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\r=cmd", "'\r=cmd"),
        ("plain", "plain"),
        ("", ""),
    ],
)
def test_a_cell_is_prefixed_only_when_a_spreadsheet_would_run_it(cell: str, written: str) -> None:
    assert safe_cell(cell) == written


def scored(model: TabularModel, text: str, **options: object) -> list[list[str]]:
    return list(csv.reader(io.StringIO("".join(score_csv(model, text, **options)))))  # type: ignore[arg-type]


def test_header_inputs_and_outputs_are_neutralised(model: TabularModel) -> None:
    text = f"=id,{','.join(FEATURE_NAMES)},note\n=cmd|' /C calc'!A0,{GOOD},-7\nb,{GOOD},@x\n"
    rows = scored(model, text)
    assert rows[0][0] == "'=id"
    assert rows[1][0] == "'=cmd|' /C calc'!A0"
    assert rows[1][7] == "-7"
    assert rows[2][7] == "'@x"
    assert rows[1][8] == rows[2][8] == "Malignant"


def test_the_fast_path_and_the_csv_module_agree(model: TabularModel) -> None:
    plain = f"id,{','.join(FEATURE_NAMES)},note\n=a,{GOOD},+b\nc,{GOOD},-1\n"
    quoted = plain + f'"d,e",{GOOD},"=f"\n'
    fast, slow = scored(model, plain), scored(model, quoted)
    assert slow[: len(fast)] == fast
    assert slow[-1][0] == "d,e"
    assert slow[-1][7] == "'=f"


def test_raw_cells_when_turned_off(model: TabularModel) -> None:
    rows = scored(model, f"id,{','.join(FEATURE_NAMES)}\n=a,{GOOD}\n", safe_cells=False)
    assert rows[1][0] == "=a"
