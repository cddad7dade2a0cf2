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

Known limitation: ``the U.S. FDA`` is still split after ``U.S.``, because ``U.S.`` also ends
sentences and an acronym after it may start the next one.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nupunkt import PunktSentenceTokenizer

SPLITTER_NAME = "nupunkt"

#: Abbreviations (lower case, without the final period) after which a sentence never ends.
NEVER_FINAL: frozenset[str] = frozenset(
    {
        "approx",
        "ca",
        "cf",
        "chr",
        "dr",
        "e.g",
        "eq",
        "eqs",
        "fig",
        "figs",
        "i.e",
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

_LAST_WORD = re.compile(r"(\S+)\.$")
_NUMBERISH_START = re.compile(r"^[\[(]?\S*\d")
_WHITESPACE = re.compile(r"\s+")
_PLAIN_LOWER_WORD = re.compile(r"[a-z]+(?![\w-])")
# A number, a unit Punkt takes for an abbreviation, a period, then a capitalised word.
_UNIT_END = re.compile(
    r"(?<=\d)(\s?(?:h|hr|hrs|min|mins|s|sec|secs|d|wk|wks|mo|mos|yr|yrs|y))\.\s+(?=[A-Z])"
)


@lru_cache(maxsize=1)
def _tokenizer() -> PunktSentenceTokenizer:
    # Imported here so that importing labserve.models stays cheap; the model is cached.
    import nupunkt

    return nupunkt.load("default")


def _tail_abbreviation(sentence: str) -> str | None:
    """The lower-cased word before the final period, or None if the sentence ends otherwise."""
    match = _LAST_WORD.search(sentence)
    if match is None:
        return None
    return match.group(1).lstrip("([\"'").lower()


def _should_join(previous: str, following: str) -> bool:
    """True when Punkt broke ``previous`` after an abbreviation that does not end it."""
    abbreviation = _tail_abbreviation(previous)
    if abbreviation is None:
        return False
    if abbreviation in NEVER_FINAL:
        return True
    if abbreviation in NUMBERED and _NUMBERISH_START.match(following):
        return True
    # A sentence does not start with a plain lower-case word (Punkt rarely breaks there, but
    # make sure). Gene and protein names such as p53, mTOR or miR-21 do start sentences.
    return _PLAIN_LOWER_WORD.match(following) is not None


def _join_fragments(parts: list[str]) -> list[str]:
    joined: list[str] = []
    for part in parts:
        if joined and _should_join(joined[-1], part):
            joined[-1] = f"{joined[-1]} {part}"
        else:
            joined.append(part)
    return joined


def _split_after_units(sentence: str) -> list[str]:
    pieces: list[str] = []
    start = 0
    for match in _UNIT_END.finditer(sentence):
        end = match.end(1) + 1  # keep the period with the sentence it ends
        pieces.append(sentence[start:end].strip())
        start = match.end()
    pieces.append(sentence[start:].strip())
    return [piece for piece in pieces if piece]


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
    if not text.strip():
        return []
    raw = [
        _WHITESPACE.sub(" ", part).strip()
        for part in _tokenizer().texts(text, paragraph_breaks=True)
    ]
    sentences: list[str] = []
    for part in _join_fragments([part for part in raw if part]):
        sentences.extend(_split_after_units(part))
    return sentences
