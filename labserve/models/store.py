"""The model store on disk: named models, immutable numbered versions, one promoted version.

Layout (``<instance>/models``)::

    wine/
      1/            metadata.json, the artifact(s), registration.json
      2/
      promoted      the text "2": the version served by default

Every change is one atomic rename, so a reader (a server worker polling for changes, on the
same machine or on a shared volume) sees a version either whole or not at all, and never a
half-written ``promoted`` file. Versions are never modified after they are added.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from labserve.models.artifacts import read_metadata
from labserve.models.errors import InvalidModelSource, ModelNotFound

PROMOTED_FILENAME = "promoted"
REGISTRATION_FILENAME = "registration.json"
#: Model names: lower-case letters, digits, ``-`` and ``_``; they appear in URLs and paths.
SAFE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,62}$")
_INCOMING = ".incoming-"


def check_model_name(name: str) -> str:
    """Return ``name`` if it is a safe slug, else raise ``InvalidModelSource`` saying why."""
    if not SAFE_NAME.match(name):
        raise InvalidModelSource(
            f"model name {name!r} is not a safe slug: use 1-63 lower-case letters, digits, "
            "'-' or '_', starting with a letter"
        )
    return name


@dataclass(frozen=True)
class VersionInfo:
    """One stored version: where it is and what its metadata says."""

    name: str
    version: str
    path: Path
    metadata: dict[str, Any]
    registration: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.metadata.get("kind", "?"))


class ModelStore:
    """Reads and changes the model store; safe to use from several processes at once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    # -- reading -----------------------------------------------------------------------------
    def names(self) -> list[str]:
        """Models that have at least one version, sorted."""
        if not self.root.is_dir():
            return []
        return sorted(
            entry.name
            for entry in self.root.iterdir()
            if entry.is_dir() and SAFE_NAME.match(entry.name) and self.versions(entry.name)
        )

    def versions(self, name: str) -> list[str]:
        """Version numbers of a model, oldest first (empty when there is no such model)."""
        folder = self.root / name
        if not SAFE_NAME.match(name) or not folder.is_dir():
            return []
        numbers = [int(entry.name) for entry in folder.iterdir() if entry.name.isdigit()]
        return [str(number) for number in sorted(numbers)]

    def promoted(self, name: str) -> str | None:
        """The version served by default, or None (no such model, or nothing promoted)."""
        try:
            text = (self.root / name / PROMOTED_FILENAME).read_text(encoding="utf-8").strip()
        except (FileNotFoundError, NotADirectoryError):
            return None
        return text if text.isdigit() and (self.root / name / text).is_dir() else None

    def snapshot(self) -> dict[str, str]:
        """``{name: promoted version}`` of every servable model: cheap enough to poll."""
        out: dict[str, str] = {}
        if not self.root.is_dir():
            return out
        for entry in self.root.iterdir():
            if SAFE_NAME.match(entry.name):
                version = self.promoted(entry.name)
                if version is not None:
                    out[entry.name] = version
        return out

    def path_of(self, name: str, version: str) -> Path:
        """The folder of one version; ``ModelNotFound`` when it does not exist."""
        if not self.versions(name):
            raise ModelNotFound(name)
        if not version.isdigit() or not (self.root / name / str(int(version))).is_dir():
            raise ModelNotFound(name, version)
        return self.root / name / str(int(version))

    def info(self, name: str, version: str) -> VersionInfo:
        path = self.path_of(name, version)
        registration_path = path / REGISTRATION_FILENAME
        registration = (
            json.loads(registration_path.read_text(encoding="utf-8"))
            if registration_path.is_file()
            else {}
        )
        return VersionInfo(
            name=name,
            version=str(int(version)),
            path=path,
            metadata=read_metadata(path),
            registration=registration,
        )

    # -- changing ----------------------------------------------------------------------------
    def add(
        self, name: str, source_folder: Path, *, source: str = "", promote: bool = False
    ) -> str:
        """Copy a prepared model folder in as the next version; return its number.

        The first version of a model is promoted at once (a new model is served as soon as it
        is added); later versions only when ``promote`` is true. The copy is made beside the
        versions and renamed into place, so no reader ever sees it half-written.
        """
        check_model_name(name)
        folder = self.root / name
        folder.mkdir(parents=True, exist_ok=True)
        incoming = folder / f"{_INCOMING}{uuid.uuid4().hex}"
        shutil.copytree(source_folder, incoming)
        registration = {
            "name": name,
            "added_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "source": source or str(source_folder),
        }
        try:
            while True:
                numbers = [int(v) for v in self.versions(name)]
                version = str(max(numbers, default=0) + 1)
                (incoming / REGISTRATION_FILENAME).write_text(
                    json.dumps({**registration, "version": version}, indent=2) + "\n",
                    encoding="utf-8",
                )
                try:
                    os.rename(incoming, folder / version)
                    break
                except OSError:  # another process took this number first: take the next
                    if not (folder / version).exists():
                        raise
        finally:
            shutil.rmtree(incoming, ignore_errors=True)
        if promote or self.promoted(name) is None:
            self.promote(name, version)
        return version

    def promote(self, name: str, version: str) -> None:
        """Serve ``version`` by default from now on (workers notice within their poll time)."""
        self.path_of(name, version)
        target = self.root / name / PROMOTED_FILENAME
        temporary = target.with_name(f"{PROMOTED_FILENAME}.{uuid.uuid4().hex}")
        temporary.write_text(f"{int(version)}\n", encoding="utf-8")
        os.replace(temporary, target)

    def remove(self, name: str, version: str) -> None:
        """Delete a version that is not promoted (promote another one first)."""
        path = self.path_of(name, version)
        if self.promoted(name) == str(int(version)):
            raise InvalidModelSource(
                f"version {version} of {name!r} is the promoted version; promote another "
                f"version first, or remove the whole model with --all"
            )
        _remove_atomically(path)

    def remove_model(self, name: str) -> None:
        """Delete a model and every version of it."""
        if not self.versions(name):
            raise ModelNotFound(name)
        _remove_atomically(self.root / name)


def _remove_atomically(path: Path) -> None:
    """Rename out of sight first, so a polling reader never sees a half-deleted folder."""
    doomed = path.with_name(f".removed-{path.name}-{uuid.uuid4().hex}")
    os.rename(path, doomed)
    shutil.rmtree(doomed, ignore_errors=True)
