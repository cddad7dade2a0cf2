"""How good a sentence is for a summary, per word it costs.

A summary has a word budget, so what matters is how much of the document's main content each
word of a sentence carries. That is estimated as the cosine similarity between the sentence's
TF-IDF vector and the document's centroid (the sum of all sentence vectors): a sentence made
of the words the whole document keeps returning to states what the document is about. This is
the degree centrality of the complete sentence-similarity graph (first-order LexRank), but it
costs one sparse matrix-vector product, so it stays linear in the text length.

The estimate is then adjusted for what the sentence says (``cues``: stated contributions and
conclusions up, figure pointers, protocol steps and citations down) and where it stands
(``structure``: conclusions and abstracts up). The weights are deliberately round and few; they
were chosen on one half of a development set and checked on the other (see
``benchmarks/summarize.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from labserve.models.summarizer.cues import CONTRIBUTION, DETAIL, FINDING
from labserve.models.summarizer.sentences import Span, sentence_index
from labserve.models.summarizer.structure import BoolArray, Layout

FloatArray = npt.NDArray[np.float64]

#: Extra weight (as a fraction) of a sentence stating the authors' contribution.
CONTRIBUTION_WEIGHT = 0.5
#: Further extra weight of the first such sentence (the thesis statement).
THESIS_WEIGHT = 0.5
#: Extra weight of a sentence framing a result as a conclusion.
FINDING_WEIGHT = 0.25
#: Extra weight of a sentence in an abstract, summary or conclusions section.
SUMMARISING_WEIGHT = 0.5
#: Extra weight of the text's opening sentence (it states the topic).
OPENING_WEIGHT = 0.5
#: Weight lost (as a divisor 1 + w) by a sentence pointing at figures, protocol or citations.
DETAIL_WEIGHT = 0.5

# Words of two or more characters with inner hyphens and periods (IL-6, p53, 3.5, e.g), or a
# placeholder in angle brackets (<dig>, <num>) that some corpora put in place of numbers.
_TOKEN = re.compile(r"<[^\W\d_]+>|[^\W_][\w.\-]*[^\W_]")
# Numbers and number placeholders say nothing about the topic (every paper has them).
_NUMBER_LIKE = re.compile(r"<[^\W\d_]+>|[\d.,\-]+")
_STOP_WORDS = ENGLISH_STOP_WORDS


def stem(word: str) -> str:
    """Fold English plurals (cells -> cell, studies -> study, processes -> process)."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    return word[:-1]


def lower_same_length(text: str) -> str:
    """``text.lower()`` with offsets unchanged (only ``İ`` grows when lower-cased)."""
    return text.replace("\u0130", "I").lower()


def content_terms(lowered: str) -> list[str]:
    """Topic words of a lower-cased sentence: plurals folded, stop words and numbers out."""
    return [
        stem(token) if token[-1] == "s" else token
        for token in _TOKEN.findall(lowered)
        if token not in _STOP_WORDS and not _NUMBER_LIKE.fullmatch(token)
    ]


