"""``labserve.save_model``: a fitted model (scikit-learn or ONNX) as a servable folder.

The folder holds the artifact (``model.skops``, never a pickle; or ``model.onnx``) and a
``metadata.json`` that says everything serving needs and a reader of the model card wants:
the kind and task, the input schema with the ranges and categories seen in ``reference``,
the classes, library versions, sha256 of every file, and, when ``target`` is given, metrics
from cross-validation of the same recipe or from a held-out ``test`` set. ``labserve models
add NAME FOLDER`` then puts it in the store as a new version.
"""

from __future__ import annotations

import hashlib
import json
import logging
import platform
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from labserve.models.artifacts import ARTIFACT_FILENAME, METADATA_FILENAME, sha256_file
from labserve.models.describing import (
    as_frame,
    describe_features,
    feature_importances,
    typical_cases,
)
from labserve.models.errors import InvalidModelSource
from labserve.models.evaluation import (
    classification_metrics,
    cross_validated_predictions,
    fold_count,
    regression_metrics,
    threshold_for_sensitivity,
)
from labserve.models.features import FeatureSpec
from labserve.models.tabular import DEFAULT_DECIMALS

log = logging.getLogger(__name__)

FORMAT = 1
ONNX_FILENAME = "model.onnx"
DEFAULT_FOLDS = 5


@dataclass
class ModelDescription:
    """What the caller says about a model beyond the model itself (all optional)."""

    title: str | None = None
    description: str = ""
    units: Mapping[str, str] = field(default_factory=dict)
    descriptions: Mapping[str, str] = field(default_factory=dict)
    positive_class: str | None = None
    threshold: float | None = None
    target_sensitivity: float | None = None
    threshold_rule: str = "given when the model was saved"
    extra: Mapping[str, Any] = field(default_factory=dict)


def save_model(
    model: Any,
    path: str | Path,
    *,
    reference: Any = None,
    target: Any = None,
    test: tuple[Any, Any] | None = None,
    features: Sequence[str | FeatureSpec] | None = None,
    description: str = "",
    title: str | None = None,
    units: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
    positive_class: str | None = None,
    threshold: float | None = None,
    target_sensitivity: float | None = None,
    cv: int = DEFAULT_FOLDS,
    seed: int = 0,
    trusted_types: Sequence[str] = (),
    extra: Mapping[str, Any] | None = None,
    overwrite: bool = False,
) -> Path:
    """Write ``model`` and its metadata into the folder ``path``; return the folder.

    Args:
        model: a fitted scikit-learn estimator or pipeline; or an ONNX model (a path to a
            ``.onnx`` file, its bytes, or an ``onnx.ModelProto``).
        path: the folder to write (created; must be empty unless ``overwrite``).
        reference: the training inputs (a DataFrame, or an array with ``features``): they
            give the input schema, the training ranges, categories and typical cases.
        target: the labels or values of ``reference``; with it the card gets metrics from
            ``cv``-fold cross-validation of a clone of ``model`` (scikit-learn), or from the
            model's answers on ``reference`` (ONNX: it cannot be refitted; the card says so).
        test: ``(X_test, y_test)`` never seen in training: held-out metrics of ``model``.
        features: column names (or ``FeatureSpec`` objects) when ``reference`` has none.
        description, title: words for the model's page.
        units, descriptions: per feature, shown beside each input.
        positive_class, threshold: for a binary classifier, decide the positive class when
            its probability is at least ``threshold`` (otherwise the likelier class wins).
        target_sensitivity: instead of ``threshold``, choose the highest threshold that
            catches at least this fraction of ``positive_class`` cases on cross-validation
            (for example 0.95 for a screening test).
        cv: folds of cross-validation (0 to skip). seed: for the folds, reproducibly.
        trusted_types: extra types the skops file may hold (they are recorded, and
            loading accepts them).
        extra: more metadata to record as is (provenance, intended use...).
        overwrite: replace an existing folder.

    Raises:
        InvalidModelSource: the model cannot be served as described, with the reason.
    """
    folder = Path(path)
    _prepare_folder(folder, overwrite)
    words = ModelDescription(
        title=title,
        description=description,
        units=units or {},
        descriptions=descriptions or {},
        positive_class=positive_class,
        threshold=threshold,
        target_sensitivity=target_sensitivity,
        extra=extra or {},
    )
    given = [f if isinstance(f, FeatureSpec) else FeatureSpec(name=str(f)) for f in features or []]
    try:
        if _is_onnx(model):
            metadata = _save_onnx(model, folder, reference, target, test, given, words)
        else:
            metadata = _save_sklearn(
                model, folder, reference, target, test, given, words, cv, seed, trusted_types
            )
    except Exception:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    write_metadata_file(folder, metadata)
    return folder


