"""Sentence splitting on the hard parts of scientific prose."""

from __future__ import annotations

import pytest

from labserve.models.summarizer.sentences import MAX_PUNKT_ENDS, sentence_spans, split_sentences


@pytest.mark.parametrize(
    "sentence",
    [
        "Dr. Smith treated the cells with cisplatin.",
        "Prof. Jones and Mr. Brown wrote the protocol.",
        "Tumour suppressors (e.g. p53, BRCA1) were mutated.",
        "The mechanism, i.e. apoptosis, is unclear.",
        "Some pathways, eg. purine metabolism, were enriched.",  # e.g. written without a period
        "The effect, ie. Apoptosis, was strong.",
        "As shown by Smith et al. [12], the effect is robust.",
        "See Fig. 2 and Figs. 3-4 for details.",
        "IL-6 levels rose in treated vs. control mice.",
        "Cells received 3.5 mg/mL of drug for 2.5 h at 37 °C.",
        "Viability fell by 42.7% (p = 0.003, n = 12).",
        "This was observed previously [3,4] and later [5].",
        "We used the protocol of Jones, cf. Table 3.",
        "The gene is located on chr. 17q21 in humans.",
        "Results are in Suppl. Fig. S1 of the paper.",
        "Approx. 50% of cells responded to 1.5 µM.",
        "Funding came from NIH grant no. R01-123.",
        "Values are mean ± s.d. of three experiments.",
        "Mice were 3 yr. old at the end.",
    ],
)
def test_abbreviations_decimals_and_citations_do_not_split(sentence: str) -> None:
    assert split_sentences(sentence) == [sentence]
    # ...and the sentence stays whole when another one follows it.
    assert split_sentences(f"{sentence} The next sentence starts here.") == [
        sentence,
        "The next sentence starts here.",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Viability fell after 24 h. The cells died.",
            ["Viability fell after 24 h.", "The cells died."],
        ),
        (
            "The mean age was 4.5 yr. Patients were mostly male.",
            ["The mean age was 4.5 yr.", "Patients were mostly male."],
        ),
        (
            "This was described by Jones et al. The results differ.",
            ["This was described by Jones et al.", "The results differ."],
        ),
        (
            "Restoring p53 restored apoptosis. p53 loss did not. mTOR was active. miR-21 fell.",
            [
                "Restoring p53 restored apoptosis.",
                "p53 loss did not.",
                "mTOR was active.",
                "miR-21 fell.",
            ],
        ),
        (
            'He said "Stop." Then he left. Was it over? Yes!',
            ['He said "Stop."', "Then he left.", "Was it over?", "Yes!"],
        ),
    ],
)
def test_real_sentence_ends_split(text: str, expected: list[str]) -> None:
    assert split_sentences(text) == expected


def test_blank_line_ends_a_heading_and_wrapped_lines_join() -> None:
    text = "Introduction\n\nThe cells were treated\nwith 3.5 mg/mL cisplatin. Next we\nwashed them."
    assert split_sentences(text) == [
        "Introduction",
        "The cells were treated with 3.5 mg/mL cisplatin.",
        "Next we washed them.",
    ]


@pytest.mark.parametrize("text", ["", "   ", "\n\n\t"])
def test_empty_text_has_no_sentences(text: str) -> None:
    assert split_sentences(text) == []


def test_every_word_is_kept_in_order() -> None:
    text = (
        "Dr. Smith et al. [12] showed that p53 loss raised IL-6 by 2.5-fold (Fig. 1). "
        "In BRCA1 carriers, i.e. 14% of the cohort, it did not. "
        "Doses were 3.5 mg/mL vs. 7 mg/mL.\n\nConclusion\n\nMore work is needed."
    )
    sentences = split_sentences(text)
    assert " ".join(sentences).split() == text.split()
    assert all(sentence == sentence.strip() and "\n" not in sentence for sentence in sentences)


def test_lower_cased_text_is_split_into_sentences_not_paragraphs() -> None:
    # Corpora such as SumPubMed are lower-cased: a lower-case start is no sign of a false break.
    text = (
        "peptides are separated by chromatography. eluting peptides are converted to ions. "
        "the product ions are analysed by <dig> detectors, e.g. tof analysers."
    )
    assert split_sentences(text) == [
        "peptides are separated by chromatography.",
        "eluting peptides are converted to ions.",
        "the product ions are analysed by <dig> detectors, e.g. tof analysers.",
    ]


def test_in_cased_text_a_lower_case_start_is_still_joined() -> None:
    text = "Values are given in approx. units here. The next one is fine. And so on."
    assert split_sentences(text)[0] == "Values are given in approx. units here."


def test_a_sentence_ending_in_a_long_token_is_still_joined_after_a_false_break() -> None:
    # The last word is read from the sentence's end only; a token far longer than any
    # abbreviation still counts as a word before the period (a lower-case start joins).
    long_token = "ACGT" * 40
    text = f"The primer was {long_token}. and then it was used. The next sentence is fine."
    assert split_sentences(text) == [
        f"The primer was {long_token}. and then it was used.",
        "The next sentence is fine.",
    ]


def test_spans_are_tight_verbatim_and_in_order() -> None:
    text = "  First one here.\n\n  Second\none, wrapped.   Third (Fig. 2) ends.  "
    spans = sentence_spans(text)
    assert [text[s:e] for s, e in spans] == [
        "First one here.",
        "Second\none, wrapped.",
        "Third (Fig. 2) ends.",
    ]
    assert all(a[1] <= b[0] for a, b in zip(spans, spans[1:], strict=False))


def test_texts_with_huge_numbers_of_sentence_ends_use_the_plain_rule() -> None:
    text = "A b. " * (MAX_PUNKT_ENDS + 1) + "Last words here"
    spans = sentence_spans(text)
    assert len(spans) == MAX_PUNKT_ENDS + 2
    assert text[spans[0][0] : spans[0][1]] == "A b."
    assert text[spans[-1][0] : spans[-1][1]] == "Last words here"
