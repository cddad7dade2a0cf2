"""The summarizer over HTTP: the tutorial's contract, the v1 envelope, the page."""

from __future__ import annotations

import re

import pytest
from flask.testing import FlaskClient

ABSTRACT = (
    "Dr. Chen et al. measured p53 expression in 120 tumour samples. "
    "Expression rose by 35% after treatment with 3.5 mg/mL of cisplatin (Fig. 2). "
    "The effect was stronger in BRCA1 carriers, i.e. in 41 of 57 patients [12]. "
    "Controls showed no change vs. baseline over the 6-week period. "
    "These results suggest that p53 mediates the response to cisplatin in vivo. "
    "Further trials in 2025 will test lower doses, e.g. 1.5 mg/mL, in larger cohorts. "
) * 3


def test_tutorial_contract_verbatim(client: FlaskClient) -> None:
    response = client.post("/api/prediction", json={"text": ABSTRACT, "maxlen": 60, "minlen": 30})
    assert response.status_code == 200
    body = response.get_json()
    assert isinstance(body, list)
    assert len(body) == 1
    assert list(body[0]) == ["summary_text"]
    summary = body[0]["summary_text"]
    assert 30 <= len(summary.split()) <= 60
    # numbers, units and abbreviations survive (the tutorial stripped every digit)
    assert re.search(r"\d", summary)
    for sentence in re.split(r"(?<=[.)\]]) (?=[A-Z])", summary):
        assert sentence.rstrip("…") in ABSTRACT or sentence.endswith("…")


def test_v1_envelope_batches_several_texts(client: FlaskClient) -> None:
    texts = [ABSTRACT, "Short note. It has two sentences only."]
    response = client.post(
        "/api/v1/models/summarizer/predict",
        json={"inputs": [{"text": t} for t in texts], "parameters": {"maxlen": 25, "minlen": 5}},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["model"] == "summarizer"
    assert body["version"] == "1"
    first, second = body["predictions"]
    assert first["backend"] == "extractive"
    assert first["summary_words"] <= 25
    assert first["input_words"] == len(ABSTRACT.split())
    assert second["summary_text"] == "Short note. It has two sentences only."


def test_strip_digits_is_an_option(client: FlaskClient) -> None:
    kept = client.post("/api/prediction", json={"text": ABSTRACT, "maxlen": 60, "minlen": 30})
    stripped = client.post(
        "/api/prediction", json={"text": ABSTRACT, "maxlen": 60, "minlen": 30, "strip_digits": True}
    )
    assert re.search(r"\d", kept.get_json()[0]["summary_text"])
    assert not re.search(r"\d", stripped.get_json()[0]["summary_text"])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"maxlen": 60, "minlen": 30}, "text"),
        ({"text": "", "maxlen": 60, "minlen": 30}, "text"),
        ({"text": "   \n\t ", "maxlen": 60}, "text"),
        ({"text": 42}, "text"),
        ({"text": None}, "text"),
        ({"text": ["a"]}, "text"),
        ({"text": "x" * 1_000_001}, "text"),
        ({"text": ABSTRACT, "maxlen": "60"}, "maxlen"),
        ({"text": ABSTRACT, "maxlen": 60.5}, "maxlen"),
        ({"text": ABSTRACT, "maxlen": True}, "maxlen"),
        ({"text": ABSTRACT, "maxlen": 0}, "maxlen"),
        ({"text": ABSTRACT, "maxlen": -5}, "maxlen"),
        ({"text": ABSTRACT, "maxlen": 100_000}, "maxlen"),
        ({"text": " \n\t\u200b", "maxlen": 20}, "text"),
        ({"text": ABSTRACT, "minlen": None}, "minlen"),
        ({"text": ABSTRACT, "temperature": 0.7}, "temperature"),
    ],
)
def test_tutorial_route_bad_input_names_the_field(
    client: FlaskClient, body: dict, field: str
) -> None:
    response = client.post("/api/prediction", json=body)
    assert response.status_code == 422
    error = response.get_json()
    assert error["error"] == "invalid_input"
    assert error["field"] == field


