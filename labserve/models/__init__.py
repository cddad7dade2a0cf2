"""The model layer: loading, validating, predicting, describing. Knows nothing about HTTP."""

from labserve.models.base import Prediction, ServedModel
from labserve.models.errors import (
    ArtifactError,
    BackendUnavailable,
    InvalidInput,
    LabserveError,
    ModelNotFound,
    ModelNotReady,
)
from labserve.models.registry import ModelRegistry

__all__ = [
    "ArtifactError",
    "BackendUnavailable",
    "InvalidInput",
    "LabserveError",
    "ModelNotFound",
    "ModelNotReady",
    "ModelRegistry",
    "Prediction",
    "ServedModel",
]
