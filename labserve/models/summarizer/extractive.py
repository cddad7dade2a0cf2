"""Extractive summaries of scientific text, offline and deterministic.

The pipeline, one module per step:

1. ``sentences`` splits the text into sentence spans (Punkt with fix-ups for papers).
2. ``structure`` finds paragraphs, headings and sections (conclusions, back matter).
3. ``scoring`` rates each sentence's value per word: similarity to the document's centroid,
   adjusted for what the sentence says (``cues``) and where it stands.
4. ``selection`` picks the set of sentences that best fills the word budget (a knapsack with
   a redundancy discount); ``budget`` counts words and cuts a sentence when maxlen forces it.

Chosen sentences are printed in document order, whole; a cut one ends with an ellipsis. A
text that already fits in ``maxlen`` words is returned whole. Every step is linear in the
text length (the knapsack depends on ``maxlen`` only), so any input of up to a million
characters is summarised in seconds.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labserve.models.summarizer.budget import ELLIPSIS, cut_span, cut_text, sentence_sizes
from labserve.models.summarizer.scoring import sentence_quality
from labserve.models.summarizer.selection import choose_sentences
from labserve.models.summarizer.sentences import Span, sentence_spans, sentence_text
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


@dataclass(frozen=True)
class Extract:
    """One sentence of a summary and where it is in the summarised text.

    Attributes:
        start: Offset of its first character in the text given to ``extract``.
        end: Offset just past its last character (of the part kept, if cut).
        text: The sentence as printed: whitespace collapsed, ``…`` appended if cut.
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
    words, units = sentence_sizes(text, spans)
    if units.sum() <= maxlen:
        return [Extract(*span, sentence_text(text, span)) for span in spans]
    layout = analyse_layout(text, spans)
    quality, vectors = sentence_quality(text, spans, layout)
    real = (words >= SHORT_SENTENCE_WORDS) & ~layout.heading & ~_repeats(text, spans)
    eligible = real & ~layout.back_matter
    sizes = units.tolist()
    picks = choose_sentences(sizes, quality, vectors, eligible, maxlen, minlen)
    if not picks:  # all back matter, or only headings and fragments: take what there is
        fallback = real if real.any() else ~_repeats(text, spans)
        picks = choose_sentences(sizes, quality, vectors, fallback, maxlen, minlen)
    extracts: list[Extract] = []
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
