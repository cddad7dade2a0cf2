"""Cleaning tidies whitespace and invisible characters and keeps the content."""

from __future__ import annotations

import pytest

from labserve.models.summarizer.cleaning import clean_text, count_words


@pytest.mark.parametrize(
    ("raw", "cleaned"),
    [
        ("Cafe\u0301 au lait", "Caf\u00e9 au lait"),  # NFC: e + combining accent -> é
        ("one\r\ntwo\rthree", "one\ntwo\nthree"),
        ("tab\tand  many   spaces", "tab and many spaces"),
        ("no\u00a0break\u202fthin", "no break thin"),
        ("zero\u200bwidth soft\u00adhyphen \ufeffbom", "zerowidth softhyphen bom"),
        ("bell\x07 null\x00 escape\x1b", "bell null escape"),
        ("para one\n\n\n\n\npara two", "para one\n\npara two"),
        ("line one  \n   line two", "line one\nline two"),
        ("first\u2029second", "first\n\nsecond"),
        ("  \n padded text \n\n ", "padded text"),
    ],
)
def test_whitespace_and_control_characters_are_normalised(raw: str, cleaned: str) -> None:
    assert clean_text(raw) == cleaned


@pytest.mark.parametrize(
    "content", ["3.5 mg/mL", "p53", "IL-6", "BRCA1", "in 2019", "[12]", "42.7%"]
)
def test_digits_are_kept_by_default(content: str) -> None:
    assert clean_text(f"We saw {content} here.") == f"We saw {content} here."


def test_strip_digits_reproduces_the_old_behaviour() -> None:
    text = "p53 and IL-6 at 3.5 mg/mL in 2019 [12]."
    assert clean_text(text, strip_digits=True) == "p and IL- at . mg/mL in []."


def test_strip_digits_leaves_no_double_spaces() -> None:
    assert clean_text("Year 2019 was good", strip_digits=True) == "Year was good"


@pytest.mark.parametrize("raw", ["", "   ", "\n\t\r\n", "\u200b\x00\ufeff"])
def test_invisible_only_text_cleans_to_empty(raw: str) -> None:
    assert clean_text(raw) == ""


@pytest.mark.parametrize(
    ("text", "words"),
    [("", 0), ("one", 1), ("3.5 mg/mL of p53", 4), ("a\n\nb  c\td", 4)],
)
def test_count_words_counts_whitespace_separated_runs(text: str, words: int) -> None:
    assert count_words(text) == words