def write_metadata_file(folder: Path, metadata: Mapping[str, Any]) -> None:
    text = json.dumps(metadata, indent=2, default=_json_default) + "\n"
    (folder / METADATA_FILENAME).write_text(text, encoding="utf-8")


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _prepare_folder(folder: Path, overwrite: bool) -> None:
    if folder.exists() and any(folder.iterdir()):
        if not overwrite:
            raise InvalidModelSource(f"{folder} is not empty (pass overwrite=True to replace it)")
        shutil.rmtree(folder)
    folder.mkdir(parents=True, exist_ok=True)


def _is_onnx(model: Any) -> bool:
    if isinstance(model, (str, Path)):
        return str(model).lower().endswith(".onnx")
    if isinstance(model, bytes):
        return True
    return type(model).__name__ == "ModelProto"


# -- scikit-learn -----------------------------------------------------------------------------
def _save_sklearn(
    estimator: Any,
    folder: Path,
    reference: Any,
    target: Any,
    test: tuple[Any, Any] | None,
    given: list[FeatureSpec],
    words: ModelDescription,
    folds: int,
    seed: int,
    trusted_types: Sequence[str],
) -> dict[str, Any]:
    if not hasattr(estimator, "predict"):
        raise InvalidModelSource(
            f"a {type(estimator).__name__} has no predict method: not a fitted model"
        )
    names = _input_names(estimator, reference, given)
    frame = as_frame(reference, names) if reference is not None else None
    if frame is not None:
        features = describe_features(
            frame, given=given, units=words.units, descriptions=words.descriptions
        )
    elif given:
        features = given
    else:
        raise InvalidModelSource(
            "give reference= (the training inputs) or features= (names): a model's inputs "
            "must be named to be served"
        )
    task, classes, has_probabilities = _task_of(estimator)
    check_decision(classes, words)
    fitted_on_frame = hasattr(estimator, "feature_names_in_")

    def model_input(data: Any) -> Any:
        table = as_frame(data, [f.name for f in features])
        return table if fitted_on_frame else _numeric_or_object(table)

    if frame is not None:
        _check_predicts(estimator, model_input(frame.head(5)))
    classifier = task == "classification"
    y = None if target is None else np.asarray(target)
    out_of_fold: tuple[int, np.ndarray, np.ndarray | None] | None = None
    if frame is not None and y is not None:
        if len(y) != len(frame):
            raise InvalidModelSource(
                f"target has {len(y)} values but the reference data {len(frame)} rows"
            )
        usable = fold_count(y, classifier, folds) if folds else 0
        if usable >= 2:
            try:
                labels, proba = cross_validated_predictions(
                    estimator, model_input(frame), y, folds=usable, seed=seed, classifier=classifier
                )
                out_of_fold = (usable, labels, proba)
            except Exception as exc:  # e.g. an estimator that cannot be cloned
                log.warning("no cross-validation: %s", exc)
    if words.target_sensitivity is not None:
        choose_threshold(words, classes, y, out_of_fold, decimals(words))
    metadata = _base_metadata("sklearn", task, features, classes, has_probabilities, words)
    metadata["estimator"] = _estimator_name(estimator)
    metrics: dict[str, Any] = {}
    if out_of_fold is not None and y is not None:
        usable, labels, proba = out_of_fold
        metrics["cross_validation"] = {
            "method": f"{usable}-fold cross-validation of the same recipe (refitted clones; "
            "out-of-fold predictions)",
            **_score(classifier, y, labels, proba, classes, words),
        }
    if frame is not None and y is not None:
        metadata["examples"] = typical_cases(frame, features, y, classifier)
    if test is not None:
        X_test, y_test = model_input(test[0]), np.asarray(test[1])
        labels, proba = _predict_with(estimator, X_test, classifier, has_probabilities)
        metrics["held_out"] = {
            "method": "held-out test set given at save time (never used in training)",
            **_score(classifier, y_test, labels, proba, classes, words),
        }
    metadata["metrics"] = metrics
    if frame is not None:
        importances = feature_importances(
            estimator, [f.name for f in features], model_input(frame), y, seed
        )
        if importances:
            metadata["feature_importances"] = importances
    trusted = _write_skops(estimator, folder / ARTIFACT_FILENAME, trusted_types)
    metadata["artifact"] = {
        "file": ARTIFACT_FILENAME,
        "format": "skops",
        "sha256": sha256_file(folder / ARTIFACT_FILENAME),
        "trusted_types": trusted,
    }
    rows = [frame] if frame is not None else []
    if test is not None:
        rows.append(as_frame(test[0], [f.name for f in features]))
    metadata["onnx"] = compile_for_speed(estimator, folder, features, rows, metadata)
    return metadata