def test_v1_bad_parameters_are_named_under_parameters(client: FlaskClient) -> None:
    response = client.post(
        "/api/v1/models/summarizer/predict",
        json={"inputs": [{"text": ABSTRACT}], "parameters": {"maxlen": 10, "minlen": -1}},
    )
    assert response.status_code == 422
    assert response.get_json()["field"] == "parameters.minlen"
    response = client.post(
        "/api/v1/models/summarizer/predict", json={"inputs": [{"text": ABSTRACT}, {"txt": "a"}]}
    )
    assert response.get_json()["field"] in {"inputs[1].txt", "inputs[1].text"}


def test_tutorial_form_renders_the_summary_and_keeps_the_text(client: FlaskClient) -> None:
    response = client.post("/prediction", data={"paragraphs": ABSTRACT, "maxlen": "40"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    summary = re.search(r'<p class="summary-text" id="summary">([^<]*)</p>', page)
    assert summary is not None
    assert 1 <= len(summary[1].split()) <= 40
    assert f"{len(ABSTRACT.split())} words" in page
    assert "extractive" in page
    assert "Dr. Chen et al. measured p53" in page.split("<textarea", 1)[1].split("</textarea>")[0]


@pytest.mark.parametrize(
    ("form", "field", "message"),
    [
        ({"paragraphs": "", "maxlen": "40"}, "paragraphs", "must not be empty"),
        ({"paragraphs": ABSTRACT, "maxlen": "forty"}, "maxlen", "whole number"),
        ({"paragraphs": ABSTRACT, "maxlen": "10", "minlen": "0"}, "minlen", "at least 1"),
        ({"paragraphs": ABSTRACT, "maxlen": "0"}, "maxlen", "must be at least 1"),
    ],
)
def test_form_errors_beside_their_field(
    client: FlaskClient, form: dict, field: str, message: str
) -> None:
    response = client.post("/models/summarizer", data=form)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    error = re.search(rf'<p id="{field}-error" class="error">([^<]*)</p>', page)
    assert error is not None
    assert message in error[1]
    assert 'id="summary"' not in page


def test_summarizer_page_lists_backend_and_units(client: FlaskClient) -> None:
    page = client.get("/models/summarizer").get_data(as_text=True)
    assert "(words)" in page
    assert 'name="paragraphs"' in page


def test_the_page_marks_where_each_summary_sentence_came_from(client: FlaskClient) -> None:
    import html
    import re

    text = ABSTRACT + "\n\n" + ABSTRACT.replace("p53", "BRCA1")
    response = client.post("/models/summarizer", data={"paragraphs": text, "maxlen": "40"})
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    marks = re.findall(r'<mark id="source-(\d+)" data-source="\d+">(.*?)</mark>', page, re.S)
    links = re.findall(r'<li><a href="#source-(\d+)">(.*?)</a></li>', page, re.S)
    assert marks
    assert [n for n, _ in marks] == [n for n, _ in links]
    for (_, marked), (_, linked) in zip(marks, links, strict=True):
        assert html.unescape(marked) == html.unescape(linked)
        assert html.unescape(marked) in text  # the very characters of the input


def test_sources_on_request_index_the_input(client: FlaskClient) -> None:
    body = client.post(
        "/api/v1/models/summarizer/predict",
        json={"inputs": [{"text": ABSTRACT}], "parameters": {"maxlen": 30, "return_sources": True}},
    ).get_json()
    prediction = body["predictions"][0]
    assert prediction["sources"]
    for source in prediction["sources"]:
        assert ABSTRACT[source["start"] : source["end"]] == source["text"]
    tutorial = client.post("/api/prediction", json={"text": ABSTRACT, "maxlen": 30}).get_json()
    assert list(tutorial[0]) == ["summary_text"]


def test_minlen_above_maxlen_counts_as_maxlen(client: FlaskClient) -> None:
    """A cross-field refusal no JSON Schema can state; the documented contract caps it."""
    capped = client.post("/api/prediction", json={"text": ABSTRACT, "maxlen": 12, "minlen": 40})
    same = client.post("/api/prediction", json={"text": ABSTRACT, "maxlen": 12, "minlen": 12})
    assert capped.status_code == 200
    assert capped.get_json() == same.get_json()
