"""Word budgets (overlong tokens, cuts) and the knapsack that fills them."""

from __future__ import annotations

import re

import numpy as np
import pytest
import scipy.sparse as sp

from labserve.models.summarizer.budget import (
    LONGEST_WORD,
    cut_span,
    sentence_sizes,
    span_units,
    token_bounds,
    token_units,
)
from labserve.models.summarizer.extractive import summarize_extractive
from labserve.models.summarizer.selection import REDUNDANCY, choose_sentences
from labserve.models.summarizer.sentences import sentence_spans


@pytest.mark.parametrize(
    ("length", "units"), [(1, 1), (LONGEST_WORD, 1), (LONGEST_WORD + 1, 2), (1_000_000, 33_334)]
)
def test_overlong_tokens_count_as_several_words(length: int, units: int) -> None:
    assert token_units(length) == units


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "one",
        " two  words ",
        "tabs\tand\nnew\r\nlines\x0bvertical\x0cfeed\x1cfile\x1fseparators",
        "no\u00a0break\u2003em\u3000ideographic\u3001comma \u2028line\x85next",
        "“quoted” café … 😀 astral \ud800 lone surrogate",
    ],
)
def test_token_bounds_are_the_runs_of_non_whitespace(text: str) -> None:
    starts, ends = token_bounds(text)
    expected = [match.span() for match in re.finditer(r"\S+", text)]
    assert list(zip(starts.tolist(), ends.tolist(), strict=True)) == expected


def test_sentence_sizes_match_span_units() -> None:
    text = "Short one here. " + "A" * 95 + " is long.\n\nLast sentence of three words."
    spans = sentence_spans(text)
    words, units = sentence_sizes(text, spans)
    assert words.tolist() == [len(text[s:e].split()) for s, e in spans]
    assert units.tolist() == [span_units(text, span) for span in spans]
    assert units[1] == 4 + 2  # 95 characters count as four words


def test_cut_keeps_whole_words_and_drops_a_dangling_comma() -> None:
    text = "Alpha beta gamma, delta epsilon zeta."
    start, end = cut_span(text, (0, len(text)), 3)
    assert text[start:end] == "Alpha beta gamma"


def test_cut_goes_inside_a_token_only_when_it_is_overlong() -> None:
    text = "7" * 1000
    assert cut_span(text, (0, 1000), 2) == (0, 2 * LONGEST_WORD)
    text = "ab " + "7" * 1000
    start, end = cut_span(text, (0, len(text)), 3)
    assert text[start:end] == "ab " + "7" * (2 * LONGEST_WORD)


def vectors(rows: list[list[float]]) -> sp.csr_matrix:
    matrix = np.asarray(rows, dtype=float)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return sp.csr_matrix(matrix / np.where(norms == 0, 1, norms))


ORTHOGONAL = vectors([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]])


def test_the_knapsack_fills_the_budget_with_whole_sentences() -> None:
    # Greedy by quality would take 30 words (index 0) and stop; 20 + 20 fills 40.
    quality = np.array([1.0, 0.9, 0.9, 0.1])
    picks = choose_sentences([30, 20, 20, 5], quality, ORTHOGONAL, np.ones(4, bool), 40, 20)
    assert [(p.index, p.cut) for p in picks] == [(1, False), (2, False)]


def test_a_near_repeat_is_not_taken_while_another_way_exists() -> None:
    same = vectors([[1, 0], [1, 0.01], [0, 1]])
    picks = choose_sentences(
        [10, 10, 10], np.array([1.0, 1.0, 0.2]), same, np.ones(3, bool), 20, 15
    )
    assert sorted(p.index for p in picks) == [0, 2]
    assert float((same[0] @ same[1].T).toarray()[0, 0]) >= REDUNDANCY


def test_only_sentences_longer_than_maxlen_are_cut() -> None:
    quality = np.array([1.0, 0.2])
    picks = choose_sentences([50, 10], quality, ORTHOGONAL[:2], np.ones(2, bool), 30, 15)
    assert [(p.index, p.units, p.cut) for p in picks] == [(0, 30, True)]  # fills the budget
    quality = np.array([0.4, 1.0])
    picks = choose_sentences([50, 10], quality, ORTHOGONAL[:2], np.ones(2, bool), 30, 15)
    assert [(p.index, p.units, p.cut) for p in picks] == [(0, 20, True), (1, 10, False)]
    picks = choose_sentences([25, 10], quality, ORTHOGONAL[:2], np.ones(2, bool), 30, 15)
    assert all(not pick.cut for pick in picks)
    assert [p.index for p in picks] == [0]


def test_minlen_is_preferred_to_value() -> None:
    quality = np.array([1.0, 0.01, 0.01])
    picks = choose_sentences([12, 9, 9], quality, ORTHOGONAL[:3], np.ones(3, bool), 30, 25)
    assert sum(p.units for p in picks) >= 25


def test_sets_of_equal_value_are_told_apart_by_the_budget_they_use() -> None:
    # Worthless sentences (a short text whose sentences share no word) and an unreachable
    # minlen: the longest set that fits wins, not the shortest sentence.
    picks = choose_sentences([6, 5, 4], np.zeros(3), ORTHOGONAL[:3], np.ones(3, bool), 12, 12)
    assert sorted(p.index for p in picks) == [0, 1]


def test_a_short_text_without_shared_words_still_fills_the_budget() -> None:
    lead = "Aspirin reduced fever in all patients. The trial enrolled 40 adults."
    text = f"{lead} Side effects were mild."
    assert summarize_extractive(text, 12, 12) == lead  # 11 of 12 words, not the last 4


def test_ineligible_sentences_are_never_chosen() -> None:
    eligible = np.array([False, True, True, True])
    picks = choose_sentences([5, 5, 5, 5], np.ones(4), ORTHOGONAL, eligible, 10, 5)
    assert 0 not in [p.index for p in picks]
    assert choose_sentences([5], np.ones(1), ORTHOGONAL[:1], np.zeros(1, bool), 10, 5) == []
