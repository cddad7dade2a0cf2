"""The API documentation page: linked from every page, served from the package, under the
site's strict Content-Security-Policy (the browser test checks it renders without a
violation: tests/e2e/test_api_docs.py)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from flask.testing import FlaskClient

from labserve.web.security import CONTENT_SECURITY_POLICY

VENDOR = Path(__file__).parents[2] / "labserve" / "web" / "static" / "vendor" / "swagger-ui"


def test_the_header_links_to_the_docs(client: FlaskClient) -> None:
    page = client.get("/").get_data(as_text=True)
    assert '<a href="/docs">API</a>' in page


def test_docs_page_has_the_site_policy_and_no_inline_code(client: FlaskClient) -> None:
    response = client.get("/docs")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY
    assert "style-src 'self'" in CONTENT_SECURITY_POLICY
    page = response.get_data(as_text=True)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page, re.DOTALL)
    assert len(scripts) == page.count("<script") == 2
    assert all("src=" in attributes and not body.strip() for attributes, body in scripts)
    assert "<style" not in page
    assert " style=" not in page
    assert 'data-openapi-url="/api/v1/openapi.json"' in page


def test_docs_assets_are_served_from_the_package(client: FlaskClient) -> None:
    page = client.get("/docs").get_data(as_text=True)
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)
    assert "/static/vendor/swagger-ui/swagger-ui-bundle.js" in assets
    assert "/static/vendor/swagger-ui/LICENSE" in assets
    for asset in assets:
        response = client.get(asset)
        assert response.status_code == 200, asset
        response.close()
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page)  # no CDN


def test_vendored_files_are_the_npm_release_unchanged() -> None:
    """SHA256SUMS records the files of swagger-ui-dist as published (and its licence)."""
    listed = {}
    for line in (VENDOR / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            digest, name = line.split()
            listed[name] = digest
    assert {"LICENSE", "NOTICE", "swagger-ui-bundle.js", "swagger-ui.css"} <= set(listed)
    assert set(listed) == {p.name for p in VENDOR.iterdir()} - {"SHA256SUMS"}
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
    assert "Apache License" in (VENDOR / "LICENSE").read_text(encoding="utf-8")
