"""The one-scan Punkt spans are nupunkt's own, wherever the scan applies."""

from __future__ import annotations

import random
import sys
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labserve.models.summarizer import punkt_scan
from labserve.models.summarizer.sentences import _tokenizer

PIECES = [
    *"abcAB1 .,;:)(\"'\n*[]}{@\u2019\u201d\u00bb",
    "e.g.",
    "Fig.",
    "al.",
    "U.S.",
    "1.",
    "(a).",
    "No.",
    "Dr.",
    "The",
    "cells",
    "2).",
    ".)",
    "'.",
    "vs.",
    "\n\n",
]

PROSE = [
    "Cells were treated. The dose was 3.5 mg/mL. Results are in Fig. 2. We saw no change.",
    "As shown by Smith et al. [12], the effect is robust. Another study (e.g. Jones) agrees.",
    'He said "stop." Then he left. The word "ends." follows. It was late.',
    "The value fell (see Fig. 3). it then rose. Levels were stable.) Next we measured.",
    "Methods\n1. Cells were grown. 2. They were counted.\nResults follow. IL-6 rose.",
    "a. first item\nb. second item. Then prose. iv. Roman.",
    "Dr. Smith and Mr. Brown met. They talked. The U.S. FDA agreed. vs. Control.",
]


def same_as_nupunkt(text: str) -> bool:
    """True if the scan applies to ``text``; fails the test if it gives other spans."""
    tokenizer = _tokenizer()
    spans = punkt_scan.span_tokenize(tokenizer, text)
    if spans is None:
        return False
    assert spans == list(tokenizer.span_tokenize(text)), text
    return True


@pytest.mark.parametrize("text", PROSE)
def test_prose_gets_nupunkts_spans_from_the_scan(text: str) -> None:
    assert same_as_nupunkt(text)


def test_random_punctuation_gets_nupunkts_spans_or_is_left_to_nupunkt() -> None:
    rng = random.Random(7)
    applied = sum(
        same_as_nupunkt("".join(rng.choice(PIECES) for _ in range(rng.randint(1, 60))))
        for _ in range(3_000)
    )
    assert applied > 2_000  # the scan is not just declining everything


@settings(derandomize=True, max_examples=300)
@given(st.lists(st.sampled_from(PIECES), max_size=80).map("".join))
def test_any_mix_of_the_hard_pieces_gets_nupunkts_spans(text: str) -> None:
    same_as_nupunkt(text)


@pytest.mark.parametrize(
    "text",
    [
        "Is it? Yes.",  # other end characters have rules of their own
        "Wait! Now.",
        "So\u2026 we go.",
        "It ended . . . and then. More.",  # a spaced ellipsis
        " Leading space. Here.",
        "A chunk .). Two ends in it. More.",  # an end at a chunk's first character, then another
        "Tab\tseparated. Words. Here.",
        "No\u00a0break. Space. Here.",
    ],
)
def test_text_the_scan_does_not_cover_is_left_to_nupunkt(text: str) -> None:
    assert punkt_scan.span_tokenize(_tokenizer(), text) is None


def test_other_spaces_are_every_whitespace_but_space_and_newline() -> None:
    every = {chr(code) for code in range(sys.maxunicode + 1) if chr(code).isspace()}
    assert set(punkt_scan._OTHER_SPACES) == every - {" ", "\n"}


def test_a_tokenizer_that_decides_otherwise_or_lacks_the_parts_is_left_to_nupunkt() -> None:
    tokenizer = _tokenizer()

    class Customised(type(tokenizer)):  # type: ignore[misc]
        def _annotate_second_pass(self, tokens):  # type: ignore[no-untyped-def]
            return super()._annotate_second_pass(tokens)

    customised = Customised.__new__(Customised)
    customised.__dict__.update(tokenizer.__dict__)
    customised.__dict__.pop("_decision_memo", None)
    assert punkt_scan.span_tokenize(tokenizer, PROSE[0]) is not None
    assert punkt_scan.span_tokenize(customised, PROSE[0]) is None
    assert punkt_scan.span_tokenize(SimpleNamespace(), PROSE[0]) is None  # type: ignore[arg-type]
