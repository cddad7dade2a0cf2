"""The registry of one process follows the store: added and promoted versions are swapped in
after they load, a broken one never replaces a working one, pinned versions load on demand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from labserve.models.errors import ModelNotFound
from labserve.models.registry import ModelRegistry
from labserve.models.store import ModelStore
from labserve.settings import Settings
from tests.model_fixtures import LabModel


@pytest.fixture
def registry(lab_store: ModelStore, lab_instance: Path) -> ModelRegistry:
    settings = Settings.load({"instance_path": lab_instance, "max_pinned_versions": 2})
    registry = ModelRegistry(lab_store, settings)
    registry.load_all()
    return registry


def test_built_ins_are_ordinary_entries(registry: ModelRegistry) -> None:
    assert registry.names() == ["diagnosis", "summarizer"]
    assert registry.statuses() == {"diagnosis": "ready", "summarizer": "ready"}
    assert registry.get("diagnosis").kind == "sklearn"
    assert registry.get("summarizer").kind == "summarizer"


def test_added_and_promoted_versions_are_picked_up(
    registry: ModelRegistry, lab_store: ModelStore, lab_models: dict[str, LabModel]
) -> None:
    assert "wine" not in registry
    lab_store.add("wine", lab_models["wine"].folder)
    assert registry.sync() == ["wine"]
    first = registry.get("wine")
    assert (first.version, first.ready) == ("1", True)
    lab_store.add("wine", lab_models["wine"].folder)
    assert registry.sync() == []  # not promoted: version 1 keeps serving
    lab_store.promote("wine", "2")
    assert registry.sync() == ["wine"]
    assert registry.get("wine").version == "2"
    assert first.ready  # a request holding the old object can still finish
    lab_store.promote("wine", "1")  # rollback
    registry.sync()
    assert registry.get("wine").version == "1"
    lab_store.remove_model("wine")
    assert registry.sync() == ["wine"]
    with pytest.raises(ModelNotFound):
        registry.get("wine")


def test_a_version_that_fails_to_load_never_replaces_a_working_one(
    registry: ModelRegistry, lab_store: ModelStore, lab_models: dict[str, LabModel]
) -> None:
    lab_store.add("wine", lab_models["wine"].folder)
    registry.sync()
    version = lab_store.add("wine", lab_models["wine"].folder)
    broken = lab_store.path_of("wine", version) / "metadata.json"
    meta = json.loads(broken.read_text())
    meta["artifact"]["sha256"] = "0" * 64
    broken.write_text(json.dumps(meta))
    lab_store.promote("wine", version)
    registry.sync()
    assert registry.get("wine").version == "1"
    status = registry.statuses()["wine"]
    assert status.startswith("ready (version 2 failed to load: artifact model.skops does not match")
    assert registry.all_ready()


def test_pinned_versions_load_on_demand_and_are_bounded(
    registry: ModelRegistry, lab_store: ModelStore, lab_models: dict[str, LabModel]
) -> None:
    for _ in range(4):
        lab_store.add("wine", lab_models["wine"].folder)
    registry.sync()
    assert registry.get("wine", "1") is registry.get("wine")
    pinned = registry.get("wine", "3")
    assert (pinned.version, pinned.ready) == ("3", True)
    assert registry.get("wine", "3") is pinned  # kept
    registry.get("wine", "2")
    registry.get("wine", "4")
    assert registry.get("wine", "3") is not pinned  # evicted: at most 2 pinned versions
    with pytest.raises(ModelNotFound, match="has no version '9'"):
        registry.get("wine", "9")
    lab_store.remove("wine", "4")
    registry.sync()
    with pytest.raises(ModelNotFound):
        registry.get("wine", "4")


def test_a_watcher_follows_the_store(
    lab_store: ModelStore, lab_instance: Path, lab_models: dict[str, LabModel]
) -> None:
    import time

    registry = ModelRegistry(lab_store, Settings.load({"instance_path": lab_instance}))
    registry.load_all()
    registry.watch(0.05)
    try:
        lab_store.add("diabetes", lab_models["diabetes"].folder)
        deadline = time.monotonic() + 10
        while "diabetes" not in registry and time.monotonic() < deadline:
            time.sleep(0.02)
        assert registry.get("diabetes").ready
    finally:
        registry.close()
