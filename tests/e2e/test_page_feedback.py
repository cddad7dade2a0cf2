"""What a scientist sees after a submit, in a real browser: the upload's summary without a
page reload (the chosen file stays chosen), every problem in a focused error summary, and on
a phone the result in view."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.test_browser import SCREENSHOTS, shot
from tests.model_fixtures import LabModel
from tests.web.test_batch_page import lab_csv, twenty_rows_two_bad, without_columns

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


def screen(page: Any, name: str) -> None:
    """The viewport as the person sees it (``shot`` takes the whole page)."""
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))


def csv_file(name: str, text: str) -> dict[str, Any]:
    return {"name": name, "mimeType": "text/csv", "buffer": text.encode()}


def open_model_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-enhanced]", state="attached")


def upload(page: Any, name: str, text: str) -> None:
    """Choose the file and submit; returns once the section shows its answer."""
    page.evaluate("() => { window.notReloaded = true; }")
    page.set_input_files("#csv-file", files=[csv_file(name, text)])
    page.click("form.upload-form button[type=submit]")
    page.wait_for_selector("#batch-outcome-title, #batch-error-summary")
    page.wait_for_selector("form.upload-form button[type=submit]:enabled")
    assert page.evaluate("() => window.notReloaded === true")  # fetch, not a page load


def chosen_file(page: Any) -> str | None:
    name: str | None = page.evaluate(
        "() => { const f = document.querySelector('#csv-file').files; "
        "return f.length ? f[0].name : null; }"
    )
    return name


def focused_id(page: Any) -> str:
    element_id: str = page.evaluate("() => document.activeElement.id")
    return element_id


def in_view(page: Any, selector: str) -> bool:
    """The element's top is on screen (what a person sees first after the submit)."""
    visible: bool = page.evaluate(
        "selector => { const r = document.querySelector(selector).getBoundingClientRect();"
        " return r.top >= -1 && r.top < window.innerHeight - 40; }",
        selector,
    )
    return visible


def test_an_upload_is_summarised_on_the_page(
    page: Any, lab_live_server: str, lab_models: dict[str, LabModel]
) -> None:
    wine = lab_models["wine"]
    open_model_page(page, lab_live_server + "/models/wine")
    assert page.inner_text("label[for=csv-file]") == "CSV file"
    upload(page, "cases.csv", twenty_rows_two_bad(wine))
    assert page.inner_text("#batch-outcome-title") == "cases.csv: 18 rows scored, 2 with problems"
    problems = page.locator(".row-problems tbody tr")
    assert problems.count() == 2
    assert problems.nth(0).inner_text().split("\t") == [
        "4",
        f"{wine.X.columns[0]}: must be a number",
    ]
    assert problems.nth(1).inner_text().startswith("13\t")
    counts = page.locator(".label-counts tbody td:nth-child(2)").all_inner_texts()
    assert sum(map(int, counts)) == 18
    assert chosen_file(page) == "cases.csv"  # the file stays chosen
    assert focused_id(page) == "batch-outcome"
    shot(page, "upload-summary")
    screen(page, "upload-summary-in-view")


