"""The settings and the model registry of an app (the ``init_app`` pattern of extensions)."""

from __future__ import annotations

import logging

from flask import Flask, current_app

from labserve.models.registry import ModelRegistry
from labserve.models.store import ModelStore
from labserve.settings import Settings

REGISTRY_KEY = "labserve"
SETTINGS_KEY = "labserve.settings"

log = logging.getLogger(__name__)


def init_app(app: Flask, settings: Settings) -> ModelRegistry:
    """Serve the store's promoted models, loaded now or in the background, and follow it."""
    store = ModelStore(settings.models_path)
    registry = ModelRegistry(store, settings)
    app.extensions[REGISTRY_KEY] = registry
    if not store.names():
        log.warning(
            "the model store %s holds no models: `labserve serve` creates the built-in ones, "
            "`labserve models add` adds yours",
            store.root,
        )
    if settings.load_models == "sync":
        registry.load_all()
    else:
        registry.load_in_background()
    registry.watch(settings.model_poll_seconds)
    return registry


def get_registry() -> ModelRegistry:
    registry: ModelRegistry = current_app.extensions[REGISTRY_KEY]
    return registry


def get_settings() -> Settings:
    settings: Settings = current_app.extensions[SETTINGS_KEY]
    return settings
