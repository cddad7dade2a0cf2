"""Any input of up to 1,000,000 characters is summarised in bounded time and length.

Speed is measured by ``benchmarks/summarize.py``; these bounds are generous guards against a
return of quadratic behaviour (a repeated sentence once took 20 s) and unbounded output (a
million digits once came back whole as the "summary").
"""

from __future__ import annotations

import time

import pytest

from labserve.models.summarizer.budget import ELLIPSIS, LONGEST_WORD
from labserve.models.summarizer.spans import summarize_with_sources

SIZE = 1_000_000
REPEATED = "Restoring p53 raised cisplatin-induced apoptosis in ovarian tumour cells. "


@pytest.mark.parametrize(
    "text",
    [
        pytest.param((REPEATED * (SIZE // len(REPEATED) + 1))[:SIZE], id="repeated-sentence"),
        pytest.param("7" * SIZE, id="digits"),
        pytest.param(("cell dose gene p53 " * (SIZE // 19 + 1))[:SIZE], id="no-sentence-end"),
        pytest.param(("A b. " * (SIZE // 5))[:SIZE], id="tiny-sentences"),
    ],
)
def test_a_million_characters_of_anything_is_summarised_quickly_within_maxlen(text: str) -> None:
    started = time.perf_counter()
    traced = summarize_with_sources(text, 60, 30)
    assert time.perf_counter() - started < 10
    assert 1 <= len(traced.summary.split()) <= 60
    assert len(traced.summary) <= 60 * (LONGEST_WORD + 1) + len(ELLIPSIS)
    for source in traced.sources:
        assert text[source.start : source.end] == source.text


def test_a_repeated_sentence_comes_back_once() -> None:
    text = (REPEATED * 2000).strip()
    traced = summarize_with_sources(text, 60, 30)
    assert traced.summary == REPEATED.strip()
    assert len(traced.sources) == 1


def test_a_million_digits_are_cut_to_the_budget() -> None:
    traced = summarize_with_sources("7" * SIZE, 10, 5)
    assert traced.summary == "7" * (10 * LONGEST_WORD) + ELLIPSIS
    assert [(s.start, s.end) for s in traced.sources] == [(0, 10 * LONGEST_WORD)]


def test_a_repeated_fragment_comes_back_once() -> None:
    traced = summarize_with_sources(("Cells died. " * 1000).strip(), 60, 30)
    assert traced.summary == "Cells died."
