"""Sentence splitting that survives scientific text.

The splitter is nupunkt (a maintained, pure-Python, offline implementation of the Punkt
algorithm with a pre-trained English model and a large abbreviation list). pysbd was tried on
the same hard cases and rejected: it split ``Smith et al. [12], the effect ...`` after ``al.``
(citations are everywhere in papers), ``Suppl. Fig. S1``, ``Approx. 50%`` and
``grant no. R01``, and it was about ten times slower on long documents. Both keep decimals,
units, percentages and gene names such as p53, IL-6 and BRCA1 intact.

Punkt still makes two kinds of mistake on papers, fixed up here:

* it splits after an abbreviation that can never end a sentence when the next word is
  capitalised (``cf. Table 3``, ``chr. 17q21``); such fragments are joined again;
* it never breaks after a unit it knows as an abbreviation (``after 24 h. The cells``,
  ``4.5 yr. Patients``), although SI units take no period, so ``<number> <unit>.`` before a
  capitalised word is a sentence end and is split.

Lower-cased corpora (such as SumPubMed) start every sentence with a lower-case letter, so the
first fix-up's "a lower-case word never starts a sentence" rule is used only in texts that
capitalise most of their sentences; otherwise it would glue whole paragraphs together.

Known limitation: ``the U.S. FDA`` is still split after ``U.S.``, because ``U.S.`` also ends
sentences and an acronym after it may start the next one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache
from itertools import chain
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from labserve.models.summarizer import punkt_scan

if TYPE_CHECKING:
    from nupunkt import PunktSentenceTokenizer

SPLITTER_NAME = "nupunkt"

#: A half-open ``(start, end)`` range of character offsets.
Span = tuple[int, int]

#: Abbreviations (lower case, without the final period) after which a sentence never ends.
NEVER_FINAL: frozenset[str] = frozenset(
    {
        "approx",
        "ca",
        "cf",
        "chr",
        "dr",
        "e.g",
        "eg",
        "eq",
        "eqs",
        "fig",
        "figs",
        "i.e",
        "ie",
        "mr",
        "mrs",
        "ms",
        "prof",
        "ref",
        "refs",
        "sect",
        "suppl",
        "viz",
        "vs",
    }
)

#: Abbreviations that end a sentence only rarely: joined when a number or citation follows.
NUMBERED: frozenset[str] = frozenset(
    {"no", "nos", "p", "pp", "sec", "tab", "vol", "al", "table", "ch", "chap", "para"}
)

#: Sentence-end characters above which the plain rule replaces Punkt (see ``sentence_spans``).
MAX_PUNKT_ENDS = 50_000

_PLAIN_BREAK = re.compile(r"[.!?]+[\"'’”)\]]*(\s+)|\n[^\S\n]*\n\s*")
#: Characters read from the end of a sentence to find its last word.
_TAIL_CHARS = 64
_NUMBERISH_START = re.compile(r"^[\[(]?\S*\d")
_PLAIN_LOWER_WORD = re.compile(r"[a-z]+(?![\w-])")
# A number, a unit Punkt takes for an abbreviation, a period, then a capitalised word.
_UNIT_NAMES = [
    "h",
    "hr",
    "hrs",
    "min",
    "mins",
    "s",
    "sec",
    "secs",
    "d",
    "wk",
    "wks",
    "mo",
    "mos",
    "yr",
    "yrs",
    "y",
]
_UNITS = rf"(?:{'|'.join(_UNIT_NAMES)})"
_UNIT_END = re.compile(rf"(?<=\d)(\s?{_UNITS})\.\s+(?=[A-Z])")
# Where ``_UNIT_END`` might match: a number, a unit and a period, whatever follows. Such
# stretches cannot overlap (only their first character is a digit, only their last a period),
# so one scan of the text finds every sentence worth the exact per-sentence check.
_UNIT_PERIOD = re.compile(rf"\d\s?{_UNITS}\.")
# ``_UNIT_PERIOD`` read backwards: a period, a unit spelt backwards, a space or not, a digit. Led by
# a literal period, so the regex engine jumps from period to period of the reversed text
# instead of trying the pattern at every digit.
_UNIT_PERIOD_REVERSED = re.compile(rf"\.(?:{'|'.join(n[::-1] for n in _UNIT_NAMES)})\s?\d")


@lru_cache(maxsize=1)
def _tokenizer() -> PunktSentenceTokenizer:
    # Imported here so that importing labserve.models stays cheap; the model is cached.
    import nupunkt

    return nupunkt.load("default")


def _tail_abbreviation(sentence: str) -> str | None:
    """The lower-cased word before the final period, or None if the sentence ends otherwise."""
    if not sentence.endswith("."):
        return None
    # The last token, read from the end: a regex search for it tries every position of the
    # sentence. Only its last characters matter (abbreviations are short), so a token longer
    # than the tail read is kept as a long (never abbreviation) string all the same.
    token = sentence[-_TAIL_CHARS:].rsplit(None, 1)[-1]
    if len(token) < 2:
        return None
    return token[:-1].lstrip("([\"'").lower()


def _should_join(previous: str, following: str, *, cased: bool) -> bool:
    """True when Punkt broke ``previous`` after an abbreviation that does not end it."""
    abbreviation = _tail_abbreviation(previous)
    if abbreviation is None:
        return False
    if abbreviation in NEVER_FINAL:
        return True
    if abbreviation in NUMBERED and _NUMBERISH_START.match(following):
        return True
    # In a text that capitalises its sentences, a sentence does not start with a plain
    # lower-case word (gene and protein names such as p53, mTOR or miR-21 do start them). In
    # an all-lower-case text (some corpora are shipped that way) that is no evidence at all.
    return cased and _PLAIN_LOWER_WORD.match(following) is not None


def capitalises_sentences(text: str, spans: list[Span]) -> bool:
    """Whether most sentences that start with a letter start with a capital one."""
    letters = list(filter(str.isalpha, [text[start] for start, _ in spans]))
    return sum(map(str.isupper, letters)) * 2 >= len(letters)


def _join_fragments(text: str, spans: list[Span]) -> list[Span]:
    cased = capitalises_sentences(text, spans)
    joined: list[Span] = []
    for start, end in spans:
        if joined:
            previous_start, previous_end = joined[-1]
            same_paragraph = "\n\n" not in text[previous_end:start]
            if same_paragraph and _should_join(
                text[previous_start:previous_end], text[start:end], cased=cased
            ):
                joined[-1] = (previous_start, end)
                continue
        joined.append((start, end))
    return joined


def _tight(text: str, start: int, end: int) -> Span | None:
    """``start:end`` without surrounding whitespace; None if nothing is left."""
    if start < end and not text[start].isspace() and not text[end - 1].isspace():
        return start, end  # tight already (most sentences): no copies of it needed
    piece = text[start:end]
    stripped = piece.lstrip()
    if not stripped.strip():
        return None
    start += len(piece) - len(stripped)
    return start, start + len(stripped.rstrip())


def _split_after_units(text: str, start: int, end: int) -> list[Span]:
    if text.find(".", start, end - 2) < 0:  # no period with room for a sentence after it
        return [(start, end)]
    pieces: list[Span] = []
    begin = start
    for match in _UNIT_END.finditer(text, start, end):
        stop = match.end(1) + 1  # keep the period with the sentence it ends
        pieces.append((begin, stop))
        begin = match.end()
    pieces.append((begin, end))
    return [tight for piece in pieces if (tight := _tight(text, *piece)) is not None]


def _plain_spans(text: str) -> list[Span]:
    """Sentences ending at ``.``, ``!`` or ``?`` before whitespace, or at blank lines."""
    spans: list[Span] = []
    start = 0
    for match in _PLAIN_BREAK.finditer(text):
        end = match.start(1) if match.group(1) is not None else match.start()
        if (tight := _tight(text, start, end)) is not None:
            spans.append(tight)
        start = match.end()
    if (tight := _tight(text, start, len(text))) is not None:
        spans.append(tight)
    return spans


def _punkt_spans(text: str) -> list[Span]:
    """Punkt's tight sentence spans, blank lines ending sentences.

    The same spans as ``_tokenizer().spans(text, paragraph_breaks=True)``, built from the two
    steps behind it (nupunkt's layout blocks, then Punkt within each block) without the
    generator layers and per-sentence string copies between them, which cost a sixth of the
    splitting time of a short text. A block of plain prose is read by ``punkt_scan`` (the same
    spans, half the time); any other block by nupunkt itself.
    """
    from nupunkt.layout import iter_blocks

    tokenizer = _tokenizer()
    spans: list[Span] = []
    for block_start, block_end in iter_blocks(text, paragraph_breaks=True, line_breaks=False):
        block = text[block_start:block_end]
        pieces = punkt_scan.span_tokenize(tokenizer, block)
        for start, end in tokenizer.span_tokenize(block) if pieces is None else pieces:
            if (tight := _tight(text, block_start + start, block_start + end)) is not None:
                spans.append(tight)
    return spans


def sentence_spans(text: str) -> list[Span]:
    """Where each sentence of ``text`` starts and ends, in document order.

    Blank lines (paragraph breaks) always end a sentence, so headings and list items set off
    by blank lines become their own sentences. Spans are tight (no surrounding whitespace),
    do not overlap, and may contain single line breaks of hard-wrapped text.

    Punkt costs tens of microseconds per period. A text with more than ``MAX_PUNKT_ENDS``
    periods, question and exclamation marks (a million-character paper has about 15,000; only
    machine-made text has more) is split by the plain rule instead: after ``.``, ``!`` or
    ``?`` followed by whitespace, and at blank lines. That bounds the cost of any input.

    Args:
        text: Any text; cleaning it first (``labserve.models.summarizer.cleaning``) helps.

    Returns:
        Half-open ``(start, end)`` character offsets into ``text``.
    """
    if not text.strip():
        return []
    if sum(map(text.count, ".!?")) > MAX_PUNKT_ENDS:
        return _plain_spans(text)
    raw = _punkt_spans(text)
    joined = _join_fragments(text, raw)
    periods = unit_periods(text)
    if not periods:
        return joined
    suspects = set(sentence_index(joined, periods).tolist())
    spans: list[Span] = []
    for index, (start, end) in enumerate(joined):
        if index in suspects:
            spans.extend(_split_after_units(text, start, end))
        else:
            spans.append((start, end))
    return spans


def unit_periods(text: str) -> list[int]:
    """Where the period of each match of ``_UNIT_PERIOD`` is, in order.

    Found in the reversed text, where the pattern starts with its period: the matches cannot
    overlap, so those of the reversed pattern are the same stretches, read backwards.
    """
    last = len(text) - 1
    return [last - match.start() for match in _UNIT_PERIOD_REVERSED.finditer(text[::-1])][::-1]


def span_bounds(spans: Sequence[Span]) -> npt.NDArray[np.int64]:
    """``[start0, end0, start1, end1, ...]`` of ``spans`` as one array.

    ``np.asarray(spans)`` reads a list of tuples element by element through the generic
    sequence protocol, which cost a third of the arithmetic done on a summary's few dozen spans.
    """
    return np.fromiter(chain.from_iterable(spans), dtype=np.int64, count=2 * len(spans))


def span_starts(spans: Sequence[Span]) -> npt.NDArray[np.int64]:
    """Where each span starts, as one array (a search needs them contiguous, unlike a slice
    of ``span_bounds``)."""
    return np.fromiter((start for start, _ in spans), dtype=np.int64, count=len(spans))


def sentence_index(spans: Sequence[Span], positions: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """Index of the span each character position falls in (the one starting at or before it).

    Lets whole-text passes (one regex over the text) be tallied per sentence in linear time.
    """
    starts = span_starts(spans)
    found = np.searchsorted(starts, np.asarray(positions, dtype=np.int64), side="right") - 1
    return np.maximum(found, 0)


def sentence_text(text: str, span: Span) -> str:
    """The sentence at ``span`` on one line: inner whitespace collapsed to single spaces."""
    return " ".join(text[span[0] : span[1]].split())


def split_sentences(text: str) -> list[str]:
    """Split text into sentences, in document order.

    Blank lines (paragraph breaks) always end a sentence, so headings and list items set off
    by blank lines become their own sentences. Whitespace inside a sentence, including single
    line breaks of hard-wrapped text, is collapsed to one space, so every sentence is one line.

    Args:
        text: Any text; cleaning it first (``labserve.models.summarizer.cleaning``) helps.

    Returns:
        The non-empty sentences, stripped; joining them with spaces gives back the words of
        ``text`` in order.
    """
    return [sentence_text(text, span) for span in sentence_spans(text)]
