"""The model store: immutable numbered versions, one promoted, every change one rename."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from labserve.models.errors import InvalidModelSource, ModelNotFound
from labserve.models.store import ModelStore, check_model_name
from tests.model_fixtures import LabModel


@pytest.fixture
def store(tmp_path: Path) -> ModelStore:
    return ModelStore(tmp_path / "models")


def test_versions_count_up_and_the_first_is_promoted(
    store: ModelStore, lab_models: dict[str, LabModel]
) -> None:
    folder = lab_models["wine"].folder
    assert store.names() == []
    assert store.add("wine", folder, source="notebook") == "1"
    assert store.add("wine", folder) == "2"
    assert store.versions("wine") == ["1", "2"]
    assert store.promoted("wine") == "1"  # a new version waits to be promoted
    assert store.add("wine", folder, promote=True) == "3"
    assert store.promoted("wine") == "3"
    info = store.info("wine", "1")
    assert info.registration["source"] == "notebook"
    assert info.registration["version"] == "1"
    assert info.kind == "sklearn"
    assert (info.path / "model.skops").read_bytes() == (folder / "model.skops").read_bytes()
    assert store.snapshot() == {"wine": "3"}


def test_promote_and_roll_back(store: ModelStore, lab_models: dict[str, LabModel]) -> None:
    folder = lab_models["wine"].folder
    for _ in range(3):
        store.add("wine", folder)
    store.promote("wine", "3")
    assert store.promoted("wine") == "3"
    store.promote("wine", "1")
    assert store.promoted("wine") == "1"
    with pytest.raises(ModelNotFound, match="has no version '7'"):
        store.promote("wine", "7")
    with pytest.raises(ModelNotFound, match="no model named 'beer'"):
        store.promote("beer", "1")


def test_remove_keeps_the_promoted_version(
    store: ModelStore, lab_models: dict[str, LabModel]
) -> None:
    folder = lab_models["wine"].folder
    store.add("wine", folder)
    store.add("wine", folder)
    with pytest.raises(InvalidModelSource, match="promoted version"):
        store.remove("wine", "1")
    store.remove("wine", "2")
    assert store.versions("wine") == ["1"]
    assert store.add("wine", folder) == "2"  # numbers follow the highest left
    store.remove_model("wine")
    assert store.names() == []
    assert not [p for p in store.root.iterdir() if p.name.startswith(".removed")]


@pytest.mark.parametrize(
    "name", ["", "Wine", "wine model", "../etc", "wine/1", "-wine", "1wine", "w" * 64, "wine."]
)
def test_names_must_be_safe_slugs(name: str) -> None:
    with pytest.raises(InvalidModelSource, match="not a safe slug"):
        check_model_name(name)


def test_concurrent_adds_never_share_a_number(
    store: ModelStore, lab_models: dict[str, LabModel]
) -> None:
    folder = lab_models["diabetes"].folder
    versions: list[str] = []

    def add() -> None:
        versions.append(store.add("diabetes", folder))

    threads = [threading.Thread(target=add) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(versions, key=int) == [str(n) for n in range(1, 9)]
    assert not [p for p in (store.root / "diabetes").iterdir() if p.name.startswith(".")]


def test_odd_entries_are_ignored(store: ModelStore, lab_models: dict[str, LabModel]) -> None:
    store.add("wine", lab_models["wine"].folder)
    (store.root / "wine" / "notes").mkdir()
    (store.root / "Not A Model").mkdir()
    (store.root / "empty").mkdir()
    assert store.names() == ["wine"]
    assert store.versions("wine") == ["1"]
    (store.root / "wine" / "promoted").write_text("garbage")
    assert store.promoted("wine") is None
    assert store.snapshot() == {}
