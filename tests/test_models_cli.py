"""``labserve models``: add from every kind of file a lab has, and refuse the rest in one line
with exit status 2; list, show, versions, promote, remove."""

from __future__ import annotations

import hashlib
import json
import pickle
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
import skops.io as sio
from click.testing import CliRunner, Result
from sklearn.base import BaseEstimator, TransformerMixin

from labserve import cli
from labserve.models.store import ModelStore
from tests.conftest import serve_folder
from tests.model_fixtures import LabModel, export_onnx


class Doubler(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """A lab's own transformer: a type skops does not know, so not trusted by default."""

    def fit(self, X: Any, y: Any = None) -> Doubler:
        return self

    def transform(self, X: Any) -> Any:
        return np.asarray(X) * 2


def run(instance: Path, *args: str) -> Result:
    return CliRunner().invoke(cli.main, [*args, "--instance-path", str(instance)])


def refused(result: Result, reason: str) -> None:
    """Exit status 2 and one line saying why."""
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1, result.output
    assert lines[0].startswith("Error: ")
    assert reason in lines[0], lines[0]


def write_reference(path: Path, lab: LabModel, target: str = "cultivar") -> Path:
    frame = lab.X.copy()
    frame[target] = lab.y
    frame.to_csv(path, index=False)
    return path


def prediction_of(instance: Path, name: str, row: dict[str, Any]) -> dict[str, Any]:
    store = ModelStore(instance / "models")
    model = serve_folder(store.path_of(name, store.promoted(name) or "1"), name=name)
    return model.predict([row])[0]  # type: ignore[no-any-return]


def first_row(lab: LabModel) -> dict[str, Any]:
    row = lab.X.iloc[0].to_dict()
    return {k: v.item() if isinstance(v, np.generic) else v for k, v in row.items()}


# -- the store's own commands -----------------------------------------------------------------
def test_add_list_show_versions_promote_remove(
    lab_instance: Path, lab_models: dict[str, LabModel]
) -> None:
    folder = str(lab_models["wine"].folder)
    added = run(lab_instance, "models", "add", "wine", folder)
    assert added.exit_code == 0, added.output
    assert added.output.strip() == "wine version 1 added (promoted: served by default)"
    again = run(lab_instance, "models", "add", "wine", folder)
    assert again.output.strip() == "wine version 2 added (not promoted)"
    listing = run(lab_instance, "models", "list").output.splitlines()
    assert "wine\tversion 1 of 2\tsklearn\tclassification" in listing
    assert any(line.startswith("diagnosis\tversion 1 of 1\tsklearn") for line in listing)
    assert any(line.startswith("summarizer\tversion 1 of 1\tsummarizer") for line in listing)
    shown = json.loads(run(lab_instance, "models", "show", "wine").output)
    assert (shown["name"], shown["version"], shown["promoted"]) == ("wine", "1", "1")
    assert shown["registration"]["source"] == str(Path(folder).resolve())
    versions = run(lab_instance, "models", "versions", "wine").output.splitlines()
    assert [line[:3] for line in versions] == ["* 1", "  2"]
    assert run(lab_instance, "models", "promote", "wine", "2").exit_code == 0
    assert run(lab_instance, "models", "versions", "wine").output.splitlines()[1].startswith("* 2")
    refused(run(lab_instance, "models", "remove", "wine", "2"), "is the promoted version")
    assert run(lab_instance, "models", "remove", "wine", "1").exit_code == 0
    refused(run(lab_instance, "models", "promote", "wine", "1"), "has no version '1'")
    refused(run(lab_instance, "models", "show", "beer"), "no model named 'beer'")
    assert run(lab_instance, "models", "remove", "wine", "--all").exit_code == 0
    assert "wine" not in run(lab_instance, "models", "list").output


@pytest.mark.parametrize("name", ["Wine", "wine model", "../wine", "w/1"])
def test_unsafe_names_are_refused(
    lab_instance: Path, lab_models: dict[str, LabModel], name: str
) -> None:
    result = run(lab_instance, "models", "add", name, str(lab_models["wine"].folder))
    refused(result, "is not a safe slug")


def test_an_unknown_file_is_refused(lab_instance: Path, tmp_path: Path) -> None:
    (tmp_path / "model.txt").write_text("weights")
    refused(run(lab_instance, "models", "add", "m", str(tmp_path / "model.txt")), "cannot serve")
    refused(run(lab_instance, "models", "add", "m", str(tmp_path / "nothing.skops")), "not exist")


# -- skops -------------------------------------------------------------------------------------
def test_a_skops_file_with_reference_data(
    lab_instance: Path, lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    wine = lab_models["wine"]
    path = tmp_path / "wine.skops"
    sio.dump(wine.estimator, path)
    reference = write_reference(tmp_path / "train.csv", wine)
    add = ["models", "add", "wine", str(path), "--reference", str(reference)]
    add += ["--target", "cultivar", "--description", "Cultivar"]
    # a forest's trees are raw node arrays: skops asks for explicit trust, and so does labserve
    refused(run(lab_instance, *add), "holds untrusted types: sklearn.tree._tree.Tree")
    result = run(lab_instance, *add, "--trust-types", "sklearn.tree._tree.Tree")
    assert result.exit_code == 0, result.output
    meta = ModelStore(lab_instance / "models").info("wine", "1").metadata
    assert meta["description"] == "Cultivar"
    assert meta["source"] == {"format": "skops"}
    assert meta["metrics"]["cross_validation"]["accuracy"] > 0.85
    prediction = prediction_of(lab_instance, "wine", first_row(wine))
    assert prediction["label"] == wine.estimator.predict(wine.X.head(1))[0]


def test_untrusted_types_in_a_skops_file_are_listed_and_refused(
    lab_instance: Path, lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    wine = lab_models["wine"]
    model = make_pipeline(Doubler(), StandardScaler(), LogisticRegression()).fit(wine.X, wine.y)
    path = tmp_path / "custom.skops"
    sio.dump(model, path)
    reference = write_reference(tmp_path / "train.csv", wine)
    common = [
        "models",
        "add",
        "custom",
        str(path),
        "--reference",
        str(reference),
        "--target",
        "cultivar",
    ]
    refused(run(lab_instance, *common), "holds untrusted types: tests.test_models_cli.Doubler")
    trusted = run(lab_instance, *common, "--trust-types", "tests.test_models_cli.Doubler")
    assert trusted.exit_code == 0, trusted.output
    meta = ModelStore(lab_instance / "models").info("custom", "1").metadata
    assert meta["artifact"]["trusted_types"] == ["tests.test_models_cli.Doubler"]


def test_an_estimator_without_predict_is_refused(
    lab_instance: Path, lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    from sklearn.preprocessing import StandardScaler

    wine = lab_models["wine"]
    sio.dump(StandardScaler().fit(wine.X), tmp_path / "scaler.skops")
    reference = write_reference(tmp_path / "train.csv", wine)
    result = run(
        lab_instance,
        "models",
        "add",
        "scaler",
        str(tmp_path / "scaler.skops"),
        "--reference",
        str(reference),
    )
    refused(result, "a StandardScaler has no predict method")


def test_reference_data_that_does_not_match_is_refused(
    lab_instance: Path, lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    diabetes = lab_models["diabetes"]
    path = str(tmp_path / "ridge.skops")
    sio.dump(diabetes.estimator, path)
    reference = tmp_path / "other.csv"
    diabetes.X.drop(columns=["bmi"]).to_csv(reference, index=False)
    result = run(lab_instance, "models", "add", "ridge", path, "--reference", str(reference))
    refused(result, "the reference data has no column 'bmi'")
    full = str(write_reference(tmp_path / "t.csv", diabetes))
    result = run(lab_instance, "models", "add", "ridge", path, "--reference", full, "--target", "x")
    refused(result, "the reference CSV has no column 'x'")


# -- ONNX ---------------------------------------------------------------------------------------
def test_an_onnx_file_named_by_features_or_by_the_reference_header(
    lab_instance: Path, lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    wine = lab_models["wine-onnx"]
    refused(run(lab_instance, "models", "add", "w", str(wine.folder)), "--features")
    names = ",".join(wine.X.columns)
    by_names = run(lab_instance, "models", "add", "w", str(wine.folder), "--features", names)
    assert by_names.exit_code == 0, by_names.output
    reference = write_reference(tmp_path / "train.csv", wine)
    by_header = run(
        lab_instance,
        "models",
        "add",
        "w",
        str(wine.folder),
        "--reference",
        str(reference),
        "--target",
        "cultivar",
        "--promote",
    )
    assert by_header.exit_code == 0, by_header.output
    meta = ModelStore(lab_instance / "models").info("w", "2").metadata
    assert meta["kind"] == "onnx"
    assert meta["features"][0]["training_max"] == float(wine.X["alcohol"].max())
    assert meta["metrics"]["reference"]["accuracy"] == 1.0
    assert prediction_of(lab_instance, "w", first_row(wine))["label"] == wine.y[0]


# -- pickles ------------------------------------------------------------------------------------
@pytest.mark.parametrize("suffix", [".pkl", ".joblib"])
def test_a_pickle_loads_only_when_its_hash_is_vouched_for(
    lab_instance: Path, lab_models: dict[str, LabModel], tmp_path: Path, suffix: str
) -> None:
    wine = lab_models["wine"]
    path = tmp_path / f"wine{suffix}"
    if suffix == ".pkl":
        path.write_bytes(pickle.dumps(wine.estimator))
    else:
        joblib.dump(wine.estimator, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    reference = str(write_reference(tmp_path / "train.csv", wine))
    add = ["models", "add", "wine", str(path), "--reference", reference]
    refused(
        run(lab_instance, *add),
        f"a pickle runs code when it is read. If you trust it, pass --trust-pickle {digest}",
    )
    refused(run(lab_instance, *add, "--trust-pickle", "0" * 64), "does not match")
    result = run(lab_instance, *add, "--trust-pickle", digest)
    assert result.exit_code == 0, result.output
    info = ModelStore(lab_instance / "models").info("wine", "1")
    assert sorted(p.name for p in info.path.iterdir()) == [
        "metadata.json",
        "model.onnx",
        "model.skops",
        "registration.json",
    ]  # nothing served is ever unpickled again
    assert info.metadata["source"]["sha256"] == digest
    assert prediction_of(lab_instance, "wine", first_row(wine))["label"] == wine.y[0]


def test_an_untrusted_pickle_is_never_opened(lab_instance: Path, tmp_path: Path) -> None:
    marker = tmp_path / "pwned"

    class Exploit:
        def __reduce__(self) -> tuple[Any, ...]:
            return (Path.touch, (marker,))

    path = tmp_path / "model.pkl"
    path.write_bytes(pickle.dumps(Exploit()))
    refused(run(lab_instance, "models", "add", "m", str(path)), "refusing to unpickle")
    refused(
        run(lab_instance, "models", "add", "m", str(path), "--trust-pickle", "ab" * 32),
        "does not match",
    )
    assert not marker.exists()


# -- MLflow -------------------------------------------------------------------------------------
def mlflow_sklearn(path: Path, lab: LabModel, serialization: str) -> Path:
    import mlflow.sklearn
    from mlflow.models import infer_signature

    signature = infer_signature(lab.X, lab.estimator.predict(lab.X))
    mlflow.sklearn.save_model(
        lab.estimator,
        path,
        serialization_format=serialization,
        signature=signature,
        skops_trusted_types=["sklearn.tree._tree.Tree"] if serialization == "skops" else None,
    )
    return path


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # mlflow's own imports
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_an_mlflow_model_saved_with_skops(
    lab_instance: Path, lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    wine = lab_models["wine"]
    folder = mlflow_sklearn(tmp_path / "mlflow-skops", wine, "skops")
    assert (folder / "MLmodel").is_file()
    result = run(lab_instance, "models", "add", "wine", str(folder))
    assert result.exit_code == 0, result.output
    meta = ModelStore(lab_instance / "models").info("wine", "1").metadata
    assert meta["source"]["format"] == "mlflow"
    assert meta["source"]["flavor"] == "sklearn"
    assert [f["name"] for f in meta["features"]] == list(wine.X.columns)
    assert prediction_of(lab_instance, "wine", first_row(wine))["label"] == wine.y[0]


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_an_mlflow_model_saved_with_cloudpickle_needs_trust(
    lab_instance: Path, lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    wine = lab_models["wine"]
    folder = mlflow_sklearn(tmp_path / "mlflow-pickle", wine, "cloudpickle")
    refused(run(lab_instance, "models", "add", "wine", str(folder)), "refusing to unpickle")
    digest = hashlib.sha256((folder / "model.pkl").read_bytes()).hexdigest()
    result = run(lab_instance, "models", "add", "wine", str(folder), "--trust-pickle", digest)
    assert result.exit_code == 0, result.output
    meta = ModelStore(lab_instance / "models").info("wine", "1").metadata
    assert meta["source"]["format"] == "mlflow (cloudpickle)"
    assert meta["artifact"]["format"] == "skops"


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_an_mlflow_onnx_model(
    lab_instance: Path, lab_models: dict[str, LabModel], tmp_path: Path
) -> None:
    import mlflow.onnx
    import onnx

    wine = lab_models["wine"]
    model = onnx.load_from_string(export_onnx(wine.estimator, wine.X))
    mlflow.onnx.save_model(model, tmp_path / "mlflow-onnx")
    reference = write_reference(tmp_path / "train.csv", wine)
    result = run(
        lab_instance,
        "models",
        "add",
        "wine",
        str(tmp_path / "mlflow-onnx"),
        "--reference",
        str(reference),
        "--target",
        "cultivar",
    )
    assert result.exit_code == 0, result.output
    meta = ModelStore(lab_instance / "models").info("wine", "1").metadata
    assert (meta["kind"], meta["source"]["flavor"]) == ("onnx", "onnx")
    assert prediction_of(lab_instance, "wine", first_row(wine))["label"] == wine.y[0]
