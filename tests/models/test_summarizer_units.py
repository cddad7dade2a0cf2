"""The summarizer's parts on their own: splitting scientific text, cleaning, length rules."""

from __future__ import annotations

import pytest

from labserve.models.summarizer.cleaning import clean_text
from labserve.models.summarizer.extractive import ELLIPSIS, summarize_extractive
from labserve.models.summarizer.sentences import split_sentences


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Dr. Smith measured it. The result was clear.",
            ["Dr. Smith measured it.", "The result was clear."],
        ),
        (
            "Cells were treated with 3.5 mg/mL cisplatin. Viability fell by 35%.",
            ["Cells were treated with 3.5 mg/mL cisplatin.", "Viability fell by 35%."],
        ),
        (
            "Jones et al. reported p53 loss in BRCA1 carriers [12]. IL-6 rose too.",
            ["Jones et al. reported p53 loss in BRCA1 carriers [12].", "IL-6 rose too."],
        ),
        (
            "Several markers, e.g. IL-6 and TNF, i.e. cytokines, were measured (Fig. 2). "
            "Treated vs. control groups differed.",
            [
                "Several markers, e.g. IL-6 and TNF, i.e. cytokines, were measured (Fig. 2).",
                "Treated vs. control groups differed.",
            ],
        ),
        ("No final period here", ["No final period here"]),
    ],
)
def test_sentences_survive_scientific_text(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_empty_text_has_no_sentences() -> None:
    assert split_sentences("   \n ") == []


def test_cleaning_keeps_digits_unless_asked() -> None:
    raw = "p53\x00 rose\tby  3.5\u00a0mg/mL in 2019.\r\n"
    kept = clean_text(raw)
    assert "p53" in kept
    assert "3.5" in kept
    assert "\x00" not in kept
    assert "  " not in kept
    stripped = clean_text(raw, strip_digits=True)
    assert not any(ch.isdigit() for ch in stripped)


TEXT = " ".join(
    [
        "Aspirin lowered the risk of colorectal cancer in the cohort.",
        "The cohort included 4,000 adults followed for 10 years.",
        "Aspirin also lowered the risk of cardiovascular events in the cohort.",
        "Bleeding was the main adverse event of aspirin.",
        "The authors recommend aspirin for adults at high risk of colorectal cancer.",
        "Funding came from a public grant.",
    ]
)


@pytest.mark.parametrize(("maxlen", "minlen"), [(12, 1), (20, 10), (30, 15), (40, 30), (60, 30)])
def test_word_limits_hold_and_sentences_stay_verbatim_in_order(maxlen: int, minlen: int) -> None:
    summary = summarize_extractive(TEXT, maxlen, minlen)
    words = len(summary.split())
    assert words <= maxlen
    assert words >= min(minlen, 1)
    chosen = split_sentences(summary)
    positions = [TEXT.index(sentence) for sentence in chosen]  # verbatim sentences of the input
    assert positions == sorted(positions)  # document order


def test_a_text_that_fits_comes_back_whole() -> None:
    short = "Short note. It has two sentences only."
    assert summarize_extractive(short, 25, 5) == short


def test_a_sentence_longer_than_maxlen_is_cut_with_an_ellipsis() -> None:
    long = " ".join(f"word{i}" for i in range(50)) + "."
    summary = summarize_extractive(long, 10, 5)
    assert summary.endswith(ELLIPSIS)
    assert len(summary.split()) == 10


def test_the_central_sentence_is_chosen() -> None:
    summary = summarize_extractive(TEXT, 14, 5)
    assert "aspirin" in summary.lower()
    assert "Funding" not in summary


def test_deterministic() -> None:
    assert summarize_extractive(TEXT, 30, 15) == summarize_extractive(TEXT, 30, 15)


@pytest.mark.parametrize(("maxlen", "minlen"), [(0, 0), (10, 20), (5, 0)])
def test_bad_limits_are_refused(maxlen: int, minlen: int) -> None:
    with pytest.raises(ValueError, match="minlen"):
        summarize_extractive(TEXT, maxlen, minlen)


HEADED = (
    "Background\n\n"
    + "IL-6 predicts death in adults with sepsis at admission. " * 3
    + "\n\nMethods\n\nWe enrolled two hundred adults with sepsis.\n\n"
    + "Results\n\nMortality fell by nine points in the treated group.\n\nDiscussion"
)


@pytest.mark.parametrize("budget", [2, 3, 4, 6])
def test_a_tight_budget_never_gives_only_headings(budget: int) -> None:
    summary = summarize_extractive(HEADED, budget, budget)
    assert summary.endswith(ELLIPSIS)
    assert len(summary.split()) == budget
    assert "Background" not in summary


def test_a_text_of_only_short_lines_still_gets_a_summary() -> None:
    assert summarize_extractive("Background. Methods. Results.", 2, 1) != ""
