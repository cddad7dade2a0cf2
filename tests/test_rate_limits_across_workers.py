"""Rate limits hold as configured on a real 2-worker server (issue 13).

With ``LABSERVE_RATE_LIMIT=30/minute``, 60 requests on fresh connections, spread over every
prediction route (JSON, tutorial, CSV, the page forms), get exactly 30 answers that are not
429: one budget per caller across routes and workers.
"""

from __future__ import annotations

import http.client
import http.cookies
import json
import re
import uuid
from pathlib import Path

import pytest

from tests.conftest import FEATURES, data_row
from tests.process_servers import running_server

pytestmark = pytest.mark.process

CSV_BODY = ",".join(FEATURES) + "\n" + ",".join(str(v) for v in data_row(0).values()) + "\n"


def request(
    port: int,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    source: str = "127.0.0.1",
) -> tuple[int, dict[str, str], bytes]:
    """One request on a fresh connection from ``source`` (a loopback address)."""
    connection = http.client.HTTPConnection(
        "127.0.0.1", port, timeout=30, source_address=(source, 0)
    )
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        headers = {name.lower(): value for name, value in response.getheaders()}
        return response.status, headers, response.read()
    finally:
        connection.close()


def page_session(port: int) -> tuple[str, str]:
    """A session cookie and its CSRF token, fetched from another address (another budget)."""
    status, headers, page = request(port, "GET", "/models/diagnosis", source="127.0.0.9")
    assert status == 200
    cookie = http.cookies.SimpleCookie(headers.get("set-cookie", ""))
    token = re.search(rb'name="csrf_token" value="([^"]+)"', page)
    return (
        "; ".join(f"{name}={morsel.value}" for name, morsel in cookie.items()),
        token[1].decode() if token else "",
    )


def multipart(fields: dict[str, str], filename: str, content: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        f"Content-Type: text/csv\r\n\r\n{content}\r\n--{boundary}--\r\n"
    )
    return "".join(parts).encode(), f"multipart/form-data; boundary={boundary}"


def every_prediction_route(port: int) -> list[tuple[str, str, bytes, dict[str, str]]]:
    cookie, token = page_session(port)
    as_json = {"Content-Type": "application/json"}
    form = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie}
    row = data_row(0)
    form_body = "&".join(f"{k}={v}" for k, v in {**row, "csrf_token": token}.items()).encode()
    upload, upload_type = multipart({"csrf_token": token}, "cases.csv", CSV_BODY)
    text = {"text": "One sentence about cells. Another sentence about genes.", "maxlen": 5}
    return [
        ("POST", "/api/diagnosis", json.dumps(row).encode(), as_json),
        ("POST", "/api/prediction", json.dumps(text).encode(), as_json),
        (
            "POST",
            "/api/v1/models/diagnosis/predict",
            json.dumps({"inputs": [row]}).encode(),
            as_json,
        ),
        (
            "POST",
            "/api/v1/models/summarizer/predict",
            json.dumps({"inputs": [{"text": text["text"]}]}).encode(),
            as_json,
        ),
        (
            "POST",
            "/api/v1/models/diagnosis/predict.csv",
            CSV_BODY.encode(),
            {"Content-Type": "text/csv"},
        ),
        ("POST", "/models/diagnosis", form_body, form),
        ("POST", "/prediction", form_body, form),
        (
            "POST",
            "/models/diagnosis/batch",
            upload,
            {"Content-Type": upload_type, "Cookie": cookie},
        ),
    ]


def test_one_budget_across_routes_and_workers(trained_instance: Path, tmp_path: Path) -> None:
    env = {"LABSERVE_RATE_LIMIT": "30/minute"}
    with running_server(trained_instance, tmp_path, env) as (_, port, _):
        routes = every_prediction_route(port)
        answers = []
        for i in range(60):
            method, path, body, headers = routes[i % len(routes)]
            status, _, _ = request(port, method, path, body, headers)
            answers.append((path, status))
    served = [answer for answer in answers if answer[1] != 429]
    assert len(served) == 30, f"{len(served)} of 60 answered: {answers}"
    assert all(status == 200 for _, status in served), served
    assert {path for path, _ in served} == {path for _, path, _, _ in routes}
