"""The API documentation page: Swagger UI over the live OpenAPI document.

Swagger UI's files are vendored (``static/vendor/swagger-ui``, unchanged from the npm package,
with its licence), so the page works offline and under the site's strict Content-Security-
Policy: its one script of our own is a static file, and Swagger UI applies styles through the
DOM (allowed by ``style-src 'self'``), never with inline ``<style>`` or ``style=""`` markup.
"""

from __future__ import annotations

from flask import Blueprint, render_template

docs = Blueprint("docs", __name__)


@docs.get("/docs")
def api_docs() -> str:
    return render_template("docs.html")
