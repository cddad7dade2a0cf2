"""The extractive summariser: ranking, word limits, order, truncation, determinism."""

from __future__ import annotations

import random

import numpy as np
import pytest

from labserve.models.summarizer.extractive import (
    ELLIPSIS,
    extract,
    summarize_batch,
    summarize_extractive,
)
from labserve.models.summarizer.scoring import centrality, sentence_quality, sentence_vectors
from labserve.models.summarizer.sentences import sentence_spans, split_sentences
from labserve.models.summarizer.structure import analyse_layout

# An abstract about one theme (p53, cisplatin, apoptosis) with two off-topic sentences.
DOCUMENT = """\
Background

Dr. Smith et al. [12] reported that loss of p53 makes ovarian tumour cells resistant to \
cisplatin. We asked whether restoring p53 restores cisplatin-induced apoptosis in these cells. \
Cells were treated with 3.5 mg/mL cisplatin for 24 h, and apoptosis was measured by annexin V \
staining (Fig. 2). Restoring p53 raised cisplatin-induced apoptosis from 12.5% to 42.7% of \
cells (p = 0.003). The building's cafeteria was renovated during the summer. In BRCA1-mutant \
cells, i.e. 4 of the 11 lines, p53 restoration had no effect on apoptosis. IL-6 secretion rose \
2.5-fold after cisplatin vs. untreated controls, but IL-6 blockade did not change apoptosis. \
The parking garage closed for two weeks in 2019. Taken together, p53 status decides whether \
ovarian tumour cells undergo apoptosis after cisplatin, and BRCA1 status modifies it. Trials \
should stratify patients by p53 and BRCA1 status before cisplatin treatment.
"""

OFF_TOPIC = (
    "The building's cafeteria was renovated during the summer.",
    "The parking garage closed for two weeks in 2019.",
)


def words(text: str) -> int:
    return len(text.split())


def rank_sentences(text: str) -> tuple[list[str], np.ndarray]:
    """The sentences of ``text`` and their summary value per word."""
    spans = sentence_spans(text)
    sentences = [" ".join(text[start:end].split()) for start, end in spans]
    quality, _ = sentence_quality(text, spans, analyse_layout(text, spans))
    return sentences, quality


def generated_document(n_words: int, seed: int) -> str:
    """Seeded pseudo-scientific text with varied sentences and paragraph breaks."""
    rng = random.Random(seed)
    subjects = ["p53", "IL-6", "BRCA1", "tumour growth", "cell viability", "the control arm"]
    verbs = ["increased", "decreased", "did not change", "depended on", "was restored by"]
    objects = ["3.5 mg/mL cisplatin", "hypoxia", "the knockout", "42.7% of cells", "glucose"]
    parts: list[str] = []
    total = 0
    while total < n_words:
        sentence = (
            f"In experiment {rng.randint(1, 999)}, {rng.choice(subjects)} "
            f"{rng.choice(verbs)} {rng.choice(objects)} (Fig. {rng.randint(1, 9)})."
        )
        parts.append(sentence)
        total += words(sentence)
        if rng.random() < 0.05:
            parts.append("\n\n")
    return " ".join(parts)


@pytest.mark.parametrize(
    ("maxlen", "minlen"),
    [(60, 30), (40, 40), (25, 5), (100, 50), (10, 1), (15, 15), (200, 150), (1024, 1)],
)
def test_word_limits_hold(maxlen: int, minlen: int) -> None:
    summary = summarize_extractive(DOCUMENT, maxlen, minlen)
    assert min(minlen, words(DOCUMENT)) <= words(summary) <= maxlen


@pytest.mark.parametrize(("maxlen", "minlen"), [(60, 30), (30, 30), (120, 10), (7, 3)])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_word_limits_hold_on_generated_text(maxlen: int, minlen: int, seed: int) -> None:
    summary = summarize_extractive(generated_document(800, seed), maxlen, minlen)
    assert minlen <= words(summary) <= maxlen


