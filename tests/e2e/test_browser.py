"""A person's path through the UI, in a real browser."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

SCREENSHOTS = (
    Path(os.environ.get("LABSERVE_SCREENSHOTS", ""))
    if os.environ.get("LABSERVE_SCREENSHOTS")
    else None
)


def shot(page: Any, name: str) -> None:
    if SCREENSHOTS is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_typical_malignant_case_through_the_form(page: Any, live_server: str) -> None:
    page.goto(live_server + "/")
    page.click("text=Breast mass diagnosis")
    page.wait_for_selector("html[data-enhanced]", state="attached")
    assert page.url.endswith("/models/diagnosis")
    page.click("text=typical Malignant case")
    assert page.input_value("[name=radius_mean]") != ""
    page.click("button[type=submit]")
    page.wait_for_selector("#predicted-label")
    assert page.inner_text("#predicted-label") == "Malignant"
    assert "%" in page.inner_text(".probabilities")
    shot(page, "diagnosis-result")


def test_typical_benign_case_and_a_typo(page: Any, live_server: str) -> None:
    page.goto(live_server + "/models/diagnosis")
    page.wait_for_selector("html[data-enhanced]", state="attached")
    page.click("text=typical Benign case")
    page.click("button[type=submit]")
    assert page.inner_text("#predicted-label") == "Benign"
    page.fill("[name=texture_mean]", "twelve")
    page.click("button[type=submit]")
    assert page.inner_text("#f1-error") == "must be a number"
    assert page.input_value("[name=texture_mean]") == "twelve"  # kept as typed
    assert page.get_attribute("[name=texture_mean]", "aria-invalid") == "true"
    shot(page, "diagnosis-error")


def test_stylesheet_is_applied(page: Any, live_server: str) -> None:
    page.goto(live_server + "/models/diagnosis")
    colour = page.evaluate("getComputedStyle(document.querySelector('.topbar')).backgroundColor")
    assert colour == "rgb(29, 39, 51)"


def test_summarise_a_pasted_abstract(page: Any, live_server: str) -> None:
    text = (
        "Dr. Chen et al. measured p53 expression in 120 tumour samples. "
        "Expression rose by 35% after 3.5 mg/mL of cisplatin (Fig. 2). "
        "The effect was stronger in BRCA1 carriers [12]. "
        "Controls showed no change vs. baseline. "
    ) * 4
    page.goto(live_server + "/models/summarizer")
    page.fill("#paragraphs", text)
    page.fill("#maxlen", "30")
    page.fill("#minlen", "10")
    page.click("button[type=submit]")
    summary = page.inner_text("#summary")
    assert 10 <= len(summary.split()) <= 30
    assert (
        page.input_value("#paragraphs") == text.strip() or page.input_value("#paragraphs") == text
    )
    assert "extractive" in page.inner_text(".result-panel")
    shot(page, "summarizer-result")


def test_the_summary_is_highlighted_in_the_pasted_text(page: Any, live_server: str) -> None:
    text = (
        "Background. Ovarian tumours often resist cisplatin. "
        "We show that restoring p53 makes resistant ovarian tumour cells die after cisplatin. "
        "Cells were grown in RPMI medium for 24 h before treatment (Fig. 1). "
        "Apoptosis rose from 12.5% to 42.7% when p53 was restored in 9 of 11 lines. "
        "The cafeteria was renovated in 2019. "
        "In conclusion, p53 status decides whether ovarian tumour cells die after cisplatin."
    )
    page.goto(live_server + "/models/summarizer")
    page.fill("#paragraphs", text)
    page.fill("#maxlen", "30")
    page.click("button[type=submit]")
    marks = page.locator(".source-text mark")
    links = page.locator("ol.sources a")
    assert marks.count() == links.count() >= 1
    for index in range(marks.count()):
        assert marks.nth(index).inner_text() == links.nth(index).inner_text()
        assert marks.nth(index).inner_text() in text
    colour = page.evaluate(
        "getComputedStyle(document.querySelector('.source-text mark')).backgroundColor"
    )
    assert colour == "rgb(255, 241, 184)"  # visibly marked, by the stylesheet (no inline style)
    links.first.click()
    assert page.evaluate("location.hash") == "#source-1"
    shot(page, "summarizer-sources")
