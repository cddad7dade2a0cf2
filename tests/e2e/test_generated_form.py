"""A lab's own model in a real browser: the page generated from its schema is filled in,
including a select for a categorical input, and submitted."""

from __future__ import annotations

import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from labserve.models.store import ModelStore
from labserve.web import close_app, create_app
from tests.e2e.conftest import wait_until_ready
from tests.e2e.test_browser import shot
from tests.model_fixtures import LabModel

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def lab_server(
    trained_instance: Path,
    lab_models: dict[str, LabModel],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    instance = tmp_path_factory.mktemp("lab-e2e")
    shutil.copytree(trained_instance / "models", instance / "models")
    store = ModelStore(instance / "models")
    store.add("wine", lab_models["wine"].folder)
    store.add("categorical", lab_models["categorical"].folder)
    app = create_app(
        {
            "INSTANCE_PATH": str(instance),
            "LOAD_MODELS": "background",
            "DATABASE_URL": f"sqlite:///{instance / 'labserve.db'}",
        }
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    wait_until_ready(url)
    yield url
    server.shutdown()
    thread.join(5)
    close_app(app)


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
