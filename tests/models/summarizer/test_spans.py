"""Summary sentences traced back to the caller's text: spans, order, cuts, cleaning edits."""

from __future__ import annotations

import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labserve.models.errors import InvalidInput
from labserve.models.summarizer import SummarizerModel
from labserve.models.summarizer.budget import ELLIPSIS
from labserve.models.summarizer.cleaning import clean_text
from labserve.models.summarizer.extractive import summarize_extractive
from labserve.models.summarizer.spans import SourceSpan, summarize_with_sources

MESSY = (
    "Background\r\n\r\n\r\nLoss of  p53 makes ovarian\ttumour cells resistant to cisplatin.  "
    "We asked whether restoring p53 restores\ncisplatin-induced apoptosis in these cells.\u00a0"
    "Cells were treated with 3.5 mg/mL cisplatin for 24 h (Fig. 2).\r\n"
    "Restoring p53 raised cisplatin-induced apoptosis from 12.5% to 42.7% of cells. "
    "The building's cafeteria was renovated during the summer.\n\n"
    "Taken together, p53 status decides whether ovarian tumour cells undergo apoptosis "
    "after cisplatin, and BRCA1 status modifies it.\u200b The parking garage closed in 2019."
)


def collapse(text: str) -> str:
    return " ".join(text.split())


def assert_well_formed(text: str, sources: list[SourceSpan]) -> None:
    previous_end = 0
    for source in sources:
        assert previous_end <= source.start < source.end <= len(text)
        assert source.text == text[source.start : source.end]
        assert source.text == source.text.strip()
        previous_end = source.end


@pytest.mark.parametrize(("maxlen", "minlen"), [(30, 15), (45, 30), (60, 40), (200, 1)])
def test_each_span_is_the_sentence_as_it_stands_in_the_input(maxlen: int, minlen: int) -> None:
    traced = summarize_with_sources(MESSY, maxlen, minlen)
    assert traced.summary == summarize_extractive(clean_text(MESSY), maxlen, minlen)
    assert traced.sources
    assert_well_formed(MESSY, traced.sources)
    pieces = [collapse(source.text) for source in traced.sources]
    assert traced.summary.replace(ELLIPSIS, "") == " ".join(pieces)
    for piece in pieces:  # each printed as it stands, an ellipsis marking a dropped end
        assert f"{piece} " in f"{traced.summary} " or f"{piece}{ELLIPSIS}" in traced.summary


def test_a_cut_sentence_gets_the_span_of_the_part_kept() -> None:
    sentence = (
        "Restoring p53 raised cisplatin-induced apoptosis in ovarian tumour cells from 12.5% "
        "to 42.7% at 3.5 mg/mL, as Dr. Smith et al. predicted, in every cell line we tested."
    )
    text = f"  {sentence}\n\n{sentence.replace('Restoring', 'Losing')}  "
    traced = summarize_with_sources(text, 10, 5)
    (source,) = traced.sources
    assert traced.summary.endswith(ELLIPSIS)
    assert collapse(source.text) + ELLIPSIS == traced.summary
    assert len(source.text.split()) == 10
    assert_well_formed(text, traced.sources)


def test_with_strip_digits_spans_still_cover_the_input_region() -> None:
    text = (
        "In 2019 we treated 40 cell lines with 3.5 mg/mL cisplatin.  Restoring p53 in 12 lines "
        "raised apoptosis from 12% to 43%.\n\nIn 2020 BRCA1 loss in 4 lines blocked the effect."
    )
    traced = summarize_with_sources(text, 14, 5, strip_digits=True)
    assert traced.summary == summarize_extractive(clean_text(text, strip_digits=True), 14, 5)
    assert_well_formed(text, traced.sources)
    assert not any(char.isdigit() for char in traced.summary)
    for source in traced.sources:
        assert any(char.isdigit() for char in source.text)  # the input region, digits and all
        assert clean_text(source.text, strip_digits=True) in traced.summary


