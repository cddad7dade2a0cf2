"""The built-in models: created in the store on first use, then ordinary entries of it.

``diagnosis`` is trained from the data scikit-learn ships (about ten seconds); ``summarizer``
is a metadata-only folder whose backend the settings choose. Once in the store they are
listed, versioned, promoted and removed like any model a lab adds.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

from labserve.models.saving import write_metadata_file
from labserve.models.store import ModelStore
from labserve.settings import Settings, SettingsError

BUILTINS = ("diagnosis", "summarizer")


def add_builtin(store: ModelStore, name: str, *, seed: int = 42, promote: bool = False) -> str:
    """Create the built-in ``name`` as a new version in the store; return the version."""
    with tempfile.TemporaryDirectory(prefix="labserve-builtin-") as scratch:
        folder = Path(scratch) / name
        if name == "diagnosis":
            from labserve.models.diagnosis.training import train_diagnosis

            train_diagnosis(folder, seed=seed)
        elif name == "summarizer":
            from labserve.models.summarizer.model import builtin_metadata

            folder.mkdir()
            write_metadata_file(folder, builtin_metadata())
        else:
            raise SettingsError(f"no built-in model named {name!r} (built-ins: {BUILTINS})")
        return store.add(name, folder, source=f"built-in {name}", promote=promote)


def ensure_builtin_models(
    store: ModelStore, settings: Settings, report: Callable[[str], None] = lambda _: None
) -> list[str]:
    """Add each configured built-in the store does not hold yet; return the names added."""
    added = []
    for name in settings.builtin_models:
        if store.versions(name):
            continue
        if name not in BUILTINS:
            raise SettingsError(
                f"LABSERVE_BUILTIN_MODELS: no built-in model named {name!r} (built-ins: "
                f"{', '.join(BUILTINS)})"
            )
        report(f"creating the built-in model {name!r} ...")
        version = add_builtin(store, name)
        report(f"built-in model {name!r} is version {version}")
        added.append(name)
    return added
