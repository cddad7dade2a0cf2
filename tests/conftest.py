"""Shared fixtures: a diagnosis model trained once per session, the app, its clients."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask import Flask
from flask.testing import FlaskClient

from labserve.models.builtins import ensure_builtin_models
from labserve.models.diagnosis.training import load_training_data
from labserve.models.store import ModelStore
from labserve.settings import Settings
from labserve.web import close_app, create_app

pytest_plugins = ["tests.database_fixtures", "tests.model_fixtures"]

FEATURES = (
    "radius_mean",
    "texture_mean",
    "smoothness_mean",
    "texture_se",
    "smoothness_se",
    "symmetry_se",
)


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def data_row(index: int) -> dict[str, float]:
    """Row ``index`` of scikit-learn's bundled WDBC copy, as an API input object."""
    data = load_training_data()
    return {name: float(value) for name, value in zip(FEATURES, data.X[index], strict=True)}


@pytest.fixture(autouse=True)
def restore_environment() -> Iterator[None]:
    """The production server sets PROMETHEUS_MULTIPROC_DIR for its workers; undo that."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def trained_instance(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An instance folder whose model store holds the built-in models (read-only in tests:
    copy it to change it)."""
    instance = tmp_path_factory.mktemp("instance")
    settings = Settings.load({"instance_path": instance})
    ensure_builtin_models(ModelStore(settings.models_path), settings)
    return instance


@pytest.fixture
def app_config(trained_instance: Path, tmp_path: Path) -> dict[str, Any]:
    """Settings of the ``app`` fixture: the shared trained model, a database of its own."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(trained_instance),
        "LOAD_MODELS": "sync",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'labserve.db'}",
        "JOURNAL_PATH": str(tmp_path / "journal"),
        "API_KEY_CACHE_SECONDS": 0,
        "MODEL_POLL_SECONDS": 0,
        # forms posted by the test client carry no CSRF token; tests/web/test_security.py
        # and the browser tests check the tokens with this left on
        "WTF_CSRF_ENABLED": False,
    }


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    app = create_app(app_config)
    yield app
    close_app(app)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def malignant_row() -> dict[str, float]:
    """Row 0 of WDBC: a known malignant case."""
    return data_row(0)


@pytest.fixture
def benign_row() -> dict[str, float]:
    """Row 19 of WDBC: the first known benign case."""
    data = load_training_data()
    assert data.y[19] == 0
    return data_row(19)


def diagnosis_folder(instance: Path) -> Path:
    """The folder of the promoted version of the built-in diagnosis model."""
    store = ModelStore(instance / "models")
    return store.path_of("diagnosis", store.promoted("diagnosis") or "1")


def serve_folder(folder: Path, name: str = "diagnosis", **settings: Any) -> Any:
    """Load a version folder with the kind its metadata names, as a worker would."""
    from labserve.models.artifacts import read_metadata
    from labserve.models.base import ModelSource
    from labserve.models.kinds import kind_class

    metadata = read_metadata(folder)
    model = kind_class(metadata["kind"])(
        ModelSource(
            name=name,
            version="1",
            path=folder,
            metadata=metadata,
            settings=Settings.load({"instance_path": folder.parent, **settings}),
        )
    )
    model.load()
    return model
