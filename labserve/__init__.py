"""labserve: serve trained life-science models to people and programs.

``labserve.save_model(model, folder, reference=X, target=y)`` writes a fitted scikit-learn or
ONNX model as a folder that ``labserve models add NAME FOLDER`` serves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"
__all__ = ["__version__", "save_model"]

if TYPE_CHECKING:
    from labserve.models.saving import save_model


def __getattr__(name: str) -> Any:
    # imported on first use: ``import labserve`` stays instant (no scikit-learn, no pandas)
    if name == "save_model":
        from labserve.models.saving import save_model

        return save_model
    raise AttributeError(f"module 'labserve' has no attribute {name!r}")
