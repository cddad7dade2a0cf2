"""The one small interface every model kind follows.

The shape is LitServe's ``LitAPI`` idea: ``load()`` once (heavy imports happen there, never at
module top), then ``predict_valid()`` many times on whole batches; ``card()`` describes the
model. A new kind overrides ``_load`` and ``predict_valid`` and sets ``input_model``;
validation, parameters, the card and the listing have defaults. Tabular kinds subclass
``labserve.models.tabular.TabularModel`` instead and implement only ``_load`` and
``predict_table``.

One instance serves one stored *version* of a named model; the registry swaps instances
when another version is promoted.
"""

from __future__ import annotations

import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ValidationError

from labserve.models.errors import InvalidInput, ModelNotReady
from labserve.models.features import describe_validation_error, validate_rows
from labserve.settings import Settings

Prediction = dict[str, Any]
ROW_PREFIX = "inputs[{index}]."
PARAMETER_PREFIX = "parameters."


@dataclass(frozen=True)
class ModelSource:
    """What a kind is given to load: the stored version and the server's settings."""

    name: str
    version: str
    path: Path
    metadata: dict[str, Any]
    settings: Settings = field(default_factory=Settings)
    registration: dict[str, Any] = field(default_factory=dict)


class ServedModel(ABC):
    """One version of a model that labserve can load, validate input for, run, and describe."""

    #: The ``kind`` written in metadata.json (the entry-point name in ``labserve.kinds``).
    kind: ClassVar[str] = ""
    #: What the web layer builds for it: ``tabular`` (a form of features) or ``text``.
    capability: ClassVar[str] = "tabular"
    #: Request-level parameters, if the kind takes any (``None``: it takes none).
    parameters_model: ClassVar[type[BaseModel] | None] = None
    #: One input row; a kind sets it (class attribute, or in ``_load``).
    input_model: type[BaseModel]

    def __init__(self, source: ModelSource) -> None:
        self.source = source
        self.name = source.name
        self.version = source.version
        self.metadata = source.metadata
        self.settings = source.settings
        self.title = str(self.metadata.get("title") or source.name)
        self.summary = str(self.metadata.get("description") or "")
        self._lock = threading.Lock()
        self._loaded = False
        self._load_error: str | None = None
        self.load_seconds: float | None = None

    # -- life cycle ---------------------------------------------------------------------------
    def load(self) -> None:
        """Load the artifact once; a failure is remembered and reported by ``status``."""
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
    def validate(self, rows: Sequence[object], *, row_prefix: str = ROW_PREFIX) -> list[Any]:
        """Check raw rows (decoded JSON objects); raise ``InvalidInput`` naming the field.

        ``row_prefix`` (formatted with ``index``) starts each field name in errors, e.g.
        ``inputs[3].radius_mean``; single-object routes pass ``""``.
        """
        return validate_rows(self.input_model, rows, row_prefix=row_prefix)

    def validate_parameters(
        self, parameters: Mapping[str, Any] | None, *, field_prefix: str = PARAMETER_PREFIX
    ) -> Any:
        """Check request-level parameters against ``parameters_model``."""
        model = self.parameters_model
        if model is None:
            if parameters:
                first = next(iter(parameters))
                raise InvalidInput(
                    f"model {self.name!r} takes no parameters", field=f"{field_prefix}{first}"
                )
            return None
        if parameters is None:
            return model()
        if not isinstance(parameters, Mapping):
            name = field_prefix.rstrip(".") or None
            raise InvalidInput(f"{name}: must be a JSON object", field=name)
        try:
            return model.model_validate(dict(parameters), strict=True)
        except ValidationError as exc:
            raise describe_validation_error(exc, prefix=field_prefix) from None

    @abstractmethod
    def predict_valid(self, rows: Sequence[Any], parameters: Any = None) -> list[Prediction]:
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
        """JSON Schema of one input row (published in /api/v1/models and OpenAPI)."""
        return self.input_model.model_json_schema()

    def parameters_schema(self) -> dict[str, Any] | None:
        model = self.parameters_model
        return None if model is None else model.model_json_schema()

    def output_schema(self) -> dict[str, Any]:
        """JSON Schema of one prediction (OpenAPI); kinds with a fixed shape say more."""
        return {"type": "object"}

    def card(self) -> dict[str, Any]:
        """The model card: metadata.json as stored, plus identity and how it is served."""
        card = dict(self.metadata)
        card.update(
            name=self.name,
            version=self.version,
            kind=self.kind or card.get("kind"),
            capability=self.capability,
            title=self.title,
            registration=self.source.registration,
        )
        return card

    def info(self) -> dict[str, Any]:
        """Short description for listings."""
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "kind": self.kind,
            "capability": self.capability,
            "version": self.version,
            "status": self.status,
            "input_schema": self.input_schema() if hasattr(self, "input_model") else None,
        }
