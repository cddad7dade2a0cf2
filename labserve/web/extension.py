"""Attaching the model registry to a Flask app (the ``init_app`` pattern of Flask extensions)."""

from __future__ import annotations

from flask import Flask, current_app

from labserve.models.registry import ModelRegistry

EXTENSION_KEY = "labserve"


def init_app(app: Flask, registry: ModelRegistry) -> None:
    app.extensions[EXTENSION_KEY] = registry
    if app.config["LOAD_MODELS"] == "sync":
        registry.load_all()
    else:
        registry.load_in_background()


def get_registry() -> ModelRegistry:
    registry: ModelRegistry = current_app.extensions[EXTENSION_KEY]
    return registry
