"""The summarizer as a served model: validation, parameters, batches, backends, card."""

from __future__ import annotations

import re
import subprocess
import sys
import types
import unicodedata
from typing import Any

import jsonschema
import pytest

from labserve.models.errors import BackendUnavailable, InvalidInput, ModelNotReady
from labserve.models.summarizer import (
    DEFAULT_MODEL_ID,
    MAX_SUMMARY_LENGTH,
    MAX_TEXT_CHARS,
    SummarizerModel,
    SummaryParameters,
)
from labserve.models.summarizer.cleaning import clean_text

TEXT = (
    "Dr. Smith et al. [12] reported that loss of p53 makes ovarian tumour cells resistant to "
    "cisplatin. Cells were treated with 3.5 mg/mL cisplatin for 24 h (Fig. 2). Restoring p53 "
    "raised cisplatin-induced apoptosis from 12.5% to 42.7% of cells. The cafeteria was "
    "renovated in 2019. In BRCA1-mutant cells, i.e. 4 of 11 lines, restoring p53 did not raise "
    "apoptosis. Hence p53 status decides whether ovarian tumour cells die after cisplatin."
)


@pytest.fixture(scope="module")
def model() -> SummarizerModel:
    served = SummarizerModel()
    served.load()
    return served


# -- construction ------------------------------------------------------------------------------
def test_defaults_to_the_extractive_backend(model: SummarizerModel) -> None:
    assert model.name == "summarizer"
    assert model.backend == "extractive"
    assert model.model_id is None
    assert model.engine == "extractive-1.0"
    assert model.status == "ready"


@pytest.mark.parametrize("backend", ["abstractive", "", "Extractive", "torch"])
def test_unknown_backend_is_refused_at_construction(backend: str) -> None:
    with pytest.raises(ValueError, match="backend"):
        SummarizerModel(backend=backend)


def test_model_id_with_the_extractive_backend_is_refused() -> None:
    with pytest.raises(ValueError, match="model_id"):
        SummarizerModel(backend="extractive", model_id="facebook/bart-large-cnn")


@pytest.mark.parametrize(
    ("model_id", "expected"), [(None, DEFAULT_MODEL_ID), ("facebook/bart-large-cnn", None)]
)
def test_transformers_version_names_the_model(model_id: str | None, expected: str | None) -> None:
    served = SummarizerModel(backend="transformers", model_id=model_id)
    assert served.engine == f"transformers:{expected or model_id}"
    assert not served.ready


