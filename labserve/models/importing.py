"""Adding a model to the store from files: what ``labserve models add NAME PATH`` does.

PATH may be a folder written by ``labserve.save_model``, an MLflow model folder (the sklearn
flavour saved with skops, cloudpickle or pickle; or the onnx flavour), a ``.skops`` file, an
``.onnx`` file, or a ``.pkl``/``.joblib`` file. Whatever it is, it becomes a folder in the
store's own format (skops or ONNX, never a pickle), is loaded once by its kind as a dry run,
and only then added as a new version. Anything else is refused with the reason.

A pickle runs code when it is read, so one is read only when the caller passes its sha256
(``trust_pickle``) and the file matches; it is then re-saved with skops, so nothing served is
ever unpickled again.
"""

from __future__ import annotations

import hashlib
import io
import json
import pickle
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from labserve.models.artifacts import METADATA_FILENAME, load_skops_bytes, read_metadata
from labserve.models.base import ModelSource
from labserve.models.errors import ArtifactError, InvalidModelSource
from labserve.models.kinds import kind_class
from labserve.models.saving import save_model
from labserve.models.store import ModelStore, check_model_name
from labserve.settings import Settings

PICKLE_SUFFIXES = (".pkl", ".pickle", ".joblib")
MLMODEL = "MLmodel"


@dataclass
class AddOptions:
    """What ``models add`` was told besides NAME and PATH."""

    reference: Path | None = None
    target: str | None = None
    features: Sequence[str] = ()
    title: str | None = None
    description: str = ""
    trust_pickle: str | None = None
    trust_types: Sequence[str] = ()
    positive_class: str | None = None
    threshold: float | None = None
    promote: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def add_model(
    store: ModelStore, settings: Settings, name: str, path: Path, options: AddOptions
) -> str:
    """Check, convert, dry-run load and add ``path`` as the next version of ``name``.

    Returns:
        The new version number.

    Raises:
        InvalidModelSource: the model is refused; the message is the one-line reason.
    """
    check_model_name(name)
    if not path.exists():
        raise InvalidModelSource(f"{path} does not exist")
    with tempfile.TemporaryDirectory(prefix="labserve-add-") as scratch:
        folder = prepare_folder(path, Path(scratch) / "model", options)
        dry_run_load(folder, name, settings)
        return store.add(name, folder, source=str(path.resolve()), promote=options.promote)


def prepare_folder(path: Path, destination: Path, options: AddOptions) -> Path:
    """A folder in labserve's format for whatever ``path`` is."""
    if path.is_dir() and (path / METADATA_FILENAME).is_file():
        if options.reference or options.target or options.features:
            raise InvalidModelSource(
                "a folder written by save_model already describes its inputs: drop "
                "--reference/--target/--features"
            )
        read_metadata(path)
        return path
    if path.is_dir() and (path / MLMODEL).is_file():
        return _from_mlflow(path, destination, options)
    suffix = path.suffix.lower()
    if path.is_file() and suffix == ".skops":
        estimator = load_skops_bytes(path.read_bytes(), path.name, None, options.trust_types)
        return _save(estimator, destination, options, source={"format": "skops"})
    if path.is_file() and suffix == ".onnx":
        return _save(path, destination, options, source={"format": "onnx"})
    if path.is_file() and suffix in PICKLE_SUFFIXES:
        estimator = load_trusted_pickle(path, options.trust_pickle)
        return _save(estimator, destination, options, source=pickle_provenance(path))
    raise InvalidModelSource(
        f"cannot serve {path.name}: expected a folder written by labserve.save_model, an "
        "MLflow model folder, or a .skops, .onnx, .pkl or .joblib file"
    )


def dry_run_load(folder: Path, name: str, settings: Settings) -> None:
    """Load the folder with its kind before it enters the store: refuse what cannot serve."""
    metadata = read_metadata(folder)
    try:
        cls = kind_class(str(metadata.get("kind")))
        model = cls(
            ModelSource(name=name, version="0", path=folder, metadata=metadata, settings=settings)
        )
        model.load()
    except ArtifactError as exc:
        raise InvalidModelSource(str(exc)) from None


