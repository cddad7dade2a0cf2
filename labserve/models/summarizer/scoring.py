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
from collections import Counter
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from labserve.models.summarizer.cues import CONTRIBUTION, DETAIL, FINDING
from labserve.models.summarizer.structure import Layout

FloatArray = npt.NDArray[np.float64]

#: Extra weight (as a fraction) of a sentence stating the authors' contribution.
CONTRIBUTION_WEIGHT = 0.5
#: Extra weight of a sentence framing a result as a conclusion.
FINDING_WEIGHT = 0.25
#: Extra weight of a sentence in an abstract, summary or conclusions section.
SUMMARISING_WEIGHT = 0.5
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


def content_terms(sentence: str) -> list[str]:
    """The sentence's topic words: lower-cased, plurals folded, stop words and numbers out."""
    return [
        stem(token)
        for token in _TOKEN.findall(sentence.lower())
        if token not in _STOP_WORDS and not _NUMBER_LIKE.fullmatch(token)
    ]


def sentence_vectors(sentences: Sequence[str]) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows (sublinear term frequency, smoothed IDF over sentences).

    A sentence without content words gets an all-zero row.
    """
    vocabulary: dict[str, int] = {}
    rows: list[int] = []
    cols: list[int] = []
    counts: list[int] = []
    for row, sentence in enumerate(sentences):
        for term, count in Counter(content_terms(sentence)).items():
            rows.append(row)
            cols.append(vocabulary.setdefault(term, len(vocabulary)))
            counts.append(count)
    n = len(sentences)
    columns = np.asarray(cols, dtype=np.int64)
    frequency = np.bincount(columns, minlength=len(vocabulary))
    idf = np.log((1 + n) / (1 + frequency)) + 1.0
    weights = (1.0 + np.log(np.asarray(counts, dtype=np.float64))) * idf[columns]
    matrix = sp.csr_matrix(
        (weights, (np.asarray(rows, dtype=np.int64), columns)), shape=(n, len(vocabulary))
    )
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ matrix)


def centrality(vectors: sp.csr_matrix) -> FloatArray:
    """Cosine similarity of each row to the centroid of all rows (0 for empty rows)."""
    centroid = np.asarray(vectors.sum(axis=0)).ravel()
    norm = float(np.linalg.norm(centroid))
    if norm == 0:
        return np.zeros(vectors.shape[0])
    return np.asarray(vectors @ (centroid / norm), dtype=np.float64).ravel()


def cue_weights(sentences: Sequence[str]) -> FloatArray:
    """Multipliers for what each sentence says (see ``cues``)."""
    weights = np.empty(len(sentences))
    for index, sentence in enumerate(sentences):
        up = 1.0
        if CONTRIBUTION.search(sentence):
            up += CONTRIBUTION_WEIGHT
        if FINDING.search(sentence):
            up += FINDING_WEIGHT
        down = 1.0 + DETAIL_WEIGHT if DETAIL.search(sentence) else 1.0
        weights[index] = up / down
    return weights


def sentence_quality(
    sentences: Sequence[str], layout: Layout
) -> tuple[FloatArray, sp.csr_matrix]:
    """Summary value per word of each sentence, and the TF-IDF vectors behind it."""
    vectors = sentence_vectors(sentences)
    quality = centrality(vectors) * cue_weights(sentences)
    quality *= np.where(layout.summarising, 1.0 + SUMMARISING_WEIGHT, 1.0)
    return quality, vectors