def test_decomposed_unicode_maps_to_the_composed_summary() -> None:
    composed = "Café staff measured the protéine levels in every sample twice a day. " * 3
    text = unicodedata.normalize("NFD", composed + "Results were stable over weeks of study.")
    traced = summarize_with_sources(text, 14, 5)
    assert_well_formed(text, traced.sources)
    for source in traced.sources:
        assert unicodedata.normalize("NFC", collapse(source.text)) in traced.summary


def test_text_that_fits_gets_one_span_per_sentence() -> None:
    text = "First  sentence here.\r\nSecond one."
    traced = summarize_with_sources(text, 60, 30)
    assert [source.text for source in traced.sources] == ["First  sentence here.", "Second one."]
    assert traced.summary == "First sentence here. Second one."


def test_empty_after_cleaning_gives_no_sources() -> None:
    traced = summarize_with_sources("2019 2020", 10, 5, strip_digits=True)
    assert traced.summary == ""
    assert traced.sources == []


WORDS = st.sampled_from(["p53", "cells", "apoptosis", "cisplatin", "rose", "fell", "3.5", "Dr."])
GAPS = st.sampled_from([" ", "  ", "\t", "\n", " \r\n ", "\u00a0", "\u200b "])


@st.composite
def messy_texts(draw: st.DrawFn) -> str:
    sentences = draw(st.lists(st.lists(WORDS, min_size=3, max_size=12), min_size=1, max_size=12))
    parts: list[str] = []
    for words in sentences:
        body = "".join(word + draw(GAPS) for word in words[:-1]) + words[-1]
        parts.append(body[0].upper() + body[1:] + ".")
        parts.append(draw(st.sampled_from([" ", "  ", "\n\n", "\r\n\r\n", "\n \n\n"])))
    return "".join(parts)


@settings(max_examples=60, deadline=None)
@given(messy_texts(), st.integers(min_value=1, max_value=40))
def test_spans_are_ordered_disjoint_and_verbatim_for_any_layout(text: str, maxlen: int) -> None:
    traced = summarize_with_sources(text, maxlen, max(1, maxlen // 2))
    assert_well_formed(text, traced.sources)
    kept = [collapse(source.text.replace("\u200b", "")) for source in traced.sources]
    assert traced.summary.replace(ELLIPSIS, "") == " ".join(kept)


# -- the served model --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def model() -> SummarizerModel:
    served = SummarizerModel()
    served.load()
    return served


def test_predictions_carry_sources_only_when_asked(model: SummarizerModel) -> None:
    (plain,) = model.predict([{"text": MESSY}], {"maxlen": 40, "minlen": 20})
    assert "sources" not in plain
    (traced,) = model.predict(
        [{"text": MESSY}], {"maxlen": 40, "minlen": 20, "return_sources": True}
    )
    assert traced["summary_text"] == plain["summary_text"]
    assert traced["sources"]
    for source in traced["sources"]:
        assert set(source) == {"start", "end", "text"}
        assert MESSY[source["start"] : source["end"]] == source["text"]
    joined = " ".join(
        collapse(source["text"].replace("\u200b", "")) for source in traced["sources"]
    )
    assert joined == traced["summary_text"]


def test_return_sources_must_be_a_boolean(model: SummarizerModel) -> None:
    with pytest.raises(InvalidInput) as caught:
        model.validate_parameters({"return_sources": "yes"})
    assert caught.value.field == "parameters.return_sources"


def test_return_sources_is_refused_for_abstractive_summaries() -> None:
    served = SummarizerModel(backend="transformers")
    served._transformers = object()  # type: ignore[assignment]  # never reached
    with pytest.raises(InvalidInput) as caught:
        served.predict_valid(
            served.validate([{"text": MESSY}]),
            served.validate_parameters({"return_sources": True}),
        )
    assert caught.value.field == "parameters.return_sources"
