"""A lab's own model in a real browser: the page generated from its schema is filled in,
including a select for a categorical input, and submitted."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.conftest import lab_app, serving
from tests.e2e.test_browser import shot
from tests.model_fixtures import LabModel

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab_server(
    trained_instance: Path,
    lab_models: dict[str, LabModel],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("lab-e2e")
    with serving(lab_app(trained_instance, lab_models, folder, ("wine", "categorical"))) as url:
        yield url


def test_fill_a_generated_form_with_a_select(
    page: Any, lab_server: str, lab_models: dict[str, LabModel]
) -> None:
    categorical = lab_models["categorical"]
    row = categorical.X.iloc[5]
    page.goto(lab_server + "/")
    page.click("text=categorical")
    page.wait_for_selector("html[data-enhanced]", state="attached")
    assert page.url.endswith("/models/categorical")
    for name, value in row.items():
        if name == "sex":
            page.select_option("select[name=sex]", str(value))
        else:
            page.fill(f"[name={name}]", str(value))
    page.click("form.model-form button[type=submit]")
    page.wait_for_selector("#predicted-value")
    shown = float(page.inner_text("#predicted-value"))
    expected = float(categorical.estimator.predict(categorical.X.iloc[[5]])[0])
    assert shown == pytest.approx(expected, rel=1e-5)
    assert page.input_value("select[name=sex]") == row["sex"]  # the form keeps the choice
    shot(page, "categorical-result")


def test_a_typical_case_button_fills_a_multiclass_form(page: Any, lab_server: str) -> None:
    page.goto(lab_server + "/models/wine")
    page.wait_for_selector("html[data-enhanced]", state="attached")
    page.click("text=typical class_2 case")
    assert page.input_value("[name=alcohol]") != ""
    page.click("form.model-form button[type=submit]")
    page.wait_for_selector("#predicted-label")
    assert page.inner_text("#predicted-label") == "class_2"
    assert page.locator("table.probabilities tr").count() == 3  # one row per class
    shot(page, "wine-result")
