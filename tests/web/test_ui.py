"""Pages for people: list, form, result, field errors, and the tutorial's form route."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from flask.testing import FlaskClient

from tests.conftest import FEATURES

LABELS = [
    "Mean radius",
    "Mean texture",
    "Mean smoothness",
    "Texture (standard error)",
    "Smoothness (standard error)",
    "Symmetry (standard error)",
]


def as_form(row: dict[str, float]) -> dict[str, str]:
    return {name: repr(value) for name, value in row.items()}


def test_index_lists_the_models(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert 'href="/models/diagnosis"' in page
    assert "Breast mass diagnosis" in page
    assert "ready" in page


def test_form_has_labelled_fields_with_units_ranges_and_examples(client: FlaskClient) -> None:
    response = client.get("/models/diagnosis")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for label in LABELS:
        assert label in page
    for index, name in enumerate(FEATURES):
        assert f'<label for="f{index}">' in page
        assert f'<input id="f{index}" name="{name}"' in page
    assert "grey levels" in page
    assert "Training range 6.98" in page
    assert "typical Benign case" in page
    assert "typical Malignant case" in page
    assert "Model card" in page
    assert "ROC curve (Malignant = positive)" in page
    assert "Held-out test set" in page
    assert "Feature importance" in page
    assert re.search(r"Malignant when its probability is at least 0\.\d\d", page)
    assert '<link rel="stylesheet" href="/static/styles.css">' in page
    assert "http://" not in page
    assert "https://" not in page


def test_example_buttons_carry_values_that_predict_their_class(client: FlaskClient) -> None:
    import html
    import json

    page = client.get("/models/diagnosis").get_data(as_text=True)
    cases = [json.loads(html.unescape(m)) for m in re.findall(r"data-fill='([^']*)'", page)]
    assert len(cases) == 2
    labels = []
    for case in cases:
        response = client.post("/models/diagnosis", data={k: str(v) for k, v in case.items()})
        labels.append(re.search(r'id="predicted-label">(\w+)<', response.get_data(as_text=True))[1])
    assert labels == ["Benign", "Malignant"]


def test_tutorial_form_route_renders_a_result(client: FlaskClient, malignant_row: dict) -> None:
    response = client.post("/prediction", data=as_form(malignant_row))
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert 'id="predicted-label">Malignant<' in page
    assert re.search(r'aria-label="probability of Malignant">\d+\.\d%</meter>', page)
    assert re.search(r"Malignant is predicted when its probability is at least \d+%", page)
    assert "Model version" in page
    assert f'value="{malignant_row["radius_mean"]!r}"' in page  # the form keeps the values


def test_benign_case_through_the_form(client: FlaskClient, benign_row: dict) -> None:
    page = client.post("/models/diagnosis", data=as_form(benign_row)).get_data(as_text=True)
    assert 'id="predicted-label">Benign<' in page


@pytest.mark.parametrize(
    ("field", "typed", "message"),
    [
        ("radius_mean", "abc", "must be a number"),
        ("radius_mean", "", "must be a number"),
        ("texture_mean", "-4", "must be at least 0.0"),
        ("smoothness_mean", "12", "must be at most 1.0"),
        ("symmetry_se", "inf", "finite"),
        ("texture_se", "<script>alert(1)</script>", "must be a number"),
    ],
)
def test_invalid_values_are_shown_beside_their_field(
    client: FlaskClient, benign_row: dict, field: str, typed: str, message: str
) -> None:
    response = client.post("/prediction", data={**as_form(benign_row), field: typed})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    index = FEATURES.index(field)
    error = re.search(rf'<p id="f{index}-error" class="error">([^<]*)</p>', page)
    assert error
    assert message in error[1]
    assert 'id="predicted-label"' not in page  # no result for an invalid form
    assert "<script>alert(1)</script>" not in page  # autoescaped, kept as typed
    kept = re.search(rf'name="{field}"[^>]*\n\s*value="([^"]*)"', page)
    assert kept is not None
    assert kept[1] == typed.replace("<", "&lt;").replace(">", "&gt;")


def test_missing_form_fields_are_reported(client: FlaskClient) -> None:
    response = client.post("/prediction", data={"radius_mean": "14"})
    assert response.status_code == 422
    assert response.get_data(as_text=True).count('class="error"') == 5


def test_out_of_training_range_is_flagged(client: FlaskClient, benign_row: dict) -> None:
    page = client.post("/models/diagnosis", data={**as_form(benign_row), "radius_mean": "45"})
    text = page.get_data(as_text=True)
    assert "Outside the training range" in text
    assert "<code>radius_mean</code>: 45 is outside the training range 6.981 to 28.11" in text


def test_unknown_model_page_is_404(client: FlaskClient) -> None:
    assert client.get("/models/nope").status_code == 404


def test_a_prediction_explains_itself_with_contributions(
    client: FlaskClient, malignant_row: dict
) -> None:
    page = client.post("/models/diagnosis", data=as_form(malignant_row)).get_data(as_text=True)
    assert "each input's contribution to the probability of Malignant" in page
    values = [float(v) for v in re.findall(r"<td>([+-]\d\.\d{3})</td>", page)]
    assert len(values) == 6
    assert values == sorted(values, key=abs, reverse=True)


def test_the_card_shows_calibration_and_the_chosen_threshold(client: FlaskClient) -> None:
    page = client.get("/models/diagnosis").get_data(as_text=True)
    assert "Calibration (Malignant)" in page
    assert "observed rate" in page
    assert re.search(r"Sensitivity at threshold 0\.\d+", page)
    assert "the highest threshold with sensitivity &gt;= 0.95" in page


def test_an_invalid_form_lists_every_problem_at_its_top(
    client: FlaskClient, benign_row: dict
) -> None:
    form = {**as_form(benign_row), "texture_mean": "twelve", "symmetry_se": ""}
    page = client.post("/models/diagnosis", data=form).get_data(as_text=True)
    summary = re.search(r'<div class="error-summary" id="form-error-summary"(.*?)</ul>', page, re.S)
    assert summary
    assert 'tabindex="-1" data-error-summary' in summary[1]  # labserve.js focuses it
    assert re.findall(r'<li><a href="(#f\d)">([^<]*)</a></li>', summary[1]) == [
        ("#f1", "Mean texture: must be a number"),
        ("#f5", "Symmetry (standard error): must be a number"),
    ]
    assert page.index("form-error-summary") < page.index('id="f0"')  # above the fields
    assert "data-fresh-result" not in page


def test_a_valid_form_marks_its_result_fresh(client: FlaskClient, benign_row: dict) -> None:
    assert "data-fresh-result" not in client.get("/models/diagnosis").get_data(as_text=True)
    page = client.post("/models/diagnosis", data=as_form(benign_row)).get_data(as_text=True)
    assert re.search(r'<section class="result-panel"[^>]*tabindex="-1" data-fresh-result>', page)
    assert "error-summary" not in re.sub(r"<template .*?</template>", "", page, flags=re.S)


def test_the_text_page_lists_its_problems_at_its_top(client: FlaskClient) -> None:
    page = client.post(
        "/models/summarizer", data={"paragraphs": "Some text.", "maxlen": "many"}
    ).get_data(as_text=True)
    summary = re.search(r'id="form-error-summary"(.*?)</ul>', page, re.S)
    assert summary
    assert re.findall(r'<a href="(#\w+)">', summary[1]) == ["#maxlen"]


class LabelledControls(HTMLParser):
    """The ids of form controls, and of the controls labels point at (or wrap)."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[str] = []
        self.labelled: set[str] = set()
        self.open_label = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "label":
            self.open_label = True
            if attributes.get("for"):
                self.labelled.add(str(attributes["for"]))
        elif tag in ("input", "select", "textarea"):
            if attributes.get("type") in ("hidden", "submit"):
                return
            self.controls.append(str(attributes.get("id")))
            if self.open_label or attributes.get("aria-label"):
                self.labelled.add(str(attributes.get("id")))

    def handle_endtag(self, tag: str) -> None:
        if tag == "label":
            self.open_label = False


@pytest.mark.parametrize("path", ["/models/diagnosis", "/models/summarizer"])
def test_every_form_control_is_labelled(client: FlaskClient, path: str) -> None:
    parser = LabelledControls()
    parser.feed(client.get(path).get_data(as_text=True))
    assert parser.controls
    assert set(parser.controls) <= parser.labelled
    if path == "/models/diagnosis":
        assert "csv-file" in parser.controls
