"""Describing a tabular model from its reference data: features, typical cases, importances.

``reference`` is the data the model was trained on (or data like it): it gives each feature
its kind (number or category), the range or the set of values seen in training, and the
typical cases the form offers as examples. Computed once, when the model is saved.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from labserve.models.errors import InvalidModelSource
from labserve.models.features import FeatureSpec

log = logging.getLogger(__name__)

#: A text column with more distinct values than this is free text, not a category.
MAX_CATEGORIES = 1000
#: Classes offered as "typical case" buttons at most.
MAX_EXAMPLE_CLASSES = 6


def as_frame(data: Any, names: Sequence[str] | None = None) -> Any:
    """``data`` (DataFrame, array, list of rows) as a DataFrame with the given column names."""
    import pandas as pd

    if isinstance(data, pd.DataFrame):
        frame = data.reset_index(drop=True)
        if names is not None:
            missing = [n for n in names if n not in frame.columns]
            if missing:
                raise InvalidModelSource(
                    f"the reference data has no column {missing[0]!r} (the model needs "
                    f"{', '.join(map(str, names))})"
                )
            frame = frame[list(names)]
        frame.columns = [str(c) for c in frame.columns]
        return frame
    array = np.asarray(data, dtype=object)
    if array.ndim != 2:
        raise InvalidModelSource("the reference data must be a table (2-D), one row per case")
    columns = list(names) if names is not None else [f"x{i}" for i in range(array.shape[1])]
    if len(columns) != array.shape[1]:
        raise InvalidModelSource(
            f"the reference data has {array.shape[1]} columns, but {len(columns)} feature "
            "names were given"
        )
    frame = pd.DataFrame(array, columns=columns)
    return frame.infer_objects()


def is_category_column(column: Any) -> bool:
    import pandas as pd

    return not (
        pd.api.types.is_numeric_dtype(column.dtype) and not pd.api.types.is_bool_dtype(column.dtype)
    )


def plain(value: Any) -> Any:
    """A numpy scalar as the Python value JSON can hold."""
    return value.item() if isinstance(value, np.generic) else value


def describe_features(
    frame: Any,
    *,
    given: Sequence[FeatureSpec] = (),
    units: Mapping[str, str] | None = None,
    descriptions: Mapping[str, str] | None = None,
) -> list[FeatureSpec]:
    """One ``FeatureSpec`` per column: kind, training range or categories, unit, words.

    ``given`` specs (e.g. a built-in model's, with hard limits) are kept and only gain the
    training range.
    """
    known = {spec.name: spec for spec in given}
    out: list[FeatureSpec] = []
    for name in frame.columns:
        column = frame[name]
        spec = known.get(name) or FeatureSpec(name=name, label=name.replace("_", " "))
        unit = (units or {}).get(name, spec.unit)
        description = (descriptions or {}).get(name, spec.description)
        if spec.is_category or is_category_column(column):
            values = column.dropna().unique().tolist()
            categories = sorted({plain(v) for v in values}, key=str)
            if len(categories) > MAX_CATEGORIES:
                categories = []
            out.append(
                _replace(
                    spec,
                    type="category",
                    categories=tuple(categories),
                    unit=unit,
                    description=description,
                )
            )
            continue
        numbers = column.to_numpy(dtype=np.float64)
        finite = numbers[np.isfinite(numbers)]
        out.append(
            _replace(
                spec,
                unit=unit,
                description=description,
                training_min=float(finite.min()) if finite.size else None,
                training_max=float(finite.max()) if finite.size else None,
                integer=bool(finite.size and np.all(finite == np.round(finite))),
            )
        )
    return out


def _replace(spec: FeatureSpec, **changes: Any) -> FeatureSpec:
    from dataclasses import replace

    return replace(spec, **changes)


def typical_cases(
    frame: Any, features: Sequence[FeatureSpec], target: Any | None, classifier: bool
) -> dict[str, dict[str, Any]]:
    """Per class (or overall), the median of each number and the commonest category.

    The form offers them as "typical ... case" buttons: a quick way to see the model work.
    """

    def typical(rows: Any) -> dict[str, Any]:
        case: dict[str, Any] = {}
        for spec in features:
            column = rows[spec.name].dropna()
            if column.empty:
                return {}
            if spec.is_category:
                case[spec.name] = plain(column.mode().iloc[0])
            else:
                value = float(np.median(column.to_numpy(dtype=np.float64)))
                case[spec.name] = round(value) if spec.integer else round(value, 5)
        return case

    if not classifier or target is None:
        case = typical(frame)
        return {"typical case": case} if case else {}
    labels = np.asarray([str(v) for v in np.asarray(target).tolist()], dtype=object)
    classes = sorted(set(labels.tolist()))
    if len(classes) > MAX_EXAMPLE_CLASSES:
        return {}
    out = {}
    for label in classes:
        case = typical(frame[labels == label])
        if case:
            out[f"typical {label} case"] = case
    return out


def feature_importances(
    estimator: Any, names: Sequence[str], X: Any = None, y: Any = None, seed: int = 0
) -> dict[str, Any] | None:
    """Importance of each input feature, highest first, with the method that measured it.

    A model whose final step has ``feature_importances_`` (or linear ``coef_``) over exactly
    the input features reports those; otherwise, with labelled data, permutation importance
    on that data measures every model the same way, in the input features' terms.
    """
    final = estimator.steps[-1][1] if hasattr(estimator, "steps") else estimator
    values = getattr(final, "feature_importances_", None)
    method = "impurity (mean decrease, from the fitted trees)"
    if values is None or len(values) != len(names):
        values, method = None, ""
    if values is None and X is not None and y is not None:
        from sklearn.inspection import permutation_importance

        try:
            result = permutation_importance(estimator, X, y, n_repeats=5, random_state=seed)
        except Exception as exc:  # a model that cannot be permuted is still served
            log.info("no permutation importance: %s", exc)
            return None
        values, method = result.importances_mean, "permutation (mean score drop, 5 repeats)"
    if values is None:
        return None
    pairs = sorted(
        zip(names, np.asarray(values, dtype=float).tolist(), strict=True), key=lambda p: -abs(p[1])
    )
    return {
        "method": method,
        "values": [{"feature": n, "importance": round(v, 5)} for n, v in pairs],
    }
