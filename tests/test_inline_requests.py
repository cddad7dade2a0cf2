"""Which requests run on a worker's event loop and which on a request thread."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from labserve.hardening import INLINE_BODY_BYTES, runs_inline


@pytest.mark.parametrize(
    ("path", "inline"),
    [
        ("/api/diagnosis", True),
        ("/api/prediction", True),
        ("/api/v1/models/wine/predict", True),
        ("/models/diagnosis", True),
        ("/readyz", True),
        ("/metrics", True),
        ("/api/v1/models/wine/predict.csv", False),  # streamed back chunk by chunk
        ("/models/wine/batch", False),  # a whole file scored
        ("/models/wine/scored/abc/wine-scored.csv", False),  # a file sent
        ("/api/v1/predictions", False),  # a database query
        ("/login", False),  # a key checked in the database
    ],
)
def test_short_requests_run_inline(path: str, inline: bool) -> None:
    assert runs_inline(SimpleNamespace(path=path), 200) is inline


def test_a_large_body_takes_a_thread() -> None:
    scope = SimpleNamespace(path="/api/v1/models/wine/predict")
    assert runs_inline(scope, INLINE_BODY_BYTES)
    assert not runs_inline(scope, INLINE_BODY_BYTES + 1)
