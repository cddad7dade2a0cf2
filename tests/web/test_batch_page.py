"""The model page's upload form: a summary on the page, the scored file behind a token,
every problem of a refused file, and the bounds of the folder the files are kept in."""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from labserve.models.store import ModelStore
from labserve.web import close_app, create_app
from labserve.web.batch_page import SCORED_FILES_KEY, download_name, human_size
from labserve.web.batch_summary import SHOWN_PROBLEMS, SummaryReader
from labserve.web.scored_files import ScoredFiles, ScoredFileTooLarge
from tests.model_fixtures import LabModel

FRAGMENT = {"X-Labserve-Fragment": "batch"}


def lab_csv(lab: LabModel, rows: int, bad: dict[int, tuple[str, str]] | None = None) -> str:
    """``rows`` rows of a lab model's data with an ``id`` column; ``bad`` maps a row index to
    (column, cell) to spoil it."""
    columns = list(lab.X.columns)
    lines = [",".join(["id", *columns])]
    for index in range(rows):
        cells = {name: str(value) for name, value in lab.X.iloc[index].items()}
        if bad and index in bad:
            column, cell = bad[index]
            cells[column] = cell
        lines.append(",".join([f"case-{index}", *(cells[name] for name in columns)]))
    return "\n".join(lines) + "\n"


def without_columns(text: str, dropped: list[str]) -> str:
    """The CSV ``text`` less the ``dropped`` columns (header and cells)."""
    rows = list(csv.reader(io.StringIO(text)))
    keep = [i for i, name in enumerate(rows[0]) if name not in dropped]
    return "".join(",".join(row[i] for i in keep) + "\n" for row in rows)


def twenty_rows_two_bad(lab: LabModel) -> str:
    """The file of the issue: 20 rows, rows 4 and 13 (counted from 1) cannot be scored."""
    first, second = lab.X.columns[0], lab.X.columns[1]
    return lab_csv(lab, 20, bad={3: (first, "n/a"), 12: (second, "")})


@pytest.fixture(scope="module")
def batch_instance(
    trained_instance: Path,
    lab_models: dict[str, LabModel],
    tmp_path_factory: pytest.TempPathFactory,
) -> Path:
    instance = tmp_path_factory.mktemp("batch")
    shutil.copytree(trained_instance / "models", instance / "models")
    store = ModelStore(instance / "models")
    for name in ("wine", "diabetes", "categorical"):
        store.add(name, lab_models[name].folder)
    return instance


@pytest.fixture
def batch_app(batch_instance: Path, tmp_path: Path) -> Iterator[Flask]:
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(batch_instance),
            "LOAD_MODELS": "sync",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "MODEL_POLL_SECONDS": 0,
            "JOURNAL_PATH": str(tmp_path / "journal"),
            "WTF_CSRF_ENABLED": False,  # tests/web/test_security.py posts with tokens
        }
    )
    app.extensions[SCORED_FILES_KEY] = ScoredFiles(tmp_path / "kept")
    yield app
    close_app(app)


@pytest.fixture
def kept(batch_app: Flask) -> ScoredFiles:
    store: ScoredFiles = batch_app.extensions[SCORED_FILES_KEY]
    return store


@pytest.fixture
def client(batch_app: Flask) -> FlaskClient:
    return batch_app.test_client()


def upload(
    client: FlaskClient, model: str, text: str | bytes, name: str = "cases.csv", **kwargs: object
) -> tuple[int, str]:
    body = text.encode() if isinstance(text, str) else text
    response = client.post(
        f"/models/{model}/batch",
        data={"file": (io.BytesIO(body), name)},
        content_type="multipart/form-data",
        **kwargs,  # type: ignore[arg-type]
    )
    return response.status_code, response.get_data(as_text=True)


def download_link(page: str) -> str:
    found = re.search(r'<a href="([^"]+)" id="scored-file-link">', page)
    assert found, "no download link on the page"
    return found[1]


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def audited(client: FlaskClient) -> list[dict[str, object]]:
    records: list[dict[str, object]] = client.get("/api/v1/predictions").get_json()["predictions"]
    return records


