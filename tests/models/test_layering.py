"""The model layer knows nothing about Flask, and heavy libraries load only when used."""

from __future__ import annotations

import subprocess
import sys


def imported_after(statement: str) -> set[str]:
    code = f"{statement}\nimport sys\nprint('\\n'.join(sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    return set(out.stdout.split())


def test_importing_the_model_layer_does_not_import_flask() -> None:
    modules = imported_after("import labserve.models, labserve.models.catalog")
    assert "labserve.models" in modules
    assert not {m for m in modules if m == "flask" or m.startswith(("flask.", "werkzeug"))}


def test_importing_the_model_layer_does_not_import_torch() -> None:
    modules = imported_after("import labserve.models.catalog")
    assert "torch" not in modules
    assert "transformers" not in modules
