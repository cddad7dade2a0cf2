"""Extractive summaries of scientific text, offline and deterministic.

The pipeline, one module per step:

1. ``sentences`` splits the text into sentence spans (Punkt with fix-ups for papers).
2. ``structure`` finds paragraphs, headings and sections (conclusions, back matter).
3. ``scoring`` rates each sentence's value per word: its relevance (similarity to the
   document's centroid, adjusted for what the sentence says, ``cues``, and where it stands)
   and its density (how many of its words a summary of the document would use).
4. ``compression`` offers shorter versions of the best sentences (without a lead-in such as
   "however," or a trailing side clause), rated the same way.
5. ``selection`` picks the set of versions that best fills the word budget (a knapsack with
   a redundancy discount, one version per sentence at most); ``budget`` counts words and cuts
   a sentence when maxlen forces it.

Chosen sentences are printed in document order; one whose tail was dropped, or that was cut
to the budget, ends with an ellipsis. Each is one contiguous stretch of the text, so its span
is exact. A text that already fits in ``maxlen`` words is returned whole. Every step is linear
in the text length (shortening and the knapsack depend on ``maxlen`` and a fixed number of
candidates only), so any input of up to a million characters is summarised in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labserve.models.summarizer.budget import (
    ELLIPSIS,
    Tokens,
    cut_span,
    cut_text,
    piece_units,
    sentence_sizes,
    token_bounds,
)
from labserve.models.summarizer.compression import shortenings
from labserve.models.summarizer.scoring import DocumentScores, document_scores
from labserve.models.summarizer.selection import (
    VERSION_CANDIDATES,
    best_first,
    choose_sentences,
)
from labserve.models.summarizer.sentences import (
    Span,
    capitalises_sentences,
    sentence_spans,
    sentence_text,
)
from labserve.models.summarizer.structure import analyse_layout

__all__ = [
    "ELLIPSIS",
    "Extract",
    "extract",
    "summarize_batch",
    "summarize_extractive",
]

#: Sentences shorter than this (labels, fragments) are only taken when nothing else exists.
SHORT_SENTENCE_WORDS = 4
#: Best whole sentences whose shorter versions are considered too.
SHORTENED_CANDIDATES = 40
#: Sentences read to tell whether the text starts its sentences with capitals.
CASING_SAMPLE = 1000


@dataclass(frozen=True)
class Extract:
    """One sentence of a summary and where it is in the summarised text.

    Attributes:
        start: Offset of its first character in the text given to ``extract``.
        end: Offset just past its last character (of the part kept, if shortened or cut).
        text: The sentence as printed: whitespace collapsed, ``…`` appended if its end was
            dropped (a side clause left out, or cut to the budget).
    """

    start: int
    end: int
    text: str


def _repeats(text: str, spans: Sequence[Span]) -> npt.NDArray[np.bool_]:
    """Sentences whose exact wording came earlier in the text: never worth a second place."""
    seen: set[str] = set()
    repeated = np.zeros(len(spans), dtype=bool)
    for index, (start, end) in enumerate(spans):
        wording = text[start:end]
        repeated[index] = wording in seen
        seen.add(wording)
    return repeated


def _best_versions(
    text: str,
    spans: Sequence[Span],
    sentence_units: npt.NDArray[np.int64],
    eligible: npt.NDArray[np.bool_],
    maxlen: int,
    minlen: int,
    scores: DocumentScores,
    tokens: Tokens,
) -> list[Extract]:
    """The best set of whole or shortened eligible sentences, in document order."""
    quality = scores.quality
    ranked = best_first(quality, eligible)
    # Whether the text capitalises its sentences, judged on up to CASING_SAMPLE of them spread
    # through it: a million tiny sentences need not all be read for that.
    cased = capitalises_sentences(text, list(spans[:: max(1, len(spans) // CASING_SAMPLE)]))
    pieces: list[Span] = []
    owners: list[int] = []
    dropped: list[bool] = []
    for index in ranked[:SHORTENED_CANDIDATES]:
        pieces.append(spans[index])
        owners.append(index)
        dropped.append(False)
        for piece, tail_dropped in shortenings(text, spans[index], cased=cased):
            pieces.append(piece)
            owners.append(index)
            dropped.append(tail_dropped)
    if not pieces:
        return []
    units = piece_units(text, pieces, tokens)
    rows = None
    whole = len(pieces) == len(ranked[:SHORTENED_CANDIDATES])  # no sentence was shortened
    if whole and units == sentence_units[owners].tolist():
        # Only whole sentences (none has a shorter version): rated as the sentences they are.
        # ``piece_quality`` of a whole sentence repeats the sums that rated it, term by term
        # in the same order, so its value and row are the sentence's own.
        piece_quality, vectors, rows = quality[owners], scores.vectors, owners
    else:
        piece_quality, vectors = scores.piece_quality(pieces, owners, units)
    picks = choose_sentences(
        units,
        piece_quality,
        vectors,
        np.ones(len(pieces), dtype=bool),
        maxlen,
        minlen,
        groups=owners,
        candidates_wanted=VERSION_CANDIDATES,
        rows=rows,
    )
    extracts: list[Extract] = []
    for pick in sorted(picks, key=lambda pick: pieces[pick.index]):
        piece = pieces[pick.index]
        if pick.cut:
            kept = cut_span(text, piece, pick.units)
            extracts.append(Extract(*kept, cut_text(text, kept)))
        elif dropped[pick.index]:
            extracts.append(Extract(*piece, cut_text(text, piece)))
        else:
            extracts.append(Extract(*piece, sentence_text(text, piece)))
    return extracts


def extract(text: str, maxlen: int, minlen: int) -> list[Extract]:
    """The summary of ``text`` as sentences with their spans, in document order.

    Args:
        text: The text, ideally cleaned with ``cleaning.clean_text`` first.
        maxlen: Most words in the summary (see ``budget`` for overlong tokens).
        minlen: Fewest words in the summary, when whole sentences allow it.

    Returns:
        The chosen sentences; empty for a text without any.

    Raises:
        ValueError: Unless ``1 <= minlen <= maxlen``.
    """
    if not 1 <= minlen <= maxlen:
        raise ValueError(f"need 1 <= minlen <= maxlen, got minlen={minlen}, maxlen={maxlen}")
    spans = sentence_spans(text)
    tokens = token_bounds(text)
    words, units = sentence_sizes(text, spans, tokens)
    if units.sum() <= maxlen:
        return [Extract(*span, sentence_text(text, span)) for span in spans]
    layout = analyse_layout(text, spans)
    scores = document_scores(text, spans, layout, units)
    unique = ~_repeats(text, spans)
    real = (words >= SHORT_SENTENCE_WORDS) & ~layout.heading & unique
    eligible = real & ~layout.back_matter
    extracts = _best_versions(text, spans, units, eligible, maxlen, minlen, scores, tokens)
    if extracts:
        return extracts
    # All back matter, or only headings and fragments: take whole sentences of what there is.
    fallback = real if real.any() else unique
    picks = choose_sentences(
        units.tolist(), scores.quality, scores.vectors, fallback, maxlen, minlen
    )
    extracts = []
    for pick in picks:
        span = spans[pick.index]
        if pick.cut:
            kept = cut_span(text, span, pick.units)
            extracts.append(Extract(*kept, cut_text(text, kept)))
        else:
            extracts.append(Extract(*span, sentence_text(text, span)))
    return extracts


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
    return " ".join(piece.text for piece in extract(text, maxlen, minlen))


def summarize_batch(texts: Sequence[str], maxlen: int, minlen: int) -> list[str]:
    """Summarise each text independently (IDF is per document), in order."""
    return [summarize_extractive(text, maxlen, minlen) for text in texts]