def term_vectors(lowered: str, spans: Sequence[Span]) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows of the sentences at ``spans`` in a lower-cased text.

    Sublinear term frequency, smoothed IDF over sentences. Built from one regex pass over the
    whole text (no per-sentence objects, no scikit-learn vectoriser), so it stays fast for
    texts of hundreds of thousands of tiny sentences. A sentence without content words gets an
    all-zero row.
    """
    n = len(spans)
    vocabulary: dict[str, int] = {}
    columns: list[int] = []
    positions: list[int] = []
    for match in _TOKEN.finditer(lowered):
        token = match.group()
        if token in _STOP_WORDS or _NUMBER_LIKE.fullmatch(token):
            continue
        term = stem(token) if token[-1] == "s" else token
        columns.append(vocabulary.setdefault(term, len(vocabulary)))
        positions.append(match.start())
    width = max(len(vocabulary), 1)
    rows = sentence_index(spans, positions) if n else np.zeros(0, dtype=np.int64)
    keys, counts = np.unique(rows * width + np.asarray(columns, dtype=np.int64), return_counts=True)
    rows, cols = keys // width, keys % width
    idf = np.log((1 + n) / (1 + np.bincount(cols, minlength=width))) + 1.0
    data = (1.0 + np.log(counts.astype(np.float64))) * idf[cols]
    norms = np.sqrt(np.bincount(rows, weights=data * data, minlength=n))
    norms[norms == 0] = 1.0
    data /= norms[rows]
    indptr = np.concatenate(([0], np.cumsum(np.bincount(rows, minlength=n))))
    return sp.csr_matrix((data, cols, indptr), shape=(n, width))


def sentence_vectors(sentences: Sequence[str]) -> sp.csr_matrix:
    """``term_vectors`` of a list of sentences (a convenience for callers and tests)."""
    spans: list[Span] = []
    offset = 0
    for sentence in sentences:
        spans.append((offset, offset + len(sentence)))
        offset += len(sentence) + 1
    return term_vectors(lower_same_length("\n".join(sentences)), spans)


def centrality(vectors: sp.csr_matrix) -> FloatArray:
    """Cosine similarity of each row to the centroid of the OTHER rows (0 for empty rows).

    Leaving the sentence itself out matters in short texts: otherwise an off-topic sentence
    is similar to the centroid through its own contribution to it.
    """
    n, width = vectors.shape
    columns = vectors.indices
    centroid = np.bincount(columns, weights=vectors.data, minlength=width)
    rows = np.repeat(np.arange(n), np.diff(vectors.indptr))
    dots = np.bincount(rows, weights=vectors.data * centroid[columns], minlength=n)
    self_norms = np.bincount(rows, weights=vectors.data * vectors.data, minlength=n)  # 1 or 0
    rest = np.sqrt(np.maximum(float(centroid @ centroid) - 2 * dots + self_norms, 0.0))
    similarity: FloatArray = np.divide(dots - self_norms, rest, out=np.zeros(n), where=rest > 1e-12)
    return similarity


def _flags(pattern: re.Pattern[str], lowered: str, spans: Sequence[Span]) -> BoolArray:
    """Sentences in which ``pattern`` matches at the start of a word."""
    starts = [
        match.start()
        for match in pattern.finditer(lowered)
        if match.start() == 0
        or not lowered[match.start() - 1].isalnum()
        or not lowered[match.start()].isalnum()
    ]
    flags = np.zeros(len(spans), dtype=bool)
    if starts and spans:
        flags[sentence_index(spans, starts)] = True
    return flags


def cue_weights(lowered: str, spans: Sequence[Span]) -> FloatArray:
    """Multipliers for what each sentence says (see ``cues``)."""
    contribution = _flags(CONTRIBUTION, lowered, spans)
    thesis = np.zeros(len(spans), dtype=bool)
    if contribution.any():  # the first statement of the authors' contribution
        thesis[int(np.argmax(contribution))] = True
    up = (
        1.0
        + CONTRIBUTION_WEIGHT * contribution
        + THESIS_WEIGHT * thesis
        + FINDING_WEIGHT * _flags(FINDING, lowered, spans)
    )
    return np.asarray(up / np.where(_flags(DETAIL, lowered, spans), 1.0 + DETAIL_WEIGHT, 1.0))


def sentence_quality(
    text: str, spans: Sequence[Span], layout: Layout
) -> tuple[FloatArray, sp.csr_matrix]:
    """Summary value per word of each sentence, and the TF-IDF vectors behind it."""
    lowered = lower_same_length(text)
    vectors = term_vectors(lowered, spans)
    quality = centrality(vectors) * cue_weights(lowered, spans)
    quality *= np.where(layout.summarising, 1.0 + SUMMARISING_WEIGHT, 1.0)
    quality *= np.where(layout.opening, 1.0 + OPENING_WEIGHT, 1.0)
    return quality, vectors