def _input_names(estimator: Any, reference: Any, given: list[FeatureSpec]) -> list[str] | None:
    fitted = getattr(estimator, "feature_names_in_", None)
    if fitted is not None:
        return [str(n) for n in fitted]
    if given:
        expected = getattr(estimator, "n_features_in_", len(given))
        if expected != len(given):
            raise InvalidModelSource(
                f"the model takes {expected} features but {len(given)} names were given"
            )
        return [f.name for f in given]
    columns = getattr(reference, "columns", None)
    if columns is not None:
        return [str(c) for c in columns]
    return None


def _numeric_or_object(frame: Any) -> np.ndarray:
    try:
        return np.asarray(frame.to_numpy(), dtype=np.float64)
    except (TypeError, ValueError):
        return np.asarray(frame.to_numpy(), dtype=object)


def _task_of(estimator: Any) -> tuple[str, list[str], bool]:
    from sklearn.base import is_classifier, is_regressor

    classes = getattr(estimator, "classes_", None)
    if is_classifier(estimator) or (classes is not None and not is_regressor(estimator)):
        if classes is None:
            raise InvalidModelSource("the classifier has no classes_: is it fitted?")
        names = [str(c) for c in np.asarray(classes).tolist()]
        if len(set(names)) != len(names):
            raise InvalidModelSource(f"class labels {names} are not distinct as text")
        return "classification", names, hasattr(estimator, "predict_proba")
    return "regression", [], False


def check_decision(classes: list[str], words: ModelDescription) -> None:
    if words.threshold is None and words.positive_class is None:
        if words.target_sensitivity is not None:
            raise InvalidModelSource("target_sensitivity needs positive_class")
        return
    if len(classes) != 2:
        raise InvalidModelSource("positive_class and threshold apply to binary classifiers only")
    if words.positive_class not in classes:
        raise InvalidModelSource(f"positive_class must be one of {classes}")
    if words.target_sensitivity is not None:
        if words.threshold is not None:
            raise InvalidModelSource("give threshold or target_sensitivity, not both")
        if not 0.0 < float(words.target_sensitivity) <= 1.0:
            raise InvalidModelSource("target_sensitivity must be a fraction between 0 and 1")
        return
    if words.threshold is None or not 0.0 < float(words.threshold) < 1.0:
        raise InvalidModelSource("threshold must be a probability between 0 and 1")


def decimals(words: ModelDescription) -> int:
    return int(words.extra.get("probability_decimals", DEFAULT_DECIMALS))


def choose_threshold(
    words: ModelDescription,
    classes: list[str],
    y: np.ndarray | None,
    out_of_fold: tuple[int, np.ndarray, np.ndarray | None] | None,
    places: int,
) -> None:
    """Set ``words.threshold`` to reach ``target_sensitivity`` on out-of-fold predictions.

    Chosen on cross-validation, never on a test set: the held-out metrics then say how the
    chosen threshold does on cases nobody tuned it on.
    """
    proba = None if out_of_fold is None else out_of_fold[2]
    if y is None or out_of_fold is None or proba is None:
        raise InvalidModelSource(
            "target_sensitivity needs target= data, cross-validation (cv >= 2) and a "
            "classifier with probabilities"
        )
    folds = out_of_fold[0]
    column = classes.index(str(words.positive_class))
    is_positive = (np.asarray([str(v) for v in y]) == words.positive_class).astype(int)
    target = float(words.target_sensitivity or 0)
    words.threshold = threshold_for_sensitivity(is_positive, proba[:, column], target, places)
    words.threshold_rule = (
        f"the highest threshold with sensitivity >= {target:g} for {words.positive_class} on "
        f"{folds}-fold cross-validation"
    )