# -- a scored upload ---------------------------------------------------------------------------
def test_twenty_rows_two_bad_summarised_on_the_page(
    client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    wine = lab_models["wine"]
    status, page = upload(client, "wine", twenty_rows_two_bad(wine))
    assert status == 200
    assert "<h1>" in page  # without JavaScript: the whole page, with the summary in it
    assert "cases.csv: 18 rows scored, 2 with problems" in page
    problems = re.findall(r"<tr><td>(\d+)</td><td>([^<]*)</td></tr>", page)
    assert problems == [
        ("4", f"{wine.X.columns[0]}: must be a number"),
        ("13", f"{wine.X.columns[1]}: must be a number (the cell is empty)"),
    ]
    table = page[page.index('<table class="label-counts">') :]
    table = table[: table.index("</table>")]
    counts = dict(re.findall(r'<tr><th scope="row">(\w+)</th><td>(\d+)</td>', table))
    assert sum(map(int, counts.values())) == 18
    assert set(counts) <= {"class_0", "class_1", "class_2"}
    assert 'action="/models/wine/batch#batch"' in page


def test_the_download_is_the_scored_file_and_scoring_happened_once(
    client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    text = twenty_rows_two_bad(lab_models["wine"])
    _, page = upload(client, "wine", text)
    link = download_link(page)
    assert link.endswith("/cases-wine-scored.csv")
    with client.get(link) as response:
        assert response.status_code == 200
        assert response.mimetype == "text/csv"
        disposition = response.headers["Content-Disposition"]
        assert disposition == "attachment; filename=cases-wine-scored.csv"
        assert response.headers["Cache-Control"] == "no-store"
        scored = response.get_data(as_text=True)
    api = client.post("/api/v1/models/wine/predict.csv", data=text, content_type="text/csv")
    assert scored == api.get_data(as_text=True)  # the same bytes as the API gives
    rows = parse(scored)
    assert len(rows) == 20
    assert [i + 1 for i, row in enumerate(rows) if row["error"]] == [4, 13]
    page_record, api_record = audited(client)[::-1]  # newest first
    assert page_record["caller"] == "ui"  # one record per file, as for the API
    assert page_record["rows"] == 20
    assert page_record["outputs"] == api_record["outputs"]


def test_the_fragment_is_the_upload_section_alone(
    client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    status, fragment = upload(
        client, "wine", twenty_rows_two_bad(lab_models["wine"]), headers=FRAGMENT
    )
    assert status == 200
    assert fragment.lstrip().startswith("<section")
    assert "<h1>" not in fragment
    assert "18 rows scored, 2 with problems" in fragment
    assert "data-fresh-result" in fragment


def test_a_regressor_gets_counts_without_labels(
    client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    status, page = upload(client, "diabetes", lab_csv(lab_models["diabetes"], 12))
    assert status == 200
    assert "12 rows scored, 0 with problems" in page
    assert "Predicted labels" not in page
    assert "Rows with problems" not in page
    with client.get(download_link(page)) as response:
        assert len(parse(response.get_data(as_text=True))) == 12


def test_out_of_range_rows_are_counted(
    client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    wine = lab_models["wine"]
    text = lab_csv(wine, 5, bad={0: (wine.X.columns[0], "40")})
    _, page = upload(client, "wine", text)
    assert "1 scored row has a value outside the training range" in page


def test_only_the_first_problems_are_listed(
    client: FlaskClient, lab_models: dict[str, LabModel]
) -> None:
    wine = lab_models["wine"]
    column = wine.X.columns[2]
    text = lab_csv(wine, 40, bad={i: (column, "x") for i in range(0, 40, 2)})
    _, page = upload(client, "wine", text)
    assert "20 rows scored, 20 with problems" in page
    assert f"Rows with problems: the first {SHOWN_PROBLEMS} of 20" in page
    assert len(re.findall(r"<tr><td>\d+</td>", page)) == SHOWN_PROBLEMS


def test_user_text_is_escaped(client: FlaskClient, lab_models: dict[str, LabModel]) -> None:
    name = "<img src=x onerror=alert(1)>.csv"
    status, page = upload(client, "diabetes", lab_csv(lab_models["diabetes"], 2), name=name)
    assert status == 200
    assert "&lt;img src=x onerror=alert(1)&gt;.csv: 2 rows scored" in page
    assert "<img" not in page
    assert download_link(page).endswith("/img-src-x-onerror-alert-1-diabetes-scored.csv")


# -- a refused file ---------------------------------------------------------------------------
def test_every_missing_column_is_listed_in_a_focusable_summary(
    client: FlaskClient, lab_models: dict[str, LabModel], kept: ScoredFiles
) -> None:
    wine = lab_models["wine"]
    dropped = [wine.X.columns[1], wine.X.columns[4]]
    status, page = upload(
        client, "wine", without_columns(lab_csv(wine, 3), dropped), headers=FRAGMENT
    )
    assert status == 422
    summary = re.search(
        r'<div class="error-summary" id="batch-error-summary"(.*?)</ul>', page, re.S
    )
    assert summary
    assert 'tabindex="-1" data-error-summary' in summary[1]
    assert f"2 columns (&#39;{dropped[0]}&#39;, &#39;{dropped[1]}&#39;) are missing" in summary[1]
    assert '<a href="#csv-file">' in summary[1]
    assert 'aria-invalid="true"' in page
    assert "rows scored" not in page
    assert not kept.root.exists() or not any(kept.root.iterdir())


@pytest.mark.parametrize(
    ("body", "name", "message"),
    [
        (b"", "empty.csv", "the CSV is empty"),
        (b"PK\x03\x04\x14\x00\x06\x00\x08\x00", "cases.xlsx", "cases.xlsx is not a CSV file"),
        ("a;b;c\n1;2;3\n".encode("utf-16"), "cases.txt", "is not a CSV file"),
    ],
)
def test_a_file_that_is_not_a_csv_is_refused_on_the_page(
    client: FlaskClient, body: bytes, name: str, message: str
) -> None:
    status, page = upload(client, "diagnosis", body, name=name)
    assert status == 422
    assert message in page
    assert "There is a problem" not in page  # the form above has none
    assert "The file could not be scored" in page


def test_no_file_chosen(client: FlaskClient) -> None:
    response = client.post("/models/diagnosis/batch", data={}, content_type="multipart/form-data")
    assert response.status_code == 422
    assert "choose a CSV file to upload" in response.get_data(as_text=True)


def test_a_file_over_the_upload_limit_is_a_problem_on_the_page(
    batch_instance: Path, tmp_path: Path
) -> None:
    app = create_app(
        {
            "TESTING": True,
            "INSTANCE_PATH": str(batch_instance),
            "LOAD_MODELS": "sync",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "MAX_CONTENT_LENGTH": 2048,
            "JOURNAL_PATH": str(tmp_path / "journal"),
            "WTF_CSRF_ENABLED": False,
        }
    )
    try:
        status, page = upload(app.test_client(), "diagnosis", "x" * 4096)
    finally:
        close_app(app)
    assert status == 422
    assert "larger than the upload limit of 0.00195312 MiB" in page


def test_an_unreadable_row_is_never_shown_as_scored(client: FlaskClient, kept: ScoredFiles) -> None:
    """A cell over the csv module's size limit makes its row an error row: the page says the
    row cannot be read, and the rows around it are scored."""
    from labserve.models.diagnosis import FEATURE_NAMES
    from tests.conftest import data_row

    good = ",".join(repr(data_row(0)[name]) for name in FEATURE_NAMES)
    text = ",".join(FEATURE_NAMES) + f"\n{good}\n{good}\n" + '"' + "x" * 200_000 + '"\n'
    status, page = upload(client, "diagnosis", text)
    assert status == 200
    assert "2 rows scored, 1 with problems" in page
    assert re.search(r"<tr><td>3</td><td>[^<]*cannot be read", page)


def test_a_scored_file_over_its_bound_is_not_kept(
    batch_app: Flask, client: FlaskClient, lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    small = ScoredFiles(tmp_path / "small", max_file_bytes=2000)
    batch_app.extensions[SCORED_FILES_KEY] = small
    status, page = upload(client, "wine", lab_csv(lab_models["wine"], 40))
    assert status == 422
    assert "the scored file would be over" in page
    assert list(small.root.iterdir()) == []


# -- the download -----------------------------------------------------------------------------
def test_a_token_that_is_not_kept_is_gone(client: FlaskClient) -> None:
    for token in ("A" * 43, "..", "short"):
        response = client.get(f"/models/wine/scored/{token}/x.csv")
        assert response.status_code == 410
        assert "no longer kept" in response.get_data(as_text=True)
    assert client.get("/models/wine/scored/..%2F..%2Fdb.sqlite/x.csv").status_code == 404
    assert client.get(f"/models/nope/scored/{'A' * 43}/x.csv").status_code == 404


def test_an_expired_file_is_refused_and_deleted(
    client: FlaskClient, lab_models: dict[str, LabModel], kept: ScoredFiles
) -> None:
    _, page = upload(client, "wine", lab_csv(lab_models["wine"], 3))
    link = download_link(page)
    (path,) = kept.root.glob("*.csv")
    hour_ago = time.time() - kept.keep_seconds - 1
    os.utime(path, (hour_ago, hour_ago))
    assert client.get(link).status_code == 410
    assert not path.exists()


# -- the folder of kept files -----------------------------------------------------------------
def keep(store: ScoredFiles, text: str) -> Path:
    with store.writer() as writer:
        writer.write(text)
        return writer.keep().path


def test_kept_files_are_private_and_named_by_unguessable_tokens(tmp_path: Path) -> None:
    store = ScoredFiles(tmp_path / "kept")
    paths = [keep(store, "a,b\n") for _ in range(3)]
    assert len({p.stem for p in paths}) == 3
    for path in paths:
        assert re.fullmatch(r"[A-Za-z0-9_-]{43}", path.stem)  # 256 random bits
        assert path.stat().st_mode & 0o777 == 0o600
        assert store.find(path.stem) == path
    assert store.root.stat().st_mode & 0o777 == 0o700
    assert store.find("../" + paths[0].stem) is None


def test_the_oldest_files_make_room(tmp_path: Path) -> None:
    store = ScoredFiles(tmp_path / "kept", max_total_bytes=250)
    first, second = keep(store, "x" * 100), keep(store, "y" * 100)
    os.utime(first, (time.time() - 20, time.time() - 20))
    os.utime(second, (time.time() - 10, time.time() - 10))
    third = keep(store, "z" * 100)
    assert (first.exists(), second.exists(), third.exists()) == (False, True, True)


def test_expired_and_abandoned_files_are_swept(tmp_path: Path) -> None:
    store = ScoredFiles(tmp_path / "kept", keep_seconds=60)
    old = keep(store, "old\n")
    abandoned = store.root / "abandoned.part"
    abandoned.write_text("half")
    long_ago = time.time() - 61
    for path in (old, abandoned):
        os.utime(path, (long_ago, long_ago))
    new = keep(store, "new\n")
    assert sorted(p.name for p in store.root.iterdir()) == [new.name]


def test_a_file_over_its_bound_leaves_nothing(tmp_path: Path) -> None:
    store = ScoredFiles(tmp_path / "kept", max_file_bytes=10)
    with store.writer() as writer:
        writer.write("12345")
        with pytest.raises(ScoredFileTooLarge):
            writer.write("678901")
    assert list(store.root.iterdir()) == []


def test_an_unfinished_file_is_never_found(tmp_path: Path) -> None:
    store = ScoredFiles(tmp_path / "kept")
    with store.writer() as writer:
        writer.write("a\n")
        assert store.find(writer.token) is None
    assert list(store.root.iterdir()) == []  # never kept: dropped


# -- reading the summary ----------------------------------------------------------------------
def test_the_summary_reads_quoted_messages_and_labels() -> None:
    reader = SummaryReader()
    reader.feed("id,x,label,warnings,error\n")
    reader.feed('1,2,"a, b",,\n2,x,,,"x: must be one of F, M"\n')
    reader.feed('\n3,5,"a, b","x: 5 is outside",\n')
    summary = reader.summary
    assert (summary.rows, summary.problems, summary.scored, summary.warned) == (3, 1, 2, 1)
    assert summary.labels == {"a, b": 2}
    assert [(p.row, p.message) for p in summary.first_problems] == [(2, "x: must be one of F, M")]
    assert summary.label_shares() == [("a, b", 2, 1.0)]


def test_names_and_sizes_for_people() -> None:
    assert download_name("cases.CSV", "wine") == "cases-wine-scored.csv"
    assert download_name("my data (v2).txt", "wine") == "my-data--v2-.txt-wine-scored.csv"
    assert download_name("...", "wine") == "upload-wine-scored.csv"
    assert [human_size(n) for n in (999, 18_200, 3_400_000)] == ["999 bytes", "18.2 kB", "3.4 MB"]
