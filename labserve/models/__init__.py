"""The model layer: storing, loading, validating, predicting, describing. Knows nothing about
HTTP."""

from labserve.models.base import ModelSource, Prediction, ServedModel
from labserve.models.errors import (
    ArtifactError,
    BackendUnavailable,
    InvalidInput,
    InvalidModelSource,
    LabserveError,
    ModelNotFound,
    ModelNotReady,
)
from labserve.models.registry import ModelRegistry
from labserve.models.store import ModelStore
from labserve.models.tabular import Table, TableOutput, TabularModel

__all__ = [
    "ArtifactError",
    "BackendUnavailable",
    "InvalidInput",
    "InvalidModelSource",
    "LabserveError",
    "ModelNotFound",
    "ModelNotReady",
    "ModelRegistry",
    "ModelSource",
    "ModelStore",
    "Prediction",
    "ServedModel",
    "Table",
    "TableOutput",
    "TabularModel",
]