def load_trusted_pickle(path: Path, trusted_sha256: str | None) -> Any:
    """Unpickle ``path`` only if the caller vouched for exactly these bytes."""
    data = path.read_bytes()
    actual = hashlib.sha256(data).hexdigest()
    if trusted_sha256 is None:
        raise InvalidModelSource(
            f"refusing to unpickle {path.name}: a pickle runs code when it is read. If you "
            f"trust it, pass --trust-pickle {actual}"
        )
    if trusted_sha256.strip().lower() != actual:
        raise InvalidModelSource(
            f"--trust-pickle does not match {path.name} (its sha256 is {actual}): refusing "
            "to unpickle a file other than the one you vouched for"
        )
    try:
        if path.suffix.lower() == ".joblib":
            import joblib

            return joblib.load(io.BytesIO(data))
        return pickle.loads(data)  # noqa: S301 - the caller vouched for these exact bytes
    except Exception as exc:
        raise InvalidModelSource(f"cannot unpickle {path.name}: {exc}") from None


def pickle_provenance(path: Path) -> dict[str, Any]:
    return {
        "format": path.suffix.lower().lstrip("."),
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "note": "unpickled once with the user's explicit trust, re-saved with skops",
    }


def _save(model: Any, destination: Path, options: AddOptions, source: dict[str, Any]) -> Path:
    reference, target = read_reference(options.reference, options.target)
    return save_model(
        model,
        destination,
        reference=reference,
        target=target,
        features=list(options.features) or None,
        title=options.title,
        description=options.description,
        positive_class=options.positive_class,
        threshold=options.threshold,
        trusted_types=options.trust_types,
        extra={"source": source, **options.extra},
    )


def read_reference(csv_path: Path | None, target: str | None) -> tuple[Any, Any]:
    """The reference CSV's inputs and (when ``target`` names a column) its target."""
    if csv_path is None:
        if target:
            raise InvalidModelSource("--target names a column of the --reference CSV; give both")
        return None, None
    import pandas as pd

    try:
        frame = pd.read_csv(csv_path)
    except (OSError, ValueError) as exc:
        raise InvalidModelSource(f"cannot read {csv_path}: {exc}") from None
    if target is None:
        return frame, None
    if target not in frame.columns:
        raise InvalidModelSource(f"the reference CSV has no column {target!r}")
    return frame.drop(columns=[target]), frame[target].to_numpy()


# -- MLflow -----------------------------------------------------------------------------------
def _from_mlflow(folder: Path, destination: Path, options: AddOptions) -> Path:
    import yaml

    try:
        spec = yaml.safe_load((folder / MLMODEL).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise InvalidModelSource(f"cannot read {folder / MLMODEL}: {exc}") from None
    flavors = spec.get("flavors") or {}
    if not options.features:
        options.features = signature_names(spec)
    source = {"format": "mlflow", "mlflow_version": spec.get("mlflow_version")}
    if "sklearn" in flavors:
        flavor = flavors["sklearn"]
        file = _inside(folder, str(flavor.get("pickled_model") or "model.pkl"))
        serialization = str(flavor.get("serialization_format") or "cloudpickle")
        if serialization == "skops":
            trusted = [*(flavor.get("skops_trusted_types") or []), *options.trust_types]
            estimator = load_skops_bytes(file.read_bytes(), file.name, None, trusted)
        else:
            estimator = load_trusted_pickle(file, options.trust_pickle)
            source.update(pickle_provenance(file), format=f"mlflow ({serialization})")
        return _save(estimator, destination, options, source={**source, "flavor": "sklearn"})
    if "onnx" in flavors:
        file = _inside(folder, str(flavors["onnx"].get("data") or "model.onnx"))
        return _save(file, destination, options, source={**source, "flavor": "onnx"})
    raise InvalidModelSource(
        f"MLflow model with flavours {sorted(flavors)}: labserve serves the sklearn and onnx ones"
    )


def signature_names(spec: dict[str, Any]) -> list[str]:
    """Column names from an MLmodel's input signature (empty when it has none)."""
    inputs = (spec.get("signature") or {}).get("inputs")
    if not inputs:
        return []
    try:
        columns = json.loads(inputs)
    except ValueError:
        return []
    return [str(c["name"]) for c in columns if isinstance(c, dict) and c.get("name")]


def _inside(folder: Path, name: str) -> Path:
    path = (folder / name).resolve()
    if folder.resolve() not in path.parents or not path.is_file():
        raise InvalidModelSource(f"the MLmodel file names {name!r}, which is not in {folder}")
    return path
