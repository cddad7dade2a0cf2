"""How long a summary is: words, with overlong tokens counted by their length.

A word is a run of non-whitespace characters, as users count them. A token far longer than
any English word (a DNA sequence, a run of a million digits, a URL) would let a one-"word"
summary be arbitrarily long, so each started ``LONGEST_WORD`` characters of a token count as
one word of the budget. A summary of at most ``maxlen`` budget words therefore has at most
``maxlen`` words and at most about ``LONGEST_WORD * maxlen`` characters of tokens.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from labserve.models.summarizer.sentences import Span, sentence_index, span_bounds

#: Characters of one token that count as one word of the budget.
LONGEST_WORD = 30
ELLIPSIS = "…"

_TOKEN = re.compile(r"\S+")
#: The highest code point that Python (``str.isspace``, regex ``\s``) counts as whitespace.
_LAST_SPACE = 0x3000
#: Whether each code point up to one past ``_LAST_SPACE`` is whitespace (that last: no).
_IS_SPACE = np.asarray([chr(c).isspace() for c in range(_LAST_SPACE + 2)], dtype=bool)
#: ``bytes.translate`` table of ASCII characters to 1 (non-whitespace) or 0 (whitespace).
_ASCII_SOLID = bytes(int(not _IS_SPACE[c]) for c in range(128)) + bytes(128)


def token_units(length: int) -> int:
    """Budget words of a token of ``length`` characters."""
    return max(1, -(-length // LONGEST_WORD))


def span_units(text: str, span: Span) -> int:
    """Budget words of ``text[span]``."""
    tokens = text[span[0] : span[1]].split()
    if span[1] - span[0] <= LONGEST_WORD or max(map(len, tokens), default=0) <= LONGEST_WORD:
        return len(tokens)
    return sum(token_units(len(token)) for token in tokens)


#: ``token_bounds`` of a text: start and end offsets of its tokens.
Tokens = tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]


def piece_units(text: str, pieces: Sequence[Span], tokens: Tokens | None = None) -> list[int]:
    """``[span_units(text, piece) for piece in pieces]``, from one pass over the text.

    A stretch of at most ``LONGEST_WORD``-character tokens costs one budget word per token
    it touches (a token cut by the stretch's edge still counts once); those are counted with
    two binary searches per stretch. A stretch touching a longer token is measured by
    ``span_units`` itself. ``tokens`` is ``token_bounds(text)`` when the caller has it.
    """
    if not pieces:
        return []
    starts, ends = token_bounds(text) if tokens is None else tokens
    bounds = span_bounds(pieces)
    first = np.searchsorted(ends, bounds[0::2], side="right")  # first token ending inside
    stop = np.searchsorted(starts, bounds[1::2], side="left")  # tokens starting before end
    counts: list[int] = np.maximum(stop - first, 0).tolist()
    overlong = ends - starts > LONGEST_WORD
    if not overlong.any():  # most texts: every stretch costs a word per token
        return counts
    long_tokens = np.concatenate(([0], np.cumsum(overlong)))
    touches_long = (long_tokens[np.maximum(stop, first)] - long_tokens[first] > 0).tolist()
    return [
        span_units(text, piece) if long else count
        for piece, count, long in zip(pieces, counts, touches_long, strict=True)
    ]


def token_bounds(text: str) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Start and end offsets of every token (run of non-whitespace) of ``text``.

    The same tokens as ``re.finditer(r"\\S+", text)``, found with array operations on the
    code points: a regex match object per word made this a tenth of a short text's cost.
    """
    if text.isascii():  # one byte per character: a byte translation classifies them
        padded = b" " + text.encode("ascii") + b" "
        solid = np.frombuffer(padded.translate(_ASCII_SOLID), dtype=np.int8)
    else:
        codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
        solid = np.zeros(len(codes) + 2, dtype=np.int8)
        solid[1:-1] = ~_IS_SPACE[np.minimum(codes, _LAST_SPACE + 1)]
    # Edges alternate, a token's start (+1) then its end (-1): one scan finds both.
    edges = np.diff(solid).nonzero()[0].astype(np.int64, copy=False)
    return edges[0::2], edges[1::2]


def sentence_sizes(
    text: str, spans: Sequence[Span], tokens: Tokens | None = None
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Words and budget words of every sentence, from one pass over the text (``tokens``:
    ``token_bounds(text)`` when the caller has it)."""
    if not spans:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty
    starts, ends = token_bounds(text) if tokens is None else tokens
    owner = sentence_index(spans, starts)
    words = np.bincount(owner, minlength=len(spans)).astype(np.int64, copy=False)
    lengths = ends - starts
    if not (lengths > LONGEST_WORD).any():  # most texts: a budget word per word
        return words, words.copy()
    costs = np.maximum(1, -(-lengths // LONGEST_WORD))
    units = np.bincount(owner, weights=costs, minlength=len(spans)).astype(np.int64)
    return words, units


def cut_span(text: str, span: Span, units: int) -> Span:
    """The leading part of ``span`` worth at most ``units`` budget words (at least one).

    Cuts between tokens where possible, inside an overlong token otherwise; a comma, colon or
    semicolon left dangling at the cut is dropped.
    """
    start, end = span
    stop = start
    left = max(units, 1)
    for match in _TOKEN.finditer(text, start, end):
        cost = token_units(match.end() - match.start())
        if cost <= left:
            stop, left = match.end(), left - cost
            continue
        if left > 0:  # an overlong token: keep as much of it as the budget allows
            stop = match.start() + left * LONGEST_WORD
        break
    while stop - 1 > start and (text[stop - 1] in ",;:" or text[stop - 1].isspace()):
        stop -= 1
    return start, stop


def cut_text(text: str, span: Span) -> str:
    """A cut sentence as printed: on one line, ending in the ellipsis."""
    return " ".join(text[span[0] : span[1]].split()) + ELLIPSIS
