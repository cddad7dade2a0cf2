"""Which models a labserve process serves, built from plain settings (no Flask here)."""

from __future__ import annotations

from pathlib import Path

from labserve.models.diagnosis import DiagnosisModel
from labserve.models.registry import ModelRegistry


def diagnosis_artifact_dir(instance_path: Path) -> Path:
    """Where ``labserve train diagnosis`` writes, and where serving reads."""
    return instance_path / "models" / "diagnosis"


def build_registry(
    instance_path: Path,
    *,
    summarizer_backend: str = "extractive",
    summarizer_model: str | None = None,
) -> ModelRegistry:
    """The two built-in models, configured; nothing is loaded yet."""
    registry = ModelRegistry([DiagnosisModel(diagnosis_artifact_dir(instance_path))])
    try:
        from labserve.models.summarizer import SummarizerModel
    except ImportError:  # pragma: no cover - the summarizer package ships with labserve
        return registry
    registry.add(SummarizerModel(backend=summarizer_backend, model_id=summarizer_model))
    return registry