def test_importing_the_package_loads_neither_torch_nor_flask_nor_the_backend() -> None:
    code = (
        "import sys, labserve.models.summarizer; "
        "bad = [m for m in ('torch', 'transformers', 'flask', "
        "'labserve.models.summarizer.transformers_backend') if m in sys.modules]; "
        "sys.exit(', '.join(bad) or None)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


# -- input validation --------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("rows", "field"),
    [
        ([{}], "inputs[0].text"),
        ([{"text": ""}], "inputs[0].text"),
        ([{"text": "   \n\t "}], "inputs[0].text"),
        ([{"text": "\u200b\x00"}], "inputs[0].text"),
        ([{"text": 42}], "inputs[0].text"),
        ([{"text": ["a", "list"]}], "inputs[0].text"),
        ([{"text": None}], "inputs[0].text"),
        ([{"text": "x" * (MAX_TEXT_CHARS + 1)}], "inputs[0].text"),
        ([{"text": "fine", "language": "en"}], "inputs[0].language"),
        (["just a string"], "inputs[0]"),
        ([None], "inputs[0]"),
        ([{"text": "fine"}, {"text": " "}], "inputs[1].text"),
    ],
)
def test_bad_rows_raise_invalid_input_naming_the_field(
    model: SummarizerModel, rows: list[Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        model.validate(rows)
    assert caught.value.field == field
    assert str(caught.value).startswith(field)


def test_row_prefix_can_be_empty_for_single_object_routes(model: SummarizerModel) -> None:
    with pytest.raises(InvalidInput) as caught:
        model.validate([{"text": ""}], row_prefix="")
    assert caught.value.field == "text"


def test_text_at_the_limit_is_accepted(model: SummarizerModel) -> None:
    rows = model.validate([{"text": "a" * MAX_TEXT_CHARS}])
    assert len(rows[0].text) == MAX_TEXT_CHARS


def test_input_schema_publishes_the_limits(model: SummarizerModel) -> None:
    schema = model.input_schema()
    assert schema["required"] == ["text"]
    assert schema["properties"]["text"]["maxLength"] == MAX_TEXT_CHARS
    assert schema["additionalProperties"] is False
    (example,) = schema["examples"]
    assert model.validate([example])


def test_published_text_pattern_is_what_validation_keeps(model: SummarizerModel) -> None:
    """The schema's pattern refuses exactly the texts cleaning leaves empty (a blank text)."""
    pattern = re.compile(model.input_schema()["properties"]["text"]["pattern"])
    suspects = [
        chr(code)
        for code in range(sys.maxunicode + 1)
        if not 0xD800 <= code <= 0xDFFF
        and (chr(code).isspace() or unicodedata.category(chr(code)) in {"Cc", "Cf", "Zs"})
    ]
    for text in [*suspects, "a", "µ", "\u0301", "5", "\u200d"]:
        assert bool(pattern.search(text)) == bool(clean_text(text)), hex(ord(text))
    with pytest.raises(InvalidInput, match="whitespace"):
        model.validate([{"text": "".join(c for c in suspects if not pattern.search(c))}])


def test_output_schema_describes_a_prediction(model: SummarizerModel) -> None:
    (prediction,) = model.predict([{"text": TEXT}], {"maxlen": 20})
    jsonschema.validate(prediction, model.output_schema())


# -- parameters --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("parameters", "expected"),
    [
        (None, (60, 30, False)),
        ({}, (60, 30, False)),
        ({"maxlen": 100}, (100, 30, False)),
        ({"maxlen": 10}, (10, 10, False)),  # omitted minlen shrinks to a small maxlen
        ({"maxlen": 10, "minlen": 3}, (10, 3, False)),
        ({"maxlen": MAX_SUMMARY_LENGTH, "minlen": MAX_SUMMARY_LENGTH}, (1024, 1024, False)),
        ({"maxlen": 1, "minlen": 1}, (1, 1, False)),
        ({"maxlen": 30, "minlen": 40}, (30, 30, False)),  # minlen above maxlen counts as maxlen
        ({"minlen": 61}, (60, 60, False)),
        ({"maxlen": 40.0, "minlen": 1e1}, (40, 10, False)),  # JSON Schema integers, as written
        ({"strip_digits": True}, (60, 30, True)),
    ],
)
def test_good_parameters(
    model: SummarizerModel, parameters: dict[str, Any] | None, expected: tuple[int, int, bool]
) -> None:
    params = model.validate_parameters(parameters)
    assert isinstance(params, SummaryParameters)
    assert (params.maxlen, params.minlen, params.strip_digits) == expected


@pytest.mark.parametrize(
    ("parameters", "field"),
    [
        ({"maxlen": True}, "parameters.maxlen"),
        ({"minlen": False}, "parameters.minlen"),
        ({"maxlen": 60.5}, "parameters.maxlen"),
        ({"maxlen": "60"}, "parameters.maxlen"),
        ({"maxlen": None}, "parameters.maxlen"),
        ({"maxlen": MAX_SUMMARY_LENGTH + 1}, "parameters.maxlen"),
        ({"maxlen": 0}, "parameters.maxlen"),
        ({"maxlen": -5}, "parameters.maxlen"),
        ({"minlen": 0}, "parameters.minlen"),
        ({"minlen": -1}, "parameters.minlen"),
        ({"strip_digits": "yes"}, "parameters.strip_digits"),
        ({"strip_digits": 1}, "parameters.strip_digits"),
        ({"max_length": 60}, "parameters.max_length"),
        ({"maxlen": 60, "temperature": 0.5}, "parameters.temperature"),
    ],
)
def test_bad_parameters_raise_invalid_input_naming_the_parameter(
    model: SummarizerModel, parameters: dict[str, Any], field: str
) -> None:
    with pytest.raises(InvalidInput) as caught:
        model.validate_parameters(parameters)
    assert caught.value.field == field


def test_parameter_field_prefix_is_configurable(model: SummarizerModel) -> None:
    with pytest.raises(InvalidInput) as caught:
        model.validate_parameters({"maxlen": True}, field_prefix="")
    assert caught.value.field == "maxlen"


def test_parameters_must_be_an_object(model: SummarizerModel) -> None:
    with pytest.raises(InvalidInput) as caught:
        model.validate_parameters([60, 30])  # type: ignore[arg-type]
    assert caught.value.field == "parameters"


# -- prediction --------------------------------------------------------------------------------
def test_predict_returns_one_result_per_row_in_order(model: SummarizerModel) -> None:
    rows = [{"text": TEXT}, {"text": "Short note about p53."}, {"text": TEXT.upper()}]
    results = model.predict(rows, {"maxlen": 40, "minlen": 15})
    assert [r["backend"] for r in results] == ["extractive"] * 3
    assert results[1]["summary_text"] == "Short note about p53."
    assert results[0]["input_words"] == len(TEXT.split())
    for result in results:
        assert set(result) == {"summary_text", "input_words", "summary_words", "backend"}
        assert result["summary_words"] == len(result["summary_text"].split())
        assert result["summary_words"] <= 40
    assert results[0]["summary_words"] >= 15


def test_numbers_and_abbreviations_are_kept_by_default(model: SummarizerModel) -> None:
    (result,) = model.predict([{"text": TEXT}], {"maxlen": 50, "minlen": 30})
    summary = result["summary_text"]
    assert "p53" in summary
    assert any(value in summary for value in ("3.5 mg/mL", "42.7%", "[12]"))
    assert "cafeteria" not in summary


def test_strip_digits_removes_digits_when_asked(model: SummarizerModel) -> None:
    (result,) = model.predict([{"text": TEXT}], {"strip_digits": True})
    assert not any(char.isdigit() for char in result["summary_text"])
    (only_digits,) = model.predict([{"text": "2019 2020 2021"}], {"strip_digits": True})
    assert only_digits["summary_text"] == ""
    assert only_digits["input_words"] == 0


def test_same_request_gives_the_same_summary(model: SummarizerModel) -> None:
    first = model.predict([{"text": TEXT}])
    assert model.predict([{"text": TEXT}]) == first


def test_predict_before_load_is_refused() -> None:
    with pytest.raises(ModelNotReady):
        SummarizerModel().predict([{"text": TEXT}])


def test_predict_validates_before_summarising(model: SummarizerModel) -> None:
    with pytest.raises(InvalidInput) as caught:
        model.predict([{"text": TEXT}], {"maxlen": 5, "minlen": 0})
    assert caught.value.field == "parameters.minlen"


# -- the transformers backend, faked (no torch, no network) ----------------------------------
class FakeTransformersSummarizer:
    """Records calls the way the real backend would receive them."""

    instances: list[FakeTransformersSummarizer] = []

    def __init__(self, model_id: str) -> None:
        self.model_id = model_id
        self.loaded = False
        self.calls: list[tuple[list[str], int, int]] = []
        FakeTransformersSummarizer.instances.append(self)

    def load(self) -> None:
        self.loaded = True

    def summarize_batch(self, texts: list[str], maxlen: int, minlen: int) -> list[str]:
        self.calls.append((list(texts), maxlen, minlen))
        return [f"summary {i}" for i in range(len(texts))]

    def describe(self) -> dict[str, Any]:
        return {"model_id": self.model_id, "device": "cpu"}


class UnavailableTransformersSummarizer(FakeTransformersSummarizer):
    def load(self) -> None:
        raise BackendUnavailable("torch is not installed; use the extractive backend")


def fake_backend(monkeypatch: pytest.MonkeyPatch, cls: type[FakeTransformersSummarizer]) -> None:
    module = types.ModuleType("labserve.models.summarizer.transformers_backend")
    module.TransformersSummarizer = cls  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    FakeTransformersSummarizer.instances.clear()


def test_transformers_backend_gets_the_whole_batch_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_backend(monkeypatch, FakeTransformersSummarizer)
    served = SummarizerModel(backend="transformers", model_id="org/tiny-model")
    served.load()
    (backend,) = FakeTransformersSummarizer.instances
    assert backend.model_id == "org/tiny-model"
    assert backend.loaded
    results = served.predict(
        [{"text": "First  text."}, {"text": "Second\ttext."}], {"maxlen": 120, "minlen": 40}
    )
    assert backend.calls == [(["First text.", "Second text."], 120, 40)]
    assert [r["summary_text"] for r in results] == ["summary 0", "summary 1"]
    assert {r["backend"] for r in results} == {"transformers"}
    card = served.card()
    assert card["backend"] == "transformers"
    assert card["model_id"] == "org/tiny-model"
    assert "token" in card["length_unit"]
    assert card["transformers"] == {"model_id": "org/tiny-model", "device": "cpu"}


def test_transformers_backend_defaults_to_distilbart(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_backend(monkeypatch, FakeTransformersSummarizer)
    SummarizerModel(backend="transformers").load()
    assert FakeTransformersSummarizer.instances[0].model_id == DEFAULT_MODEL_ID


def test_unavailable_backend_fails_loading_with_its_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_backend(monkeypatch, UnavailableTransformersSummarizer)
    served = SummarizerModel(backend="transformers")
    with pytest.raises(BackendUnavailable):
        served.load()
    assert served.status.startswith("failed: torch is not installed")
    with pytest.raises(ModelNotReady):
        served.predict([{"text": TEXT}])


# -- card ----------------------------------------------------------------------------------------
def test_card_says_what_is_serving_and_how_lengths_count(model: SummarizerModel) -> None:
    card = model.card()
    assert card["backend"] == "extractive"
    assert card["engine"] == "extractive-1.0"
    assert card["model_id"] is None
    assert card["length_unit"].startswith("words")
    assert card["limits"] == {
        "max_text_chars": MAX_TEXT_CHARS,
        "max_summary_length": MAX_SUMMARY_LENGTH,
    }
    assert "nupunkt" in card["sentence_splitter"]
    assert "strip_digits" in card["digits"]
    assert "knapsack" in card["method"]


def test_info_lists_the_model(model: SummarizerModel) -> None:
    info = model.info()
    assert info["name"] == "summarizer"
    assert info["status"] == "ready"
    assert info["kind"] == "summarizer"
    assert info["capability"] == "text"
