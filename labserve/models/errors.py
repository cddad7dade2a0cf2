"""Domain exceptions of the model layer.

They subclass built-ins so callers that do not know labserve can still catch them, and the
web layer turns each into one HTTP status in a single place (``labserve.web.errors``).
"""

from __future__ import annotations


class LabserveError(Exception):
    """Base class of every error labserve raises on purpose."""

    code = "error"


class InvalidInput(LabserveError, ValueError):
    """The caller sent something the model cannot take; names the field at fault."""

    code = "invalid_input"

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class ModelNotFound(LabserveError, KeyError):
    """No model of that name, or no such version of it."""

    code = "model_not_found"

    def __init__(self, name: str, version: str | None = None) -> None:
        super().__init__(name)
        self.name = name
        self.version = version
        self.message = (
            f"no model named {name!r}"
            if version is None
            else f"model {name!r} has no version {version!r}"
        )

    def __str__(self) -> str:
        return self.message


class ModelNotReady(LabserveError, RuntimeError):
    """The model is configured but has not loaded (still loading, or loading failed)."""

    code = "model_not_ready"

    def __init__(self, name: str, reason: str) -> None:
        super().__init__(f"model {name!r} is not ready: {reason}")
        self.name = name
        self.reason = reason


class ArtifactError(LabserveError, RuntimeError):
    """An artifact is missing, unreadable, tampered with, or holds untrusted types."""

    code = "artifact_error"


class BackendUnavailable(LabserveError, RuntimeError):
    """An optional backend (e.g. transformers) cannot run here; says what to do instead."""

    code = "backend_unavailable"


class InvalidModelSource(LabserveError, ValueError):
    """A model offered to the store is refused: unsafe, unreadable, or inconsistent."""

    code = "invalid_model_source"