def _check_predicts(estimator: Any, X: Any) -> None:
    try:
        estimator.predict(X)
    except Exception as exc:
        raise InvalidModelSource(
            f"the model cannot predict on the reference data (does the schema match?): {exc}"
        ) from exc


def _predict_with(
    estimator: Any, X: Any, classifier: bool, has_probabilities: bool
) -> tuple[np.ndarray, np.ndarray | None]:
    if classifier and has_probabilities:
        proba = estimator.predict_proba(X)
        return np.asarray(estimator.classes_)[np.argmax(proba, axis=1)], proba
    return np.asarray(estimator.predict(X)), None


def _score(
    classifier: bool,
    y: np.ndarray,
    labels: np.ndarray,
    proba: np.ndarray | None,
    classes: list[str],
    words: ModelDescription,
) -> dict[str, Any]:
    if not classifier:
        return regression_metrics(y, labels)
    if proba is not None and words.threshold is not None and words.positive_class in classes:
        column = classes.index(str(words.positive_class))
        other = classes[1 - column]
        labels = np.where(proba[:, column] >= words.threshold, words.positive_class, other)
    return classification_metrics(y, labels, proba, classes, words.positive_class)


def _estimator_name(estimator: Any) -> str:
    steps = getattr(estimator, "steps", None)
    if steps is None:
        return type(estimator).__name__
    return " → ".join(type(step).__name__ for _, step in steps)


def _write_skops(estimator: Any, path: Path, extra: Sequence[str]) -> list[str]:
    """Save with skops; return the types loading must trust beyond the defaults.

    The caller made the estimator, so whatever it holds is trusted for this file: the list
    is recorded in metadata.json, and loading accepts those types and no others.
    """
    import skops.io as sio

    from labserve.models.artifacts import skops_types, untrusted_types

    data = sio.dumps(estimator)
    path.write_bytes(data)
    return sorted(set(untrusted_types(skops_types(data))) | set(extra))


def compile_for_speed(
    estimator: Any,
    folder: Path,
    features: Sequence[FeatureSpec],
    frames: Sequence[Any],
    metadata: Mapping[str, Any],
) -> dict[str, Any]:
    """Compile an exactly compilable classifier to ONNX and check it on every given row.

    Returns the ``onnx`` section of metadata.json. A model that cannot be compiled, or
    whose compiled answers differ, is still served, by scikit-learn; the reason is recorded.
    """
    from labserve.models.exact_onnx import exactly_compilable

    compilable = metadata.get("has_probabilities") and exactly_compilable(estimator)
    if any(f.is_category for f in features) or not compilable:
        return {
            "available": False,
            "reason": "only tree-ensemble classifiers on numbers are compiled to ONNX",
        }
    rows = [np.asarray(f.to_numpy(), dtype=np.float64) for f in frames] or [
        np.zeros((1, len(features)))
    ]
    X = np.vstack(rows)
    try:
        from labserve.models.exact_onnx import (
            TOLERANCE,
            CompiledProbabilities,
            agreement,
            compile_exact,
            describe_model,
        )

        model_bytes = compile_exact(estimator, len(features))
        fitted_on_frame = hasattr(estimator, "feature_names_in_")
        reference = estimator.predict_proba(
            as_frame(X, [f.name for f in features]) if fitted_on_frame else X
        )
        classes = list(metadata.get("classes") or [])
        decision = metadata.get("decision") or {}
        positive = decision.get("positive_class")
        check = agreement(
            reference,
            CompiledProbabilities(model_bytes)(X),
            int(metadata.get("probability_decimals", 6)),
            positive=classes.index(positive) if positive in classes else None,
            threshold=decision.get("threshold"),
        )
    except Exception as exc:  # a converter that cannot handle this model
        log.warning("ONNX compilation failed; scikit-learn will serve: %s", exc)
        return {"available": False, "reason": f"compilation failed: {exc}"}
    if not check["passed"]:
        return {"available": False, "reason": "compiled answers differ", "agreement": check}
    (folder / ONNX_FILENAME).write_bytes(model_bytes)
    return {
        "available": True,
        "file": ONNX_FILENAME,
        "sha256": hashlib.sha256(model_bytes).hexdigest(),
        "tolerance": TOLERANCE,
        "agreement": check,
        **describe_model(model_bytes),
    }


# -- ONNX -------------------------------------------------------------------------------------
def _onnx_bytes(model: Any) -> bytes:
    if isinstance(model, bytes):
        return model
    if isinstance(model, (str, Path)):
        try:
            return Path(model).read_bytes()
        except OSError as exc:
            raise InvalidModelSource(f"cannot read {model}: {exc.strerror}") from None
    return bytes(model.SerializeToString())


