"""Punkt's sentence spans for plain prose, with one regex scan instead of a loop per period.

nupunkt decides each possible sentence end from its context (the whitespace-free chunk that
holds the end character, and the chunk after it), memoised per context. Finding those
contexts costs it a few microseconds of Python per period, a fifth of a short text's summary.
In prose whose only end character is the period, the contexts are simply "each chunk, up to its
last period that a non-word character follows, and the chunk after": one regex finds them all.

``span_tokenize`` gives the same spans as ``PunktSentenceTokenizer.span_tokenize`` and uses the
tokenizer's own decisions, enumerator rule and boundary realignment (private parts of nupunkt,
so its version is pinned below the next minor one). Text the shortcut does not
cover returns None, and the caller asks nupunkt: ``?``, ``!`` or ``…`` anywhere, a spaced
ellipsis (``. . .``), leading whitespace, or a chunk whose first character is already a
possible end before another one (nupunkt reports both of those, the scan only the last).
The tests compare both ways on prose and on random mixes of punctuation and abbreviations.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from nupunkt import PunktSentenceTokenizer

    from labserve.models.summarizer.sentences import Span

_SPACED_ELLIPSIS = re.compile(r"\.\s+\.")
#: Whitespace other than space and newline (every character whose ``isspace()`` is true; a
#: test checks the list): chunks are found by looking back for a space or a newline only.
_OTHER_SPACES = (
    "\t\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)
_LEADING_SPACE = re.compile(r"\s*")
#: A match's ``regs``: the (start, end) of the whole match and of each group.
Regions = tuple[tuple[int, int], ...]
#: Characters before a period within which a line start may make it a list enumerator (how far
#: back nupunkt's ``_is_line_start_enumerator`` looks; a literal there).
_ENUMERATOR_REACH = 12
#: The tokenizer's parts the scan calls.
_REUSED = (
    "_lang_vars",
    "_CLOSING_CHARS",
    "_uses_decision_engine",
    "_decision_state",
    "_is_line_start_enumerator",
    "_realign_boundaries",
)


class _Grammar(NamedTuple):
    """What the scan needs of the tokenizer's language, read from the tokenizer (not copied)."""

    #: A possible end (a period before a character that cannot start a word), then the closing
    #: characters glued to it and the next whitespace-free chunk (in lookaheads, so that a
    #: period in that chunk is found too). Led by a literal period, so the regex engine jumps
    #: from period to period.
    end: re.Pattern[str]
    closing: frozenset[str]
    #: End characters other than the period: nupunkt's extra rules for them are not reproduced.
    other_ends: tuple[str, ...]


@lru_cache(maxsize=4)
def _grammar(tokenizer: PunktSentenceTokenizer) -> _Grammar:
    """The tokenizer's ``_Grammar``, made once per tokenizer."""
    language = tokenizer._lang_vars
    closing = frozenset(tokenizer._CLOSING_CHARS)
    tail = re.escape("".join(sorted(closing)))
    end = re.compile(rf"\.(?={language._re_non_word_chars})(?=([{tail}]*)(\s*\S*))")
    # The ellipsis character is a literal of nupunkt's candidate pattern, not a language part.
    return _Grammar(end, closing, (*sorted(language.sent_end_chars - {"."}), "\u2026"))


def _covered(text: str, other_ends: tuple[str, ...]) -> bool:
    """Whether the scan gives nupunkt's spans for ``text`` (see the module docstring)."""
    return not (
        text[:1].isspace()
        or any(end in text for end in other_ends)
        or any(space in text for space in _OTHER_SPACES)
        or _SPACED_ELLIPSIS.search(text) is not None
    )


def _supported(tokenizer: PunktSentenceTokenizer) -> bool:
    """Whether ``tokenizer`` has the parts the scan reuses and decides per context string (a
    customised tokenizer may decide per token; another nupunkt may name its parts otherwise)."""
    return all(hasattr(tokenizer, name) for name in _REUSED) and tokenizer._uses_decision_engine()


def span_tokenize(tokenizer: PunktSentenceTokenizer, text: str) -> list[Span] | None:
    """``tokenizer.span_tokenize(text)`` as a list, or None where the scan does not apply."""
    if not _supported(tokenizer):
        return None
    grammar = _grammar(tokenizer)
    if not _covered(text, grammar.other_ends):
        return None
    lines = "\n" in text
    chunk_ends = _chunk_ends(grammar.end, text, text.replace("\n", " ") if lines else text)
    if chunk_ends is None:
        return None
    _, _, memo, decide = tokenizer._decision_state()
    known = memo.get
    ends: list[int] = []
    for chunk_start, ((end, _), (_, split), (_, stop)) in chunk_ends:
        if (
            end <= _ENUMERATOR_REACH
            or (lines and text.find("\n", end - _ENUMERATOR_REACH, end) >= 0)
        ) and tokenizer._is_line_start_enumerator(text, end):
            continue  # "1." or "(a)." at a line's start
        if split > end + 1 and _lower_word_follows(text, split):
            continue  # closing characters, then a lower-case word on the line: no end
        context = (text[chunk_start:split], text[split:stop])
        if found if (found := known(context)) is not None else decide(context):
            ends.append(end + 1)
    return _spans(tokenizer, grammar.closing, text, ends)


def _chunk_ends(
    end_pattern: re.Pattern[str], text: str, flat: str
) -> list[tuple[int, Regions]] | None:
    """Per whitespace-free chunk with a possible end: its start, and the group regions of its
    last ``end_pattern`` match. None when a chunk's first character is an end and another
    follows (nupunkt reports both). ``flat`` is ``text`` with newlines as spaces."""
    found: list[tuple[int, Regions]] = []
    previous = 0
    for regions in [match.regs for match in end_pattern.finditer(text)]:
        period = regions[0][0]
        cut = flat.rfind(" ", previous, period)
        previous = period
        if cut < 0 and found:  # no space since the end before: the same chunk
            chunk_start, before = found[-1]
            if before[0][0] == chunk_start:
                return None
            found[-1] = (chunk_start, regions)
        else:
            found.append((cut + 1, regions))
    return found


def _lower_word_follows(text: str, position: int) -> bool:
    """Closing characters end at ``position``; a lower-case word on the line continues."""
    following = position
    while following < len(text) and text[following] in " \t":
        following += 1
    return following < len(text) and text[following].islower()


def _spans(
    tokenizer: PunktSentenceTokenizer, closing: frozenset[str], text: str, ends: list[int]
) -> list[Span]:
    """Sentences ending at ``ends``, each next one from its first non-space character."""
    skip_space = _LEADING_SPACE.match
    starts = [0]
    starts += [skip_space(text, end).end() for end in ends]  # type: ignore[union-attr]
    text_end = len(text.rstrip())
    spans = list(zip(starts, ends, strict=False))  # starts has one more: the last sentence's
    if starts[-1] < text_end:
        spans.append((starts[-1], text_end))
    if not closing.isdisjoint([text[start : start + 1] for start in starts[1:]]):
        slices = [slice(*span) for span in spans]
        return [(s.start, s.stop) for s in tokenizer._realign_boundaries(text, slices)]
    return spans
