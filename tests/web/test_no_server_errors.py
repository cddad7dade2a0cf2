"""No input of any shape makes a route answer 5xx (property-based, seeded)."""

from __future__ import annotations

import json
from typing import Any

from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st

from tests.conftest import FEATURES

json_values = st.recursive(
    st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
feature_objects = st.fixed_dictionaries({}, optional={name: json_values for name in FEATURES})

ROUTES = [
    "/api/diagnosis",
    "/api/v1/models/diagnosis/predict",
    "/api/v1/models/summarizer/predict",
    "/api/prediction",
]
SETTINGS = settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def dumps(value: Any) -> str:
    return json.dumps(value, allow_nan=True)


@seed(1)
@SETTINGS
@given(
    body=json_values
    | feature_objects
    | st.builds(lambda rows: {"inputs": rows}, st.lists(feature_objects, max_size=3))
)
def test_json_routes_never_answer_5xx(client: FlaskClient, body: Any) -> None:
    for route in ROUTES:
        response = client.post(route, data=dumps(body), content_type="application/json")
        assert response.status_code < 500, (route, body, response.data)
        assert response.is_json


@seed(2)
@SETTINGS
@given(
    raw=st.binary(max_size=64),
    content_type=st.sampled_from(["application/json", "text/plain", "", "multipart/form-data"]),
)
def test_raw_bytes_never_answer_5xx(client: FlaskClient, raw: bytes, content_type: str) -> None:
    for route in ROUTES:
        response = client.post(route, data=raw, content_type=content_type)
        assert response.status_code < 500, (route, raw)


@seed(3)
@SETTINGS
@given(
    form=st.dictionaries(
        st.sampled_from([*FEATURES, "paragraphs", "maxlen", "minlen", "x"]),
        st.text(max_size=12),
        max_size=8,
    )
)
def test_forms_never_answer_5xx(client: FlaskClient, form: dict[str, str]) -> None:
    for route in ("/prediction", "/models/diagnosis", "/models/summarizer"):
        response = client.post(route, data=form)
        assert response.status_code < 500, (route, form, response.data[:300])
