"""Extractive summaries by graph ranking (continuous LexRank), offline and deterministic.

Each sentence becomes a TF-IDF vector (IDF over the sentences of the same document, English
stop words removed, sublinear term frequency). Sentences are nodes of a graph weighted by
cosine similarity, and PageRank by power iteration scores how central each one is: a
sentence that resembles many other central sentences states what the document is about.

Huge documents: a complete graph has n² edges (a 60,000-word paper has ~3,000 sentences, a
1,000,000-character text ~10,000), so each sentence keeps only its ``NEIGHBOURS`` most
similar sentences (a sparsified k-nearest-neighbour graph, symmetrised). Similarities are
computed in blocks of rows, so memory stays at one block of dense rows, and ranking works on
a sparse matrix. For documents of up to ``NEIGHBOURS + 1`` sentences this is exactly the
complete graph, so short texts get textbook LexRank.

Lengths are counted in words (runs of non-whitespace). A text that already fits in ``maxlen``
words is returned whole. Otherwise best-ranked sentences are taken while the summary is
shorter than ``minlen`` and only if they keep it within ``maxlen``; a sentence nearly
identical to one already taken is passed over while others remain. If that falls short of
``minlen``, a small knapsack search looks for another set of well-ranked whole sentences that
reaches it. Only when no whole
sentence fits at all is the best-ranked sentence cut at a word boundary and marked with an
ellipsis (a fragment added merely to reach ``minlen`` would read as noise). The chosen
sentences are printed in document order.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS, TfidfVectorizer

from labserve.models.summarizer.sentences import split_sentences

#: Most similar sentences each sentence keeps as graph edges.
NEIGHBOURS = 20
#: PageRank damping factor (the usual 0.85).
DAMPING = 0.85
#: Power iteration stops when the L1 change of the scores falls below this.
TOLERANCE = 1e-8
MAX_ITERATIONS = 200
#: Cosine similarity above which a candidate repeats a chosen sentence.
REDUNDANCY = 0.9
#: Sentences shorter than this (headings, labels) are only taken when nothing else fits.
SHORT_SENTENCE_WORDS = 4
#: Best-ranked sentences searched for a whole-sentence summary of at least ``minlen`` words.
REPAIR_CANDIDATES = 30
#: Rows of the similarity matrix computed at once (bounds memory for huge documents).
BLOCK_ROWS = 512
ELLIPSIS = "…"

# Words of two or more characters, with inner hyphens and periods kept (IL-6, p53, 3.5,
# e.g); digits stay, because doses, genes and years are content in scientific text.
_TOKEN = re.compile(r"[^\W_][\w.\-]*[^\W_]")


def _analyse(sentence: str) -> list[str]:
    return [t for t in _TOKEN.findall(sentence.lower()) if t not in ENGLISH_STOP_WORDS]


def sentence_vectors(sentences: Sequence[str]) -> sp.csr_matrix | None:
    """L2-normalised TF-IDF rows, one per sentence; None if no sentence has a content word."""
    vectorizer = TfidfVectorizer(analyzer=_analyse, sublinear_tf=True, dtype=np.float64)
    try:
        matrix = vectorizer.fit_transform(sentences)
    except ValueError:  # empty vocabulary: only stop words, symbols or one-letter words
        return None
    return sp.csr_matrix(matrix)


def similarity_graph(vectors: sp.csr_matrix, neighbours: int = NEIGHBOURS) -> sp.csr_matrix:
    """Symmetric sparse cosine-similarity graph keeping each node's strongest edges.

    Args:
        vectors: L2-normalised rows, so a dot product is a cosine similarity.
        neighbours: Edges each node keeps (before symmetrising); no self-loops.

    Returns:
        An n×n CSR matrix of non-negative weights.
    """
    n = vectors.shape[0]
    transposed = vectors.T.tocsc()
    keep = min(neighbours, n - 1)
    rows: list[np.ndarray] = []
    cols: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    for start in range(0, n, BLOCK_ROWS):
        stop = min(start + BLOCK_ROWS, n)
        block = (vectors[start:stop] @ transposed).toarray()
        block[np.arange(stop - start), np.arange(start, stop)] = 0.0
        if keep <= 0:
            continue
        if keep < n - 1:
            top = np.argpartition(-block, keep - 1, axis=1)[:, :keep]
        else:
            top = np.broadcast_to(np.arange(n), (stop - start, n))
        values = np.take_along_axis(block, top, axis=1)
        rows.append(np.repeat(np.arange(start, stop), top.shape[1]))
        cols.append(top.ravel())
        weights.append(values.ravel())
    if not rows:
        return sp.csr_matrix((n, n), dtype=np.float64)
    graph = sp.csr_matrix(
        (np.concatenate(weights), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n)
    )
    graph.eliminate_zeros()
    return sp.csr_matrix(graph.maximum(graph.T))


def pagerank(graph: sp.csr_matrix, damping: float = DAMPING) -> np.ndarray:
    """Stationary scores of a random walk on ``graph`` with uniform teleportation.

    Nodes without edges (sentences sharing no content word with any other) teleport
    uniformly, so the scores always form a probability distribution.
    """
    n = graph.shape[0]
    if n == 0:
        return np.zeros(0)
    out_weight = np.asarray(graph.sum(axis=1)).ravel()
    dangling = out_weight == 0
    inverse = np.divide(1.0, out_weight, out=np.zeros(n), where=~dangling)
    transition_t = sp.csr_matrix((sp.diags(inverse) @ graph).T)
    scores = np.full(n, 1.0 / n)
    for _ in range(MAX_ITERATIONS):
        spread = damping * (transition_t @ scores)
        leaked = 1.0 - spread.sum()  # teleportation plus the walk out of dangling nodes
        updated = spread + leaked / n
        if np.abs(updated - scores).sum() < TOLERANCE:
            return np.asarray(updated)
        scores = updated
    return np.asarray(scores)


def rank_sentences(sentences: Sequence[str]) -> tuple[np.ndarray, sp.csr_matrix | None]:
    """LexRank centrality of each sentence, and the TF-IDF vectors used (None if empty)."""
    vectors = sentence_vectors(sentences)
    if vectors is None:
        return np.full(len(sentences), 1.0 / max(len(sentences), 1)), None
    return pagerank(similarity_graph(vectors)), vectors


def _truncate(sentence: str, words: int) -> str:
    kept = sentence.split()[:words]
    kept[-1] = kept[-1].rstrip(",;:") or kept[-1]
    return " ".join(kept) + ELLIPSIS


def _is_redundant(index: int, chosen: list[int], vectors: Any) -> bool:
    if vectors is None or not chosen:
        return False
    similarity = vectors[chosen] @ vectors[index].T
    return bool(similarity.max() > REDUNDANCY)


def _whole_sentences_reaching_minlen(
    order: Sequence[int], counts: Sequence[int], scores: np.ndarray, maxlen: int, minlen: int
) -> list[int]:
    """The best-scoring set of whole sentences with ``minlen`` to ``maxlen`` words, if any.

    Greedy selection can stop short of ``minlen`` (38 words taken, the next one too long for
    a 40-word budget) although another combination fits. This 0/1 knapsack over the
    ``REPAIR_CANDIDATES`` best-ranked sentences finds one; its cost is bounded by
    ``REPAIR_CANDIDATES * maxlen`` steps and it runs only when greedy fell short.
    """
    best: dict[int, tuple[float, tuple[int, ...]]] = {0: (0.0, ())}
    for index in order[:REPAIR_CANDIDATES]:
        for words, (score, members) in list(best.items()):
            reached = words + counts[index]
            if reached > maxlen:
                continue
            candidate = (score + float(scores[index]), (*members, index))
            if reached not in best or candidate[0] > best[reached][0]:
                best[reached] = candidate
    reachable = [best[words] for words in sorted(best) if words >= minlen]
    if not reachable:
        return []
    return list(max(reachable, key=lambda found: found[0])[1])


def select_sentences(
    sentences: Sequence[str], scores: np.ndarray, vectors: Any, maxlen: int, minlen: int
) -> dict[int, str]:
    """Pick sentences by rank within the word limits; returns index -> text (maybe cut)."""
    counts = [len(sentence.split()) for sentence in sentences]
    # Best score first; short fragments last; ties broken by position, so it is deterministic.
    order = sorted(
        range(len(sentences)),
        key=lambda i: (counts[i] < SHORT_SENTENCE_WORDS, -scores[i], i),
    )
    chosen: list[int] = []
    total = 0
    for avoid_repeats in (True, False):
        for index in order:
            if total >= minlen:
                break
            if index in chosen or total + counts[index] > maxlen:
                continue
            if avoid_repeats and _is_redundant(index, chosen, vectors):
                continue
            chosen.append(index)
            total += counts[index]
    if total < minlen:
        chosen = _whole_sentences_reaching_minlen(order, counts, scores, maxlen, minlen) or chosen
    has_real_sentence = any(count >= SHORT_SENTENCE_WORDS for count in counts)
    if has_real_sentence and all(counts[index] < SHORT_SENTENCE_WORDS for index in chosen):
        # Only headings fit ("Background Methods Results"): that says nothing, so fall back
        # to the best real sentence, cut, as when no sentence fits at all.
        chosen = []
    picked = {index: sentences[index] for index in chosen}
    if not picked:
        # Every real sentence is longer than maxlen: cut the best one to fit.
        picked[order[0]] = _truncate(sentences[order[0]], maxlen)
    return picked


def summarize_extractive(text: str, maxlen: int, minlen: int) -> str:
    """Summarise one text with at most ``maxlen`` words, and ``minlen`` if the text has them.

    Args:
        text: The text, ideally cleaned with ``cleaning.clean_text`` first.
        maxlen: Most words in the summary.
        minlen: Fewest words in the summary, unless the text itself is shorter.

    Returns:
        The chosen sentences in document order, joined by spaces; ``""`` for empty text.

    Raises:
        ValueError: Unless ``1 <= minlen <= maxlen``.
    """
    if not 1 <= minlen <= maxlen:
        raise ValueError(f"need 1 <= minlen <= maxlen, got minlen={minlen}, maxlen={maxlen}")
    sentences = split_sentences(text)
    if not sentences:
        return ""
    if sum(len(sentence.split()) for sentence in sentences) <= maxlen:
        return " ".join(sentences)
    scores, vectors = rank_sentences(sentences)
    picked = select_sentences(sentences, scores, vectors, maxlen, minlen)
    return " ".join(picked[index] for index in sorted(picked))


def summarize_batch(texts: Sequence[str], maxlen: int, minlen: int) -> list[str]:
    """Summarise each text independently (IDF is per document), in order."""
    return [summarize_extractive(text, maxlen, minlen) for text in texts]
