"""Model kinds are plug-ins, found through the entry-point group ``labserve.kinds``.

labserve's own kinds (``sklearn``, ``onnx``, ``summarizer``) are registered in its
pyproject.toml exactly as a third-party package registers one::

    [project.entry-points."labserve.kinds"]
    my-kind = "my_package.module:MyModel"

A version folder's metadata.json names its kind; the registry loads the class named here.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import EntryPoint, entry_points

from labserve.models.base import ServedModel
from labserve.models.errors import ArtifactError

KIND_GROUP = "labserve.kinds"


@lru_cache(maxsize=1)
def installed_kinds() -> dict[str, EntryPoint]:
    """Every kind the installed packages offer, by name (read once per process)."""
    return {entry.name: entry for entry in entry_points(group=KIND_GROUP)}


def kind_class(name: str) -> type[ServedModel]:
    """The class serving ``name``; ``ArtifactError`` if no installed package offers it."""
    entry = installed_kinds().get(name)
    if entry is None:
        known = ", ".join(sorted(installed_kinds())) or "none"
        raise ArtifactError(
            f"no installed package serves models of kind {name!r} (installed kinds: {known})"
        )
    try:
        loaded = entry.load()
    except Exception as exc:  # a broken plug-in must not take the server down
        raise ArtifactError(f"the plug-in for kind {name!r} cannot be imported: {exc}") from exc
    if not (isinstance(loaded, type) and issubclass(loaded, ServedModel)):
        raise ArtifactError(f"the plug-in for kind {name!r} is not a labserve ServedModel class")
    return loaded
