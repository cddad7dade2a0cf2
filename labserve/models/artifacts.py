"""Saving and loading model artifacts safely.

scikit-learn pipelines are stored with ``skops.io`` (never pickle) next to a ``metadata.json``
that records what the file is and its sha256. Loading refuses a file whose hash does not match
(tampered or swapped) or that contains types outside an explicit allow-list.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from labserve.models.errors import ArtifactError

ARTIFACT_FILENAME = "model.skops"
METADATA_FILENAME = "metadata.json"


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file, read in chunks so large artifacts do not fill memory."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_metadata(directory: Path, metadata: dict[str, Any]) -> Path:
    path = directory / METADATA_FILENAME
    path.write_text(json.dumps(metadata, indent=2, sort_keys=False) + "\n", encoding="utf-8")
    return path


def read_metadata(directory: Path) -> dict[str, Any]:
    path = directory / METADATA_FILENAME
    if not path.is_file():
        raise ArtifactError(f"no {METADATA_FILENAME} in {directory}")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ArtifactError(f"{path} does not hold a JSON object")
    return data


def save_skops(estimator: Any, path: Path) -> str:
    """Write ``estimator`` with skops; return the file's sha256."""
    import skops.io as sio

    path.parent.mkdir(parents=True, exist_ok=True)
    sio.dump(estimator, path)
    return sha256_file(path)


def skops_types(data: bytes) -> list[str]:
    """Every type in a skops archive that skops itself does not trust by default."""
    import skops.io as sio

    try:
        return list(sio.get_untrusted_types(data=data))
    except Exception as exc:  # corrupt archives raise zipfile/json errors of many kinds
        raise ArtifactError(f"not a readable skops file: {exc}") from exc


def untrusted_types(found: Iterable[str], trusted: Iterable[str] = ()) -> list[str]:
    """Of ``found``, the types ``trusted`` does not vouch for.

    No type is trusted wholesale, not even scikit-learn's own: skops warns that a crafted
    ``sklearn.tree._tree.Tree`` (node indices out of range) loads fine and then crashes or
    reads stray memory on ``predict``. A file's extra types are trusted only when its author
    said so: ``save_model`` records the types of the object the user made, ``models add``
    takes ``--trust-types``, an MLflow model its ``skops_trusted_types``.
    """
    allowed = set(trusted)
    return sorted(name for name in found if name not in allowed)


def load_skops(path: Path, expected_sha256: str | None, trusted: Iterable[str] = ()) -> Any:
    """Load a skops file after checking its hash and that it holds only trusted types.

    The bytes are read once and the same bytes are hashed, inspected and loaded, so the file
    cannot be swapped between the check and the load. ``expected_sha256`` None skips the
    hash check (a file offered to the store, before its metadata exists).
    """
    if not path.is_file():
        raise ArtifactError(f"artifact {path} is missing")
    return load_skops_bytes(path.read_bytes(), path.name, expected_sha256, trusted)


def load_skops_bytes(
    data: bytes, label: str, expected_sha256: str | None, trusted: Iterable[str] = ()
) -> Any:
    import skops.io as sio

    actual = hashlib.sha256(data).hexdigest()
    if expected_sha256 is not None and actual != expected_sha256:
        raise ArtifactError(
            f"artifact {label} does not match its metadata (sha256 {actual[:12]}..., "
            f"expected {expected_sha256[:12]}...): refusing to load a modified file"
        )
    found = skops_types(data)
    unexpected = untrusted_types(found, trusted)
    if unexpected:
        raise ArtifactError(
            f"{label} holds untrusted types: {', '.join(unexpected)} (pass --trust-types "
            "with these names only if you know where the file comes from)"
        )
    try:
        return sio.loads(data, trusted=sorted(found) or None)
    except Exception as exc:
        raise ArtifactError(f"cannot load {label}: {exc}") from exc
