"""The set of models one labserve process serves, and their loading."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

from labserve.models.base import ServedModel
from labserve.models.errors import LabserveError, ModelNotFound

log = logging.getLogger(__name__)

AnyModel = ServedModel[Any]


class ModelRegistry:
    """Holds the configured models by name and loads them, in the foreground or background."""

    def __init__(self, models: list[AnyModel] | None = None) -> None:
        self._models: dict[str, AnyModel] = {}
        self._loader: threading.Thread | None = None
        for model in models or []:
            self.add(model)

    def add(self, model: AnyModel) -> None:
        if model.name in self._models:
            raise ValueError(f"a model named {model.name!r} is already registered")
        self._models[model.name] = model

    def get(self, name: str) -> AnyModel:
        try:
            return self._models[name]
        except KeyError:
            raise ModelNotFound(name) from None

    def __iter__(self) -> Iterator[AnyModel]:
        return iter(self._models.values())

    def __contains__(self, name: object) -> bool:
        return name in self._models

    def names(self) -> list[str]:
        return list(self._models)

    def load_all(self) -> None:
        """Load every model; one failure is logged and does not stop the others."""
        for model in self._models.values():
            try:
                model.load()
                log.info(
                    "model %s %s loaded in %.2fs", model.name, model.version, model.load_seconds
                )
            except LabserveError as exc:  # expected (missing artifact, no backend): no traceback
                log.error("model %s failed to load: %s", model.name, exc)
            except Exception:
                log.exception("model %s failed to load", model.name)

    def load_in_background(self) -> threading.Thread:
        """Start loading in a daemon thread so the server answers /healthz meanwhile."""
        self._loader = threading.Thread(target=self.load_all, name="labserve-loader", daemon=True)
        self._loader.start()
        return self._loader

    def wait_until_loaded(self, timeout: float | None = None) -> bool:
        """Block until the loading thread (if any) finished; True when every model is ready."""
        if self._loader is not None:
            self._loader.join(timeout)
        return self.all_ready()

    def all_ready(self) -> bool:
        return all(model.ready for model in self._models.values())

    def statuses(self) -> dict[str, str]:
        return {name: model.status for name, model in self._models.items()}
