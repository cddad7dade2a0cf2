"""The API documentation page in a real browser, under the site's strict CSP.

A CSP violation is a console error (the ``page`` fixture fails on any), and is also recorded
here from the ``securitypolicyviolation`` event, so a blocked style is caught even where the
browser would only warn.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.browser

RECORD_VIOLATIONS = """
window.cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.cspViolations.push(`${event.violatedDirective} ${event.blockedURI} ${event.sample}`);
});
"""


def shot(page: Any, name: str) -> None:
    folder = os.environ.get("LABSERVE_SCREENSHOTS")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(folder) / f"{name}.png"), full_page=True)


@pytest.fixture
def docs(page: Any, live_server: str) -> Any:
    """/docs, rendered: Swagger UI has read the document."""
    page.add_init_script(RECORD_VIOLATIONS)
    page.goto(live_server + "/docs")
    page.wait_for_selector("html[data-docs-ready]", state="attached")
    return page


def document_of(page: Any, live_server: str) -> dict[str, Any]:
    response = page.request.get(live_server + "/api/v1/openapi.json")
    assert response.ok
    spec: dict[str, Any] = response.json()
    return spec


def test_every_operation_is_rendered(docs: Any, live_server: str) -> None:
    spec = document_of(docs, live_server)
    expected = sorted(
        (method.upper(), path) for path, item in spec["paths"].items() for method in item
    )
    shown = sorted(
        (
            block.locator(".opblock-summary-method").inner_text(),
            block.locator(".opblock-summary-path").get_attribute("data-path"),
        )
        for block in docs.locator(".opblock").all()
    )
    assert shown == expected
    assert docs.locator("button.authorize").count() == 1  # the security schemes
    shot(docs, "api-docs")
    assert docs.evaluate("window.cspViolations") == []


def test_try_a_prediction_from_the_docs(docs: Any) -> None:
    operation = docs.locator("#operations-diagnosis-predict_diagnosis")
    operation.locator(".opblock-summary-control").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    assert status.inner_text() == "200"
    body = operation.locator(".live-responses-table .microlight").first.inner_text()
    assert '"label": "Benign"' in body  # the first example: the typical benign case
    shot(docs, "api-docs-try")
    assert docs.evaluate("window.cspViolations") == []


def test_score_a_csv_file_and_open_the_key_dialog(docs: Any, live_server: str) -> None:
    spec = document_of(docs, live_server)
    route = spec["paths"]["/api/v1/models/diagnosis/predict.csv"]["post"]
    example = route["requestBody"]["content"]["text/csv"]["example"]
    operation = docs.locator("#operations-diagnosis-predict_csv_diagnosis")
    operation.locator(".opblock-summary-control").click()
    operation.locator("button.try-out__btn").click()
    operation.locator("input[type=file]").set_input_files(
        files=[{"name": "cases.csv", "mimeType": "text/csv", "buffer": example.encode()}]
    )
    operation.locator("button.execute").click()
    status = operation.locator(".live-responses-table tbody .response-col_status").first
    assert status.inner_text() == "200"
    docs.locator("button.authorize").click()
    dialog = docs.locator(".modal-ux")
    assert "X-API-Key" in dialog.inner_text()
    dialog.locator(".close-modal").click()
    assert docs.evaluate("window.cspViolations") == []
