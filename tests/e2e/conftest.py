"""A live labserve on a free loopback port, and headless Debian Chromium driven by Playwright.

In CI a missing browser is a failure, never a silent skip; on a developer machine without
Chromium the browser tests skip with the reason.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from labserve.web import close_app, create_app

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def wait_until_ready(url: str, deadline_s: float = 20.0) -> None:
    """Poll /readyz until it answers 200 (no blind sleeps)."""
    end = time.monotonic() + deadline_s
    while True:
        try:
            with urllib.request.urlopen(url + "/readyz", timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > end:
            raise TimeoutError(f"{url} not ready after {deadline_s}s")
        time.sleep(0.05)


@contextmanager
def serving(app: Flask) -> Iterator[str]:
    """``app`` on a free loopback port, in a thread of this process; its URL once /readyz
    answers 200. The app is closed afterwards."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_port}"
        wait_until_ready(url)
        yield url
    finally:
        server.shutdown()
        thread.join(5)
        close_app(app)


def lab_app(trained_instance: Path, lab_models: Any, folder: Path, names: tuple[str, ...]) -> Flask:
    """An app on an instance of its own (uploads keep scored files in it): the built-in
    models plus the lab models ``names``."""
    from labserve.models.store import ModelStore

    shutil.copytree(trained_instance / "models", folder / "models")
    store = ModelStore(folder / "models")
    for name in names:
        store.add(name, lab_models[name].folder)
    return create_app(
        {
            "INSTANCE_PATH": str(folder),
            "LOAD_MODELS": "background",
            "DATABASE_URL": f"sqlite:///{folder / 'labserve.db'}",
        }
    )


@pytest.fixture(scope="session")
def live_server(trained_instance: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    database = tmp_path_factory.mktemp("e2e") / "labserve.db"
    app = create_app(
        {
            "INSTANCE_PATH": str(trained_instance),
            "LOAD_MODELS": "background",
            "DATABASE_URL": f"sqlite:///{database}",
            "JOURNAL_PATH": str(database.parent / "journal"),
        }
    )
    with serving(app) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail("Chromium is not installed; scripts/check installs it in CI")
        pytest.skip("Chromium not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def is_unexpected(message: Any) -> bool:
    """Console errors count, except the browser's note on a form answered with 422 on purpose."""
    return bool(message.type == "error" and "status of 422" not in message.text)


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on("console", lambda msg: errors.append(msg.text) if is_unexpected(msg) else None)
    yield page
    context.close()
    assert errors == [], f"the page logged errors: {errors}"


@pytest.fixture
def new_page(browser: Any) -> Iterator[Any]:
    """Open pages with context options of their own (a phone's viewport, no JavaScript);
    like ``page``, each fails the test if it logs an unexpected error."""
    contexts: list[Any] = []
    errors: list[str] = []

    def open_page(**options: Any) -> Any:
        context = browser.new_context(**options)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda msg: errors.append(msg.text) if is_unexpected(msg) else None)
        return page

    yield open_page
    for context in contexts:
        context.close()
    assert errors == [], f"the page logged errors: {errors}"


@pytest.fixture(scope="session")
def lab_live_server(
    trained_instance: Path, lab_models: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A live labserve with the lab's wine classifier and diabetes regressor."""
    folder = tmp_path_factory.mktemp("lab-live")
    with serving(lab_app(trained_instance, lab_models, folder, ("wine", "diabetes"))) as url:
        yield url


# axe-core, from npm (scripts/install-test-services puts it here)
AXE_SOURCE = Path(__file__).resolve().parents[2] / ".cache/axe/node_modules/axe-core/axe.min.js"
#: Impacts that fail a page; "moderate" and "minor" ones are reported, not failed.
FAILING_IMPACTS = ("serious", "critical")


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_SOURCE.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{AXE_SOURCE} is missing; scripts/install-test-services installs it")
        pytest.skip("axe-core not installed (run: bash scripts/install-test-services)")
    return AXE_SOURCE.read_text(encoding="utf-8")


def axe_violations(page: Any, source: str) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now.

    ``page.evaluate`` runs the source through the DevTools protocol, which the page's
    Content-Security-Policy does not govern, so the policy stays as strict as served.
    """
    if not page.evaluate("() => typeof window.axe === 'object'"):
        page.evaluate(source)
    result = page.evaluate("() => axe.run(document, { resultTypes: ['violations'] })")
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe_violations(violations: list[dict[str, Any]]) -> str:
    return "\n".join(
        f"{v['impact']}: {v['id']} ({v['help']}) at "
        + ", ".join(" ".join(node["target"]) for node in v["nodes"][:5])
        for v in violations
    )


def assert_accessible(page: Any, source: str) -> None:
    """No serious or critical axe violation on the page as it is now."""
    failing = [v for v in axe_violations(page, source) if v["impact"] in FAILING_IMPACTS]
    assert not failing, f"{page.url}:\n{describe_violations(failing)}"
