"""Shortened versions of sentences: lead-ins and side clauses dropped, spans exact."""

from __future__ import annotations

import pytest

from labserve.models.summarizer.budget import ELLIPSIS
from labserve.models.summarizer.compression import LONGEST_SHORTENED, shortenings
from labserve.models.summarizer.extractive import extract
from labserve.models.summarizer.spans import summarize_with_sources


def versions(sentence: str, *, cased: bool) -> list[tuple[str, bool]]:
    return [
        (sentence[start:end], dropped)
        for (start, end), dropped in shortenings(sentence, (0, len(sentence)), cased=cased)
    ]


def test_a_connective_is_dropped_in_lower_cased_text() -> None:
    sentence = "however, the mutant strain grew twice as fast as the wild type at 37 degrees."
    assert ("the mutant strain grew twice as fast as the wild type at 37 degrees.", False) in (
        versions(sentence, cased=False)
    )


def test_an_introductory_phrase_is_dropped() -> None:
    sentence = "in this study, we mapped the binding sites of the repressor across the genome."
    assert ("we mapped the binding sites of the repressor across the genome.", False) in versions(
        sentence, cased=False
    )


@pytest.mark.parametrize(
    ("lower", "upper", "kept"),
    [
        (
            "However, the mutant strain grew twice as fast as the wild type at 37 degrees.",
            "However, IL-6 secretion rose twofold after cisplatin in all eleven cell lines.",
            "IL-6 secretion rose twofold after cisplatin in all eleven cell lines.",
        ),
        (
            "We found that the repressor limits growth of the mutant strain in rich medium.",
            "We found that IL-6 secretion rose twofold after cisplatin in all eleven lines.",
            "IL-6 secretion rose twofold after cisplatin in all eleven lines.",
        ),
    ],
    ids=["lead-in", "reporting frame"],
)
def test_an_opening_is_kept_where_dropping_it_would_leave_a_lower_case_start(
    lower: str, upper: str, kept: str
) -> None:
    assert all(not text.startswith("the") for text, _ in versions(lower, cased=True))
    assert (kept, False) in versions(upper, cased=True)


def test_a_comma_inside_a_list_is_not_the_end_of_a_lead_in() -> None:
    """Dropping "in the present study a combination of metabolomics," would say that only
    transcriptomics and histology were used: the meaning would change."""
    sentence = (
        "in the present study a combination of metabolomics, transcriptomics and histology "
        "were used to describe the response of the liver to the diet."
    )
    assert all(
        text.startswith("in the present study") for text, _ in versions(sentence, cased=False)
    )


@pytest.mark.parametrize(
    "frame",
    [
        "we found that ",
        "our results indicate that ",
        "these data strongly suggest that ",
        "we have shown here that ",
        "here, we show that ",
        "this study reveals that ",
    ],
)
def test_a_reporting_frame_is_dropped_to_leave_the_finding(frame: str) -> None:
    finding = "the repressor limits growth of the mutant strain in rich medium."
    assert (finding, False) in versions(frame + finding, cased=False)


@pytest.mark.parametrize(
    "sentence",
    [
        # "that" opens a relative clause here: what follows is no sentence.
        "we identified twelve genes that were induced by heat in both species.",
        "our results include a list of mutants that grow slowly in rich medium.",
        "we used the strain that was isolated from the soil in the previous year.",
        # A verb that merely starts like a reporting one ("impl-ies") does not report.
        "we implemented that model in the simulation of every strain grown in medium.",
    ],
)
def test_a_that_after_a_non_reporting_verb_is_never_a_frame(sentence: str) -> None:
    starts = {text.split()[0] for text, _ in versions(sentence, cased=False)}
    assert starts <= {sentence.split()[0]}


def test_side_clauses_are_dropped_at_their_start() -> None:
    sentence = (
        "the mutant strain grew twice as fast as the wild type, which suggests that the "
        "repressor limits growth; this was confirmed in rich medium."
    )
    found = versions(sentence, cased=False)
    assert ("the mutant strain grew twice as fast as the wild type", True) in found
    assert (
        "the mutant strain grew twice as fast as the wild type, which suggests that the "
        "repressor limits growth",
        True,
    ) in found


def test_too_short_and_too_long_sentences_are_not_shortened() -> None:
    assert versions("however, it grew; fast.", cased=False) == []
    long = "however, " + " ".join(["the strain grew"] * LONGEST_SHORTENED) + ", which is odd."
    assert versions(long, cased=False) == []


TEXT = (
    "the repressor controls growth of yeast strains in rich medium. "
    "mutant strains lacking the repressor were grown in rich medium. "
    "growth of the mutant strains was measured against the wild type strains. "
    "the wild type strains grew slowly in rich medium.\n\n"
    "however, the repressor mutant strains grew twice as fast as the wild type strains in "
    "rich medium, which nobody had anticipated from earlier reports by other laboratories "
    "working on related fungi during the last decade.\n\n"
    "the repressor therefore limits growth of yeast strains in rich medium. "
    "fast growth of mutant strains needs rich medium. "
    "the repressor and growth were studied in two strains."
)


def test_a_shortened_sentence_is_printed_with_an_ellipsis_and_an_exact_span() -> None:
    pieces = extract(TEXT, 25, 10)
    shortened = [piece for piece in pieces if "repressor" in piece.text]
    assert shortened, pieces
    (piece,) = shortened
    assert TEXT[piece.start : piece.end].endswith(
        "the repressor mutant strains grew twice as fast as the wild type strains in rich medium"
    )
    assert piece.text == TEXT[piece.start : piece.end] + ELLIPSIS


def test_sources_of_a_shortened_sentence_point_at_the_part_kept() -> None:
    messy = TEXT.replace("the repressor mutant", "the  repressor\tmutant")
    traced = summarize_with_sources(messy, 25, 10)
    (source,) = [source for source in traced.sources if "repressor" in source.text]
    assert messy[source.start : source.end] == source.text
    assert "the  repressor\tmutant" in source.text
    assert source.text.endswith("in rich medium")
    assert f"{' '.join(source.text.split())}{ELLIPSIS}" in traced.summary