def _save_onnx(
    model: Any,
    folder: Path,
    reference: Any,
    target: Any,
    test: tuple[Any, Any] | None,
    given: list[FeatureSpec],
    words: ModelDescription,
) -> dict[str, Any]:
    from labserve.models.onnx_model import describe_io, read_graph

    data = _onnx_bytes(model)
    names = [f.name for f in given] or (
        [str(c) for c in reference.columns] if hasattr(reference, "columns") else None
    )
    io = describe_io(read_graph(data), names)
    frame = (
        as_frame(reference, [f["name"] for f in io["features"]]) if reference is not None else None
    )
    declared = [FeatureSpec.from_dict(f) for f in io["features"]]
    specs = {spec.name: spec for spec in given}
    base = [specs.get(spec.name, spec) if not spec.is_category else spec for spec in declared]
    if frame is not None:
        features = describe_features(
            frame, given=base, units=words.units, descriptions=words.descriptions
        )
    else:
        features = base
    check_decision(io["classes"], words)
    if words.target_sensitivity is not None:
        raise InvalidModelSource(
            "target_sensitivity is chosen by cross-validation, and an ONNX model cannot be "
            "refitted: give threshold instead"
        )
    (folder / ONNX_FILENAME).write_bytes(data)
    metadata = _base_metadata(
        "onnx", io["task"], features, io["classes"], io["has_probabilities"], words
    )
    metadata["onnx_io"] = io["onnx_io"]
    metadata["artifact"] = {
        "file": ONNX_FILENAME,
        "format": "onnx",
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    metadata["metrics"] = _onnx_metrics(folder, metadata, frame, target, test, words)
    if frame is not None:
        classifier = io["task"] == "classification"
        metadata["examples"] = typical_cases(frame, features, target, classifier)
    return metadata


def _onnx_metrics(
    folder: Path,
    metadata: dict[str, Any],
    frame: Any,
    target: Any,
    test: tuple[Any, Any] | None,
    words: ModelDescription,
) -> dict[str, Any]:
    """An ONNX model cannot be refitted: it is scored on the data given, as it will serve."""
    from labserve.models.base import ModelSource
    from labserve.models.onnx_model import OnnxModel
    from labserve.models.tabular import Table

    served = OnnxModel(ModelSource(name="candidate", version="0", path=folder, metadata=metadata))
    served.load()
    names = [spec.name for spec in served.features]
    out: dict[str, Any] = {}
    for key, data, y, method in (
        (
            "held_out",
            test[0] if test else None,
            test[1] if test else None,
            "held-out test set given when the model was added",
        ),
        (
            "reference",
            frame,
            target,
            "the reference data given (the model may have been trained on it: an optimistic "
            "estimate)",
        ),
    ):
        if data is None or y is None:
            continue
        table = Table.from_frame(served.features, as_frame(data, names))
        output = served.predict_table(table)
        classifier = served.is_classifier
        if classifier:
            proba, labels = served.decide(output)
            out[key] = {
                "method": method,
                **classification_metrics(
                    np.asarray(y), np.asarray(labels), proba, served.classes, words.positive_class
                ),
            }
        else:
            out[key] = {"method": method, **regression_metrics(np.asarray(y), output.values)}
    return out


# -- shared -----------------------------------------------------------------------------------
def _base_metadata(
    kind: str,
    task: str,
    features: Sequence[FeatureSpec],
    classes: list[str],
    has_probabilities: bool,
    words: ModelDescription,
) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "format": FORMAT,
        "kind": kind,
        "task": task,
        "title": words.title,
        "description": words.description,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": [f.as_dict() for f in features],
        "classes": classes,
        "has_probabilities": has_probabilities,
        "libraries": library_versions(),
    }
    if words.threshold is not None:
        metadata["decision"] = {
            "positive_class": words.positive_class,
            "threshold": float(words.threshold),
            "chosen_by": words.threshold_rule,
        }
    metadata.update(words.extra)
    return metadata


def library_versions() -> dict[str, str]:
    from importlib import metadata as importlib_metadata

    versions = {"python": platform.python_version()}
    for name in ("labserve", "numpy", "scikit-learn", "skops", "onnx", "onnxruntime"):
        try:
            versions[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            continue
    return versions
