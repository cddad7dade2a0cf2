"""The model layer knows nothing about Flask, and heavy libraries load only when used."""

from __future__ import annotations

import subprocess
import sys

MODEL_LAYER = (
    "import labserve.models, labserve.models.registry, labserve.models.importing, "
    "labserve.models.builtins, labserve.models.sklearn_model, labserve.models.onnx_model, "
    "labserve.models.summarizer"
)


def imported_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_importing_the_model_layer_does_not_import_flask() -> None:
    modules = imported_after(MODEL_LAYER)
    assert "labserve.models" in modules
    assert not {m for m in modules if m == "flask" or m.startswith(("flask.", "werkzeug"))}


def test_importing_the_model_layer_does_not_import_heavy_libraries() -> None:
    modules = imported_after(MODEL_LAYER)
    for heavy in ("torch", "transformers", "onnxruntime", "skl2onnx", "mlflow"):
        assert heavy not in modules, heavy


def test_importing_labserve_is_instant_and_save_model_is_there_on_use() -> None:
    modules = imported_after("import labserve")
    assert "sklearn" not in modules
    assert "labserve.models.saving" not in modules
    modules = imported_after("import labserve; labserve.save_model")
    assert "labserve.models.saving" in modules
