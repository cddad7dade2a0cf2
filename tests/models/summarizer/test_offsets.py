"""Offset-tracking edits: every cleaned character knows where it came from."""

from __future__ import annotations

import re
import unicodedata

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labserve.models.summarizer.cleaning import clean_text, clean_text_mapped
from labserve.models.summarizer.offsets import MappedText


def test_identity_maps_each_character_to_itself() -> None:
    mapped = MappedText.identity("abc")
    assert mapped.source_span(0, 3) == (0, 3)
    assert mapped.source_span(1, 2) == (1, 2)


def test_substitution_maps_replacements_to_the_whole_match() -> None:
    mapped = MappedText.identity("a \t b  c").sub(re.compile(r"\s+"), " ")
    assert mapped.text == "a b c"
    assert mapped.source_span(1, 2) == (1, 4)  # the space stands for " \t "
    assert mapped.source_span(2, 5) == (4, 8)


def test_deletion_and_longer_replacement() -> None:
    text = "x\u2029y\u00adz"
    mapped = MappedText.identity(text).sub(re.compile("\u2029"), "\n\n")
    mapped = mapped.sub(re.compile("\u00ad"), "")
    assert mapped.text == "x\n\nyz"
    assert [mapped.source_span(i, i + 1) for i in range(5)] == [
        (0, 1),
        (1, 2),
        (1, 2),
        (2, 3),
        (4, 5),
    ]


def test_strip_keeps_the_offsets_of_what_remains() -> None:
    mapped = MappedText.identity("  ab \n").strip()
    assert mapped.text == "ab"
    assert mapped.source_span(0, 2) == (2, 4)


def test_nfc_composition_maps_to_the_decomposed_run() -> None:
    text = "caf" + unicodedata.normalize("NFD", "é") + " ok"
    mapped = MappedText.identity(text).normalize_nfc()
    assert mapped.text == "café ok"
    assert mapped.source_span(0, 4) == (0, 5)
    assert mapped.source_span(5, 7) == (6, 8)


@pytest.mark.parametrize(("start", "end"), [(0, 0), (2, 1), (-1, 2), (0, 99)])
def test_bad_spans_are_refused(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="span"):
        MappedText.identity("abc").source_span(start, end)


CHARACTERS = list(
    "ab. 1\n\t\r\x00\x07\x1c\x1f\u00a0\u200b\u00ad\u2028\u2029\x85e\u0301\u1100\u1161é"
)


@settings(max_examples=400, deadline=None)
@given(st.text(alphabet=st.sampled_from(CHARACTERS), max_size=50), st.booleans())
def test_mapped_cleaning_equals_cleaning_and_maps_monotonically(
    text: str, strip_digits: bool
) -> None:
    mapped = clean_text_mapped(text, strip_digits=strip_digits)
    assert mapped.text == clean_text(text, strip_digits=strip_digits)
    assert len(mapped.starts) == len(mapped.ends) == len(mapped.text)
    for index in range(len(mapped.text)):
        assert 0 <= mapped.starts[index] < mapped.ends[index] <= len(text)
        if index:
            assert mapped.starts[index] >= mapped.starts[index - 1]
            assert mapped.ends[index] >= mapped.ends[index - 1]
