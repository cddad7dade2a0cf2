"""A third-party model kind, installed as a separate package with an entry point, is served
with a page, the API and CSV scoring, without a line of labserve changed.

The package is installed the way pip installs one: its module and a ``.dist-info`` folder
(with ``entry_points.txt``) in a directory on ``sys.path``.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from labserve.models.importing import AddOptions, add_model
from labserve.models.kinds import installed_kinds
from labserve.models.store import ModelStore
from labserve.settings import Settings
from labserve.web import close_app, create_app

KIND_MODULE = '''
"""A rule of thumb as a model: one threshold on one measurement."""
import json

import numpy as np

from labserve.models.tabular import TableOutput, TabularModel


class RuleModel(TabularModel):
    kind = "rule"

    def _load(self):
        self.rule = json.loads((self.source.path / "rule.json").read_text())
        self.column = [f.name for f in self.features].index(self.rule["feature"])

    def predict_table(self, table):
        above = table.columns[self.column] >= self.rule["threshold"]
        return TableOutput(labels=np.where(above, self.rule["above"], self.rule["below"]))
'''


@pytest.fixture
def installed_plugin(tmp_path: Path) -> Iterator[None]:
    site = tmp_path / "site"
    site.mkdir()
    (site / "labserve_rulekind.py").write_text(KIND_MODULE)
    info = site / "labserve_rulekind-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: labserve-rulekind\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text("[labserve.kinds]\nrule = labserve_rulekind:RuleModel\n")
    sys.path.insert(0, str(site))
    installed_kinds.cache_clear()
    yield
    sys.path.remove(str(site))
    sys.modules.pop("labserve_rulekind", None)
    installed_kinds.cache_clear()


def rule_folder(tmp_path: Path) -> Path:
    folder = tmp_path / "triage"
    folder.mkdir()
    metadata: dict[str, Any] = {
        "kind": "rule",
        "task": "classification",
        "title": "Fever triage",
        "description": "Refer when the temperature reaches 38 °C.",
        "classes": ["home", "refer"],
        "has_probabilities": False,
        "features": [
            {
                "name": "temperature",
                "unit": "°C",
                "minimum": 25,
                "maximum": 45,
                "training_min": 35.5,
                "training_max": 41.0,
            },
            {"name": "ward", "type": "category", "categories": ["A", "B"]},
        ],
    }
    (folder / "metadata.json").write_text(json.dumps(metadata))
    rule = {"feature": "temperature", "threshold": 38.0, "above": "refer", "below": "home"}
    (folder / "rule.json").write_text(json.dumps(rule))
    return folder


def test_a_kind_from_an_installed_package_is_served_everywhere(
    installed_plugin: None, lab_instance: Path, tmp_path: Path
) -> None:
    assert "rule" in installed_kinds()
    settings = Settings.load({"instance_path": lab_instance})
    store = ModelStore(settings.models_path)
    assert add_model(store, settings, "triage", rule_folder(tmp_path), AddOptions()) == "1"
    app = create_app(
        {
            "INSTANCE_PATH": str(lab_instance),
            "LOAD_MODELS": "sync",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite'}",
            "JOURNAL_PATH": str(tmp_path / "journal"),
            "MODEL_POLL_SECONDS": 0,
            "WTF_CSRF_ENABLED": False,  # the test client posts the form without the token
        }
    )
    try:
        client = app.test_client()
        listing = {m["name"]: m for m in client.get("/api/v1/models").get_json()["models"]}
        assert (listing["triage"]["kind"], listing["triage"]["status"]) == ("rule", "ready")
        response = client.post(
            "/api/v1/models/triage/predict",
            json={
                "inputs": [{"temperature": 39.2, "ward": "A"}, {"temperature": 36.6, "ward": "B"}]
            },
        )
        assert response.status_code == 200, response.get_json()
        assert [p["label"] for p in response.get_json()["predictions"]] == ["refer", "home"]
        bad = client.post(
            "/api/v1/models/triage/predict", json={"inputs": [{"temperature": 50, "ward": "A"}]}
        )
        assert (bad.status_code, bad.get_json()["field"]) == (422, "inputs[0].temperature")
        page = client.post("/models/triage", data={"temperature": "41.5", "ward": "B"})
        text = page.get_data(as_text=True)
        assert 'id="predicted-label">refer<' in text
        assert '<select id="f1" name="ward"' in text
        assert "41.5 is outside the training range 35.5 to 41" in text
        scored = client.post(
            "/api/v1/models/triage/predict.csv",
            data="temperature,ward\n38,A\n37.9,B\n",
            content_type="text/csv",
        ).get_data(as_text=True)
        assert scored.splitlines() == [
            "temperature,ward,label,warnings,error",
            "38,A,refer,,",
            "37.9,B,home,,",
        ]
        spec = client.get("/api/v1/openapi.json").get_json()
        assert "/api/v1/models/triage/predict" in spec["paths"]
        assert spec["components"]["schemas"]["TriageInput"]["properties"]["ward"]["enum"] == [
            "A",
            "B",
        ]
    finally:
        close_app(app)


def test_a_folder_of_an_uninstalled_kind_is_refused(lab_instance: Path, tmp_path: Path) -> None:
    from labserve.models.errors import InvalidModelSource

    settings = Settings.load({"instance_path": lab_instance})
    with pytest.raises(
        InvalidModelSource, match="no installed package serves models of kind 'rule'"
    ):
        add_model(
            ModelStore(settings.models_path),
            settings,
            "triage",
            rule_folder(tmp_path),
            AddOptions(),
        )