def assert_versions_of_sentences_in_order(text: str, maxlen: int, minlen: int) -> None:
    """Each summary piece is a whole sentence or a stretch of one, at most one per sentence."""
    spans = sentence_spans(text)
    owners = []
    for piece in extract(text, maxlen, minlen):
        (owner,) = [i for i, (start, end) in enumerate(spans) if start <= piece.start < end]
        start, end = spans[owner]
        assert piece.end <= end
        kept = " ".join(text[piece.start : piece.end].split())
        assert piece.text == (kept if piece.end == end else kept + ELLIPSIS)
        owners.append(owner)
    assert owners == sorted(owners)
    assert len(set(owners)) == len(owners)


@pytest.mark.parametrize(("maxlen", "minlen"), [(60, 30), (100, 80), (120, 1)])
def test_sentences_are_whole_or_shortened_and_in_document_order(maxlen: int, minlen: int) -> None:
    assert_versions_of_sentences_in_order(DOCUMENT, maxlen, minlen)
    summary = summarize_extractive(DOCUMENT, maxlen, minlen)
    for sentence in split_sentences(summary.replace(ELLIPSIS, ".")):
        assert sentence.removesuffix(".") in DOCUMENT


def test_central_sentences_outrank_off_topic_ones() -> None:
    sentences, scores = rank_sentences(DOCUMENT)
    off_topic = [scores[sentences.index(sentence)] for sentence in OFF_TOPIC]
    on_topic = [
        score for sentence, score in zip(sentences, scores, strict=True) if "p53" in sentence
    ]
    assert max(off_topic) < min(on_topic)
    summary = summarize_extractive(DOCUMENT, 80, 40)
    assert not any(sentence in summary for sentence in OFF_TOPIC)


def test_numbers_and_abbreviations_survive_into_the_summary() -> None:
    summary = summarize_extractive(DOCUMENT, 200, 150)
    for content in (
        "3.5 mg/mL",
        "42.7%",
        "p = 0.003",
        "Fig. 2",
        "et al. [12]",
        "i.e.",
        "vs.",
        "2.5-fold",
    ):
        assert content in summary


def test_a_long_best_sentence_is_cut_with_an_ellipsis_when_nothing_fits() -> None:
    sentence = (
        "Restoring p53 raised cisplatin-induced apoptosis in ovarian tumour cells from 12.5% to "
        "42.7% at 3.5 mg/mL, as Dr. Smith et al. [12] predicted, in every cell line we tested, "
        "including the BRCA1-mutant ones."
    )
    text = f"{sentence} {sentence.replace('Restoring', 'Losing')}"
    summary = summarize_extractive(text, 10, 5)
    assert summary.endswith(ELLIPSIS)
    assert words(summary) == 10
    assert summary.removesuffix(ELLIPSIS).split() == sentence.split()[:10] or (
        summary.removesuffix(ELLIPSIS).split()
        == sentence.replace("Restoring", "Losing").split()[:10]
    )


def test_cut_drops_a_dangling_comma() -> None:
    text = "Alpha beta gamma, delta epsilon zeta eta theta iota kappa lambda mu."
    assert summarize_extractive(text, 3, 1) == f"Alpha beta gamma{ELLIPSIS}"


@pytest.mark.parametrize(("maxlen", "minlen"), [(60, 30), (12, 1), (12, 12)])
def test_text_that_fits_in_maxlen_is_returned_whole(maxlen: int, minlen: int) -> None:
    text = "p53 loss confers resistance. Restoring p53 restores apoptosis at 3.5 mg/mL."
    assert summarize_extractive(text, maxlen, minlen) == text


def sentence_of(n_words: int, topic: str) -> str:
    filler = ["cells", "showed", "clear", "apoptosis", "after", "cisplatin", "in", "vitro"]
    body = [topic] + [filler[i % len(filler)] for i in range(n_words - 1)]
    return " ".join(body) + "."


def test_minlen_is_reached_with_other_whole_sentences_when_greedy_falls_short() -> None:
    # Greedy takes the 30-word sentence and then nothing fits a 40-word budget; the 20 + 20
    # word pair reaches minlen with whole sentences.
    text = " ".join([sentence_of(30, "p53"), sentence_of(20, "p53"), sentence_of(20, "BRCA1")])
    summary = summarize_extractive(text, 40, 40)
    assert words(summary) == 40
    assert ELLIPSIS not in summary


