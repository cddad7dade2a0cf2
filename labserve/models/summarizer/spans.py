"""Summaries that say where each sentence came from in the caller's text.

The summariser works on cleaned text (see ``cleaning``), whose offsets differ from the input's
wherever whitespace was collapsed, invisible characters or digits were dropped, or Unicode was
normalised. ``clean_text_mapped`` remembers the mapping, so each summary sentence can be given
as a character span of the ORIGINAL input: ``text[start:end]`` is that sentence as it stands
there (for a sentence cut with the ellipsis, the part kept). Spans are in document order and
do not overlap.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from labserve.models.summarizer.cleaning import clean_text_mapped
from labserve.models.summarizer.extractive import extract


@dataclass(frozen=True)
class SourceSpan:
    """Where one summary sentence stands in the input.

    Attributes:
        start: Offset of its first character in the input.
        end: Offset just past its last character.
        text: ``input[start:end]``, exactly as sent (whitespace and all).
    """

    start: int
    end: int
    text: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form used in predictions: ``{"start", "end", "text"}``."""
        return {"start": self.start, "end": self.end, "text": self.text}


@dataclass(frozen=True)
class TracedSummary:
    """A summary and, per sentence, its span in the input."""

    summary: str
    sources: list[SourceSpan]


def summarize_with_sources(
    text: str, maxlen: int, minlen: int, *, strip_digits: bool = False
) -> TracedSummary:
    """Clean and summarise ``text``, tracing every summary sentence back to it.

    Args:
        text: The caller's text, uncleaned.
        maxlen: Most words in the summary.
        minlen: Fewest words, when whole sentences allow it.
        strip_digits: Remove digits first (as ``clean_text``); spans still cover the input
            region each sentence came from, digits included.

    Returns:
        The same summary ``summarize_extractive(clean_text(text), ...)`` gives, with one span
        per sentence.

    Raises:
        ValueError: Unless ``1 <= minlen <= maxlen``.
    """
    cleaned = clean_text_mapped(text, strip_digits=strip_digits)
    pieces = extract(cleaned.text, maxlen, minlen)
    sources = []
    for piece in pieces:
        start, end = cleaned.source_span(piece.start, piece.end)
        sources.append(SourceSpan(start, end, text[start:end]))
    return TracedSummary(" ".join(piece.text for piece in pieces), sources)


def summarize_batch_with_sources(
    texts: Sequence[str], maxlen: int, minlen: int, *, strip_digits: bool = False
) -> list[TracedSummary]:
    """``summarize_with_sources`` for each text, in order."""
    return [
        summarize_with_sources(text, maxlen, minlen, strip_digits=strip_digits) for text in texts
    ]
