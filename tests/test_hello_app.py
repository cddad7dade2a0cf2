"""The chapter's first app."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def hello() -> ModuleType:
    spec = importlib.util.spec_from_file_location("hello_app", ROOT / "examples" / "hello_app.py")
    assert spec
    assert spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_routes(hello: ModuleType) -> None:
    client = hello.app.test_client()
    assert client.get("/").get_data(as_text=True) == "Hello Biotech World!"
    response = client.get("/lifescience")
    assert response.status_code == 200
    assert "Life science" in response.get_data(as_text=True)


def test_port_8080_and_debug_only_when_asked(
    hello: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict] = []
    monkeypatch.setattr(hello.app, "run", lambda **kw: calls.append(kw))
    hello.main([])
    hello.main(["--debug"])
    assert calls[0] == {"host": "127.0.0.1", "port": 8080, "debug": False}
    assert calls[1]["debug"] is True
