"""Document structure (headings, sections) and rhetorical cues."""

from __future__ import annotations

import pytest

from labserve.models.summarizer.cues import CONTRIBUTION, DETAIL, FINDING, mentions
from labserve.models.summarizer.sentences import sentence_spans
from labserve.models.summarizer.structure import analyse_layout

PAPER = """Background

Tumours resist cisplatin when p53 is lost. Restoring p53 may help.

Methods

Cells were incubated with cisplatin for two days.

Conclusions

Restoring p53 restores apoptosis in ovarian tumour cells. Trials should test it.

Competing interests

The authors declare that they have no competing interests."""


def layout_of(text: str) -> tuple[list[str], object]:
    spans = sentence_spans(text)
    return [text[s:e] for s, e in spans], analyse_layout(text, spans)


def test_headings_sections_and_back_matter_are_recognised() -> None:
    sentences, layout = layout_of(PAPER)
    flags = {
        s: (bool(h), bool(b), bool(c))
        for s, h, b, c in zip(
            sentences, layout.heading, layout.back_matter, layout.summarising, strict=True
        )
    }
    assert flags["Background"] == (True, False, False)
    assert flags["Conclusions"] == (True, False, False)
    assert flags["Trials should test it."] == (False, False, True)
    assert flags["Cells were incubated with cisplatin for two days."] == (False, False, False)
    assert flags["The authors declare that they have no competing interests."][1]


def test_without_headings_the_last_paragraph_of_a_long_text_concludes() -> None:
    paragraphs = [f"Paragraph {i} says something about p53 and cells." for i in range(6)]
    sentences, layout = layout_of("\n\n".join(paragraphs))
    assert layout.summarising.tolist() == [False] * 5 + [True]
    assert layout.opening.tolist() == [True] + [False] * 5
    _, short = layout_of("\n\n".join(paragraphs[:3]))
    assert not short.summarising.any()


@pytest.mark.parametrize(
    ("pattern", "text", "expected"),
    [
        (CONTRIBUTION, "here we show that p53 restores apoptosis.", True),
        (CONTRIBUTION, "in this paper, we propose a new pruning method.", True),
        (CONTRIBUTION, "to solve it, we introduce modulated autoencoders.", True),
        (CONTRIBUTION, "cells were grown in medium.", False),
        (CONTRIBUTION, "we observed that p53 levels rose after 2 h.", False),  # one result
        (CONTRIBUTION, "we found that p53 restores apoptosis.", True),
        (CONTRIBUTION, "four results were excluded.", False),  # "our results" inside a word
        (FINDING, "taken together, these results suggest a role for p53.", True),
        (FINDING, "these results were obtained twice.", False),
        (DETAIL, "apoptosis rose (figure <dig>).", True),
        (DETAIL, "as shown in fig. 2, apoptosis rose.", True),
        (DETAIL, "presented in the table are the edges between clusters.", True),
        (DETAIL, "the tablet was taken daily.", False),
        (DETAIL, "samples were centrifuged at 4 °c.", True),
        (DETAIL, "vegetables 3 times a day.", False),
    ],
)
def test_cues(pattern: object, text: str, expected: bool) -> None:
    assert mentions(pattern, text) is expected  # type: ignore[arg-type]
