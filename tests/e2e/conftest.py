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
from pathlib import Path
from typing import Any

import pytest
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
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    wait_until_ready(url)
    yield url
    server.shutdown()
    thread.join(5)
    close_app(app)


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
