"""Word chances: spread over paragraphs in long texts, frequency in short ones."""

from __future__ import annotations

import numpy as np

from labserve.models.summarizer.budget import sentence_sizes
from labserve.models.summarizer.chances import FRAME_WEIGHT, MIN_PARAGRAPHS, term_chances
from labserve.models.summarizer.extractive import summarize_extractive
from labserve.models.summarizer.scoring import document_scores
from labserve.models.summarizer.sentences import sentence_spans
from labserve.models.summarizer.structure import analyse_layout


def test_a_word_spread_over_paragraphs_beats_one_repeated_in_one_paragraph() -> None:
    # Term 0 appears once in each of 8 paragraphs, term 1 eight times in paragraph 3 only.
    paragraphs = np.repeat(np.arange(8), 2)
    terms = np.zeros(16, dtype=np.int64)
    terms[1::2] = 2  # filler term in every paragraph
    local = np.asarray([0, 1, 1, 1, 1, 1, 1, 1, 1], dtype=np.int64)
    words = np.concatenate([terms, local])
    word_paragraphs = np.concatenate([paragraphs, np.full(9, 3)])
    order = np.argsort(word_paragraphs, kind="stable")
    chances = term_chances(words[order], 3, word_paragraphs[order])
    assert chances[0] == 1.0  # in every paragraph
    assert chances[1] < 0.2  # frequent, but local
    by_frequency = term_chances(words, 3)  # without paragraphs, frequency is what counts
    assert by_frequency[1] >= by_frequency[0] * 0.9


def test_opening_and_closing_paragraph_words_gain() -> None:
    count = MIN_PARAGRAPHS + 3
    # Term t (1..3) appears once, in paragraph 0 (t=1), the last (t=2) or a middle one (t=3).
    paragraphs = np.arange(count)
    words = np.zeros(count, dtype=np.int64)
    extra_terms = np.asarray([1, 2, 3], dtype=np.int64)
    extra_paragraphs = np.asarray([0, count - 1, count // 2])
    order = np.argsort(np.concatenate([paragraphs, extra_paragraphs]), kind="stable")
    chances = term_chances(
        np.concatenate([words, extra_terms])[order],
        4,
        np.concatenate([paragraphs, extra_paragraphs])[order],
    )
    middle = 1 / count
    assert np.isclose(chances[3], middle)
    expected = 1 - (1 - middle) * (1 - FRAME_WEIGHT / 2)
    assert np.isclose(chances[1], expected)
    assert np.isclose(chances[2], expected)


def test_words_outside_the_body_do_not_count() -> None:
    terms = np.asarray([0, 1] * MIN_PARAGRAPHS + [1, 1, 1], dtype=np.int64)
    paragraphs = np.asarray([*np.repeat(np.arange(MIN_PARAGRAPHS), 2), -1, -1, -1])
    chances = term_chances(terms, 2, paragraphs)
    assert chances[0] == chances[1] == 1.0


def test_in_a_paper_a_recurring_theme_is_denser_than_a_local_detail() -> None:
    theme = "Restoring p53 raised apoptosis of ovarian tumour cells treated with cisplatin {n}."
    detail = "The tris buffer held tris base, tris acetate and tris chloride buffer."
    paragraphs = [
        f"Paragraph {n} reports a measurement taken on day {n} in the laboratory. "
        + theme.format(n=n)
        for n in range(8)
    ]
    # One paragraph dwells on a detail: its words are the text's most frequent, but local.
    paragraphs[3] += "".join(f" {detail[:-1]} {n}." for n in range(6))
    text = "\n\n".join(paragraphs)
    spans = sentence_spans(text)
    layout = analyse_layout(text, spans)
    scores = document_scores(text, spans, layout)
    sentences = [text[start:end] for start, end in spans]
    density = scores.density(spans, sentence_sizes(text, spans)[1])
    themed = [i for i, sentence in enumerate(sentences) if "p53" in sentence]
    local = [i for i, sentence in enumerate(sentences) if "tris" in sentence]
    assert min(density[themed]) > max(density[local])
    assert "tris" not in summarize_extractive(text, 24, 12)