def test_the_download_link_gives_the_scored_file(
    page: Any, lab_live_server: str, lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    open_model_page(page, lab_live_server + "/models/wine")
    upload(page, "cases.csv", twenty_rows_two_bad(lab_models["wine"]))
    with page.expect_download() as info:
        page.click("#scored-file-link")
    download = info.value
    assert download.suggested_filename == "cases-wine-scored.csv"
    target = tmp_path / "scored.csv"
    download.save_as(target)
    rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert len(rows) == 20
    assert [i + 1 for i, row in enumerate(rows) if row["error"]] == [4, 13]
    assert all(row["label"] for row in rows if not row["error"])


def test_a_file_missing_two_columns_lists_both_in_a_focused_box(
    page: Any, lab_live_server: str, lab_models: dict[str, LabModel]
) -> None:
    wine = lab_models["wine"]
    dropped = [wine.X.columns[1], wine.X.columns[4]]
    open_model_page(page, lab_live_server + "/models/wine")
    upload(page, "partial.csv", without_columns(lab_csv(wine, 3), dropped))
    summary = page.inner_text("#batch-error-summary")
    assert "The file could not be scored" in summary
    assert f"'{dropped[0]}'" in summary
    assert f"'{dropped[1]}'" in summary
    assert focused_id(page) == "batch-error-summary"
    assert page.get_attribute("#csv-file", "aria-invalid") == "true"
    assert chosen_file(page) == "partial.csv"  # kept, to fix and send again
    screen(page, "upload-missing-columns")
    page.click("#batch-error-summary a")
    assert focused_id(page) == "csv-file"
    # a good file clears the problem
    upload(page, "cases.csv", lab_csv(wine, 5))
    assert page.locator("#batch-error-summary").count() == 0
    assert page.get_attribute("#csv-file", "aria-invalid") is None
    assert page.inner_text("#batch-outcome-title") == "cases.csv: 5 rows scored, 0 with problems"


def test_without_javascript_the_form_post_shows_the_same_summary(
    new_page: Any, lab_live_server: str, lab_models: dict[str, LabModel]
) -> None:
    page = new_page(java_script_enabled=False)
    page.goto(lab_live_server + "/models/wine")
    page.set_input_files(
        "#csv-file", files=[csv_file("cases.csv", twenty_rows_two_bad(lab_models["wine"]))]
    )
    with page.expect_navigation():
        page.click("form.upload-form button[type=submit]")
    assert page.url.endswith("/models/wine/batch#batch")
    assert page.inner_text("#batch-outcome-title") == "cases.csv: 18 rows scored, 2 with problems"
    assert page.locator(".row-problems tbody tr").count() == 2
    assert in_view(page, "#batch")  # the #batch anchor scrolls to the section
    screen(page, "upload-without-javascript")


def test_an_invalid_form_focuses_its_error_summary(page: Any, lab_live_server: str) -> None:
    open_model_page(page, lab_live_server + "/models/diagnosis")
    page.click("text=typical Benign case")
    page.fill("[name=texture_mean]", "twelve")
    page.fill("[name=symmetry_se]", "")
    page.click("form.model-form button[type=submit]")
    page.wait_for_selector("html[data-enhanced]", state="attached")
    assert focused_id(page) == "form-error-summary"
    links = page.locator("#form-error-summary a")
    assert links.all_inner_texts() == [
        "Mean texture: must be a number",
        "Symmetry (standard error): must be a number",
    ]
    links.nth(1).click()
    assert focused_id(page) == "f5"
    shot(page, "form-error-summary")


# -- on a phone --------------------------------------------------------------------------------
def test_on_a_phone_the_prediction_is_in_view_after_submit(
    new_page: Any, lab_live_server: str
) -> None:
    page = new_page(**PHONE)
    open_model_page(page, lab_live_server + "/models/diagnosis")
    page.click("text=typical Malignant case")
    page.click("form.model-form button[type=submit]")
    page.wait_for_selector("html[data-enhanced]", state="attached")
    assert page.inner_text("#predicted-label") == "Malignant"
    assert focused_id(page) == "result"
    assert in_view(page, "#result")
    screen(page, "phone-prediction")


def test_on_a_phone_a_form_error_is_in_view_after_submit(
    new_page: Any, lab_live_server: str
) -> None:
    page = new_page(**PHONE)
    open_model_page(page, lab_live_server + "/models/diagnosis")
    page.click("form.model-form button[type=submit]")  # nothing filled in
    page.wait_for_selector("html[data-enhanced]", state="attached")
    assert focused_id(page) == "form-error-summary"
    assert in_view(page, "#form-error-summary")
    screen(page, "phone-form-errors")


def test_on_a_phone_the_upload_summary_is_in_view_after_submit(
    new_page: Any, lab_live_server: str, lab_models: dict[str, LabModel]
) -> None:
    page = new_page(**PHONE)
    open_model_page(page, lab_live_server + "/models/wine")
    upload(page, "cases.csv", twenty_rows_two_bad(lab_models["wine"]))
    assert in_view(page, "#batch-outcome")
    screen(page, "phone-upload-summary")
    upload(page, "cases.csv", "")
    assert "the CSV is empty" in page.inner_text("#batch-error-summary")
    assert in_view(page, "#batch-error-summary")
    screen(page, "phone-upload-error")
