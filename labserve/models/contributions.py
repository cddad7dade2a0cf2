"""Why a tree ensemble predicted what it did: exact per-feature contributions.

For one tree, the prediction is the value of the leaf a case reaches. Walking from the root,
each split moves the value from the parent node's to the child's; that change is credited to
the feature the split tested. So the leaf value is exactly the root value (the baseline: the
training average) plus one contribution per feature, and the forest's prediction, an average
of trees, is the average baseline plus the averaged contributions (Saabas' decomposition, as
``treeinterpreter`` computes it). Nothing is approximated: the parts add up to the answer.

That holds for random forests, extra trees and decision trees, alone or after
StandardScalers (which map each input to one scaled column, so credit stays with the input).
``explainable`` says whether an estimator is one of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

_TREES = (
    "RandomForestClassifier",
    "ExtraTreesClassifier",
    "DecisionTreeClassifier",
    "RandomForestRegressor",
    "ExtraTreesRegressor",
    "DecisionTreeRegressor",
)


@dataclass(frozen=True)
class Contributions:
    """Per case: ``baseline + contributions.sum() == prediction`` (for each output column)."""

    baseline: np.ndarray  # (n_outputs,): classes' probabilities, or one value
    values: np.ndarray  # (n_cases, n_features, n_outputs)


def _steps(estimator: Any) -> list[Any]:
    steps = getattr(estimator, "steps", None)
    return [step for _, step in steps] if steps is not None else [estimator]


def explainable(estimator: Any) -> bool:
    """True for [StandardScaler...] + a random forest, extra trees or a decision tree."""
    *before, last = _steps(estimator)
    return type(last).__name__ in _TREES and all(
        type(step).__name__ == "StandardScaler" for step in before
    )


def tree_contributions(estimator: Any, X: Any) -> Contributions:
    """Exact contributions of each input feature for each row of ``X``.

    ``X`` is what the estimator itself takes (a DataFrame when it was fitted on one).
    """
    *before, last = _steps(estimator)
    for step in before:
        X = step.transform(X)
    # scikit-learn's trees compare float32 values: decide the paths exactly as they do
    with np.errstate(over="ignore"):  # beyond float32's range is ±inf, for them as for us
        X = np.ascontiguousarray(X, dtype=np.float32)
    trees = list(getattr(last, "estimators_", None) or [last])
    n_features = X.shape[1]
    total = np.zeros((len(X), n_features, 1))
    baseline = np.zeros(1)
    for tree in trees:
        values = _node_values(tree)  # (nodes, outputs)
        structure = tree.tree_
        parent = np.full(structure.node_count, -1)
        for side in (structure.children_left, structure.children_right):
            inner = side >= 0
            parent[side[inner]] = np.flatnonzero(inner)
        child = np.flatnonzero(parent >= 0)
        change = values[child] - values[parent[child]]  # (edges, outputs)
        feature = structure.feature[parent[child]]
        outputs = values.shape[1]
        # one column per (feature, output); an edge adds its change to its split's feature
        credit = sp.csr_matrix(
            (
                change.ravel(),
                (
                    np.repeat(child, outputs),
                    np.tile(np.arange(outputs), len(child)) + np.repeat(feature * outputs, outputs),
                ),
            ),
            shape=(structure.node_count, n_features * outputs),
        )
        # the compiled tree itself, as the forest's predict calls it: no second check of X
        paths = structure.decision_path(X)  # (cases, nodes), 1 where passed
        part = np.asarray((paths @ credit).todense()).reshape(len(X), n_features, outputs)
        total = total + part  # broadcasts from one output to the tree's outputs
        baseline = baseline + values[0]
    return Contributions(baseline=baseline / len(trees), values=total / len(trees))


def _node_values(tree: Any) -> np.ndarray:
    """Each node's prediction: class probabilities (classifiers) or the mean value."""
    value = np.asarray(tree.tree_.value[:, 0, :], dtype=np.float64)
    if hasattr(tree, "classes_") and value.shape[1] > 1:
        sums = value.sum(axis=1, keepdims=True)
        return value / np.where(sums == 0, 1.0, sums)
    return value