def test_a_sentence_that_fits_whole_is_never_cut_to_fill_the_budget() -> None:
    first = "Restoring p53 restores cisplatin-induced apoptosis in ovarian tumour cells in vitro."
    second = "Loss of BRCA1 makes ovarian tumour cells resistant to cisplatin in most lines."
    summary = summarize_extractive(f"{first} {second}", 20, 15)
    assert ELLIPSIS not in summary
    assert summary in (first, second)  # 12 + 13 words: only one fits whole, none is cut


def test_a_sentence_longer_than_maxlen_is_cut_when_it_is_worth_it() -> None:
    short = "Restoring p53 restores apoptosis."
    long = " ".join(["p53 restores cisplatin apoptosis in ovarian cells"] * 4) + "."
    summary = summarize_extractive(f"{short} {long}", 20, 15)
    assert summary.endswith(ELLIPSIS)
    assert words(summary) == 20
    assert long.startswith(summary.removesuffix(ELLIPSIS))


def test_a_repeated_sentence_is_not_taken_twice() -> None:
    repeated = "Restoring p53 restores cisplatin-induced apoptosis in ovarian tumour cells."
    text = DOCUMENT.replace("Taken together,", f"{repeated} {repeated} Taken together,")
    summary = summarize_extractive(text, 60, 40)
    assert summary.count(repeated) <= 1


def test_same_input_gives_the_same_summary() -> None:
    text = generated_document(3000, seed=7)
    first = summarize_extractive(text, 60, 30)
    assert all(summarize_extractive(text, 60, 30) == first for _ in range(3))


def test_batch_matches_one_by_one() -> None:
    texts = [DOCUMENT, generated_document(500, seed=1), "Only one sentence here about p53."]
    assert summarize_batch(texts, 50, 20) == [summarize_extractive(t, 50, 20) for t in texts]


def test_large_document_keeps_limits_and_sparse_vectors() -> None:
    text = generated_document(20_000, seed=5)
    sentences = split_sentences(text)
    vectors = sentence_vectors(sentences)
    assert len(sentences) > 1000
    assert vectors.nnz <= sum(len(sentence.split()) for sentence in sentences)
    summary = summarize_extractive(text, 60, 30)
    assert 30 <= words(summary) <= 60


def test_centrality_favours_sentences_sharing_the_documents_words() -> None:
    sentences = [
        "p53 cisplatin apoptosis ovarian.",
        "p53 cisplatin apoptosis.",
        "p53 cisplatin ovarian.",
        "p53 apoptosis ovarian.",
        "Cafeteria renovated summer.",
    ]
    scores = centrality(sentence_vectors(sentences))
    assert int(np.argmax(scores)) == 0
    assert int(np.argmin(scores)) == 4
    assert np.all((scores >= 0) & (scores <= 1 + 1e-12))


def test_sentences_without_content_words_have_no_centrality() -> None:
    scores = centrality(sentence_vectors(["It is.", "So be it.", "We are."]))
    assert scores == pytest.approx(np.zeros(3))


def test_text_without_content_words_still_gets_a_summary() -> None:
    text = "It is. So be it. We are. Here we go again now."
    summary = summarize_extractive(text, 5, 2)
    assert 2 <= words(summary) <= 5


@pytest.mark.parametrize(("maxlen", "minlen"), [(0, 0), (10, 0), (10, 11), (-5, 1)])
def test_bad_lengths_raise(maxlen: int, minlen: int) -> None:
    with pytest.raises(ValueError, match="minlen"):
        summarize_extractive(DOCUMENT, maxlen, minlen)


def test_empty_text_gives_an_empty_summary() -> None:
    assert summarize_extractive("   ", 10, 5) == ""


@pytest.mark.parametrize("maxlen", [25, 40, 60, 100])
@pytest.mark.parametrize("seed", [1, 2])
def test_the_budget_is_used_with_whole_or_shortened_sentences(maxlen: int, seed: int) -> None:
    text = generated_document(3000, seed)
    summary = summarize_extractive(text, maxlen, maxlen // 2)
    assert maxlen - 3 <= words(summary) <= maxlen
    # Every generated sentence is shorter than maxlen, so nothing is cut mid-clause: an
    # ellipsis only replaces a dropped "(Fig. n)".
    for piece in extract(text, maxlen, maxlen // 2):
        if piece.text.endswith(ELLIPSIS):
            assert text[piece.end :].startswith(" (Fig.")
    assert_versions_of_sentences_in_order(text, maxlen, maxlen // 2)
