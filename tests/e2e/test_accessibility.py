"""axe-core audits every kind of page in each state a person brings it to: no serious or
critical violation (contrast, labels, landmarks, names, ARIA), on a desktop and a phone."""

from __future__ import annotations

from typing import Any

import pytest

from tests.e2e.conftest import assert_accessible
from tests.e2e.test_page_feedback import PHONE, open_model_page, upload
from tests.model_fixtures import LabModel
from tests.web.test_batch_page import lab_csv, twenty_rows_two_bad, without_columns

pytestmark = pytest.mark.browser

ABSTRACT = (
    "Background. Ovarian tumours often resist cisplatin. "
    "We show that restoring p53 makes resistant ovarian tumour cells die after cisplatin. "
    "Cells were grown in RPMI medium for 24 h before treatment (Fig. 1). "
    "Apoptosis rose from 12.5% to 42.7% when p53 was restored in 9 of 11 lines. "
    "In conclusion, p53 status decides whether ovarian tumour cells die after cisplatin.\n\n"
) * 12  # long enough that the marked-up text scrolls


@pytest.fixture(params=["desktop", "phone"])
def audited_page(request: pytest.FixtureRequest, new_page: Any) -> Any:
    return new_page(**(PHONE if request.param == "phone" else {}))


def test_the_index_page(audited_page: Any, lab_live_server: str, axe_source: str) -> None:
    audited_page.goto(lab_live_server + "/")
    assert_accessible(audited_page, axe_source)


def test_a_classifier_page_before_and_after_a_prediction(
    audited_page: Any, lab_live_server: str, axe_source: str
) -> None:
    page = audited_page
    open_model_page(page, lab_live_server + "/models/diagnosis")
    assert_accessible(page, axe_source)
    page.click("text=typical Malignant case")
    page.click("form.model-form button[type=submit]")
    page.wait_for_selector("#predicted-label")
    assert_accessible(page, axe_source)


def test_a_page_with_an_error_summary(
    audited_page: Any, lab_live_server: str, axe_source: str
) -> None:
    page = audited_page
    open_model_page(page, lab_live_server + "/models/wine")
    page.fill("[name=alcohol]", "strong")
    page.click("form.model-form button[type=submit]")
    page.wait_for_selector("#form-error-summary")
    assert_accessible(page, axe_source)


def test_a_page_after_an_upload_and_a_refused_upload(
    audited_page: Any,
    lab_live_server: str,
    lab_models: dict[str, LabModel],
    axe_source: str,
) -> None:
    page, wine = audited_page, lab_models["wine"]
    open_model_page(page, lab_live_server + "/models/wine")
    upload(page, "cases.csv", twenty_rows_two_bad(wine))
    assert_accessible(page, axe_source)
    upload(page, "partial.csv", without_columns(lab_csv(wine, 2), list(wine.X.columns[:2])))
    page.wait_for_selector("#batch-error-summary")
    assert_accessible(page, axe_source)


def test_a_regressor_page_after_an_upload(
    audited_page: Any,
    lab_live_server: str,
    lab_models: dict[str, LabModel],
    axe_source: str,
) -> None:
    page = audited_page
    open_model_page(page, lab_live_server + "/models/diabetes")
    upload(page, "cases.csv", lab_csv(lab_models["diabetes"], 10))
    assert_accessible(page, axe_source)


def test_the_summarizer_page_before_and_after_a_summary(
    audited_page: Any, lab_live_server: str, axe_source: str
) -> None:
    page = audited_page
    open_model_page(page, lab_live_server + "/models/summarizer")
    assert_accessible(page, axe_source)
    page.fill("#paragraphs", ABSTRACT)
    page.fill("#maxlen", "40")
    page.click("button[type=submit]")
    page.wait_for_selector(".source-text mark")
    assert_accessible(page, axe_source)
    page.fill("#maxlen", "many")
    page.click("button[type=submit]")
    page.wait_for_selector("#form-error-summary")
    assert_accessible(page, axe_source)
