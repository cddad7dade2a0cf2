"""The one small interface every served model follows.

The shape is LitServe's ``LitAPI`` idea: ``load()`` once (heavy imports happen there, never at
module top), ``validate()`` + ``predict()`` many times on whole batches, ``info()`` for the
model card. The web layer and the CLI only ever talk to this interface.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from labserve.models.errors import InvalidInput, ModelNotReady

Row = TypeVar("Row", bound=BaseModel)
Prediction = dict[str, Any]
ROW_PREFIX = "inputs[{index}]."
PARAMETER_PREFIX = "parameters."


class ServedModel(ABC, Generic[Row]):
    """A model that labserve can load, validate input for, run on a batch, and describe.

    Subclasses set ``name``, ``title`` and ``input_model`` (a pydantic model of one input row)
    and implement ``_load``, ``predict_valid`` and ``card``.
    """

    name: str
    title: str
    summary: str = ""
    input_model: type[Row]

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded = False
        self._load_error: str | None = None
        self.load_seconds: float | None = None

    # -- life cycle ---------------------------------------------------------------------------
    def load(self) -> None:
        """Load the artifact once; a failure is remembered and reported by ``status``."""
        import time

        with self._lock:
            if self._loaded:
                return
            started = time.perf_counter()
            try:
                self._load()
            except Exception as exc:
                self._load_error = str(exc) or type(exc).__name__
                raise
            self._loaded = True
            self._load_error = None
            self.load_seconds = time.perf_counter() - started

    @abstractmethod
    def _load(self) -> None:
        """Do the actual loading (import heavy libraries here, not at module top)."""

    @property
    def ready(self) -> bool:
        return self._loaded

    @property
    def status(self) -> str:
        """``ready``, ``loading`` or ``failed: <reason>`` (for /readyz and the UI)."""
        if self._loaded:
            return "ready"
        if self._load_error is not None:
            return f"failed: {self._load_error}"
        return "loading"

    def require_ready(self) -> None:
        if not self._loaded:
            raise ModelNotReady(self.name, self.status)

    # -- prediction ---------------------------------------------------------------------------
    @property
    @abstractmethod
    def version(self) -> str:
        """The version of the artifact being served (recorded with every prediction)."""

    @abstractmethod
    def validate(self, rows: Sequence[object], *, row_prefix: str = ROW_PREFIX) -> list[Row]:
        """Check raw rows (decoded JSON objects); raise ``InvalidInput`` naming the field.

        ``row_prefix`` (formatted with ``index``) starts each field name in errors, e.g.
        ``inputs[3].radius_mean``; single-object routes pass ``""``.
        """

    def validate_parameters(
        self, parameters: Mapping[str, Any] | None, *, field_prefix: str = PARAMETER_PREFIX
    ) -> Any:
        """Check request-level parameters; models without parameters accept none."""
        if parameters:
            first = next(iter(parameters))
            raise InvalidInput(
                f"model {self.name!r} takes no parameters", field=f"{field_prefix}{first}"
            )
        return None

    @abstractmethod
    def predict_valid(self, rows: Sequence[Row], parameters: Any = None) -> list[Prediction]:
        """Predict a batch of already validated rows, one result dict per row, in order."""

    def predict(
        self, rows: Sequence[object], parameters: Mapping[str, Any] | None = None
    ) -> list[Prediction]:
        """Validate then predict: the one call most callers need."""
        self.require_ready()
        valid = self.validate(rows)
        params = self.validate_parameters(parameters)
        return self.predict_valid(valid, params)

    # -- description --------------------------------------------------------------------------
    def input_schema(self) -> dict[str, Any]:
        """JSON Schema of one input row (published in /api/v1/models)."""
        return self.input_model.model_json_schema()

    @abstractmethod
    def card(self) -> dict[str, Any]:
        """The model card: what the model is, how it was made, how well it does."""

    def info(self) -> dict[str, Any]:
        """Short description for listings."""
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "version": self.version if self.ready else None,
            "status": self.status,
            "input_schema": self.input_schema(),
        }
