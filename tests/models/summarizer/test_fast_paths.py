"""Fast paths give exactly what the plain forms they replace give.

Each speed-up of the extractive summariser is meant to leave every summary unchanged: a regex
rewritten so that the engine can skip ahead, a splitter step done without nupunkt's generator
layers, sentence rows read straight from the CSR arrays. These tests compare each with the
plain form on random and hand-made texts.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from itertools import repeat
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from labserve.models.summarizer import compression, cues, scoring, sentences, structure
from labserve.models.summarizer.budget import piece_units, sentence_sizes, span_units
from labserve.models.summarizer.chances import MIN_PARAGRAPHS, _ranks, may_spread, term_chances
from labserve.models.summarizer.scoring import (
    _ANY_WORD,
    CONTRIBUTION_WEIGHT,
    DETAIL_WEIGHT,
    FINDING_WEIGHT,
    THESIS_WEIGHT,
    _distinct_counts,
    cue_weights,
    document_scores,
    word_bounds,
)
from labserve.models.summarizer.selection import (
    CUT_DISCOUNT,
    DENSE_CELLS,
    DUPLICATE,
    MIN_CUT_WORDS,
    REDUNDANCY,
    _best,
    _dense_rows,
    _knapsack,
    _Solution,
)
from labserve.models.summarizer.structure import Layout, analyse_layout

#: ``compression.TAIL`` as first written: whitespace, then a semicolon, an opening parenthesis
#: or a comma and a side-clause word.
PLAIN_TAIL = re.compile(rf"\s*(?:;\s|\s\(|,\s*(?:{compression._TAIL_WORDS})\b)", re.I)


def random_texts(pieces: list[str], count: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    return ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 14))) for _ in range(count)]


def test_the_tail_pattern_finds_what_its_plain_form_finds() -> None:
    pieces = [" ", "  ", ";", ",", "(", "\n", "which", "as", "a", "B", "e.g.", ",which", " ( "]
    texts = random_texts(pieces, 5000, seed=1) + [
        "IL-6 rose, which was expected; then fell (Fig. 2), as before",
        "Cells grew ,  although slowly ;  and died  (late)",
    ]
    for text in texts:
        assert [m.span() for m in compression.TAIL.finditer(text)] == [
            m.span() for m in PLAIN_TAIL.finditer(text)
        ], text


def test_a_sentence_without_tail_marks_offers_no_tail_cut() -> None:
    text = "We show that restoring p53 raises apoptosis in ovarian tumour cells"
    assert all(
        not dropped for _, dropped in compression.shortenings(text, (0, len(text)), cased=True)
    )


@pytest.mark.parametrize(
    ("pattern", "plain"),
    [
        (
            cues.CONTRIBUTION,
            rf"we (?:(?:also|further|then|first|now|here|additionally|finally|therefore|thus) )?"
            rf"{cues._VERBS}\b|(?:in|with) (?:this|the present|our) {cues._WORKS}\b"
            rf"|this {cues._WORKS} (?:\w+ )?(?:shows|demonstrates|provides|presents|reports"
            r"|describes|proposes|introduces|investigates|examines|explores|addresses|aims"
            rf"|focuses)\b|(?:aim|goal|purpose|objective)s? of (?:this|the present|our) "
            rf"{cues._WORKS}|here,? we\b|our (?:approach|method|model|framework|algorithm"
            r"|results|findings|analysis|work|study|data)\b",
        ),
        (
            cues.FINDING,
            r"(?:these|our|the present) (?:results|findings|data|observations|analyses)"
            r" (?:\w+ )?(?:show|suggest|indicate|demonstrate|reveal|support|imply|confirm"
            r"|highlight)|in (?:summary|conclusion)\b|to conclude\b|taken together\b"
            r"|collectively\b|overall,|to our knowledge\b|for the first time\b",
        ),
        (
            cues.DETAIL,
            r"(?:fig(?:ure)?s?\.?|tables?|supplementary|additional files?)\s*(?:s?\d|<\w+>"
            r"|[a-h]\b)|the (?:tables?|figures?)\b|(?:were|was) (?:incubated|washed|centrifuged"
            r"|stained|diluted|purchased|resuspended|harvested|eluted|filtered|dissolved|stored"
            r"|frozen|fixed|transferred|loaded)\b|according to (?:the )?manufacturer|et al\b|\[\d",
        ),
    ],
)
def test_cue_patterns_find_what_their_grouped_forms_find(
    pattern: re.Pattern[str], plain: str
) -> None:
    words = [
        "we",
        "in",
        "with",
        "this",
        "our",
        "these",
        "the",
        "present",
        "aim",
        "goal",
        "s",
        "of",
        "study",
        "paper",
        "results",
        "show",
        "here",
        ",",
        "fig.",
        "figure",
        "s1",
        "table",
        "2",
        "<dig>",
        "were",
        "was",
        "washed",
        "et",
        "al",
        "[1",
        "according",
        "to",
        "manufacturer",
        "collectively",
        "overall,",
        "a",
        "found",
    ]
    grouped = re.compile(plain)
    texts = random_texts([word + " " for word in words] + words, 3000, seed=2)
    texts += [" ".join(random.Random(seed).choices(words, k=40)) for seed in range(300)]
    for text in texts:
        assert [m.span() for m in pattern.finditer(text)] == [
            m.span() for m in grouped.finditer(text)
        ], text


SPLITTER_TEXTS = [
    "",
    "One sentence only",
    "Smith et al. [12] showed this. Cells died after 24 h. The rest lived.\n\nNext paragraph.",
    "Heading\n\nThe U.S. FDA approved it. See Fig. 2 and cf. Table 3. It took 4.5 yr. Done!",
    "a lower-case text. it has sentences. e.g. this one, i.e. that. vs. others.\n \nend",
    'Wrapped line\nof text. Another one?  "Quoted." (Bracketed.) Last',
]


@pytest.mark.parametrize("text", SPLITTER_TEXTS)
def test_punkt_spans_are_nupunkt_spans(text: str) -> None:
    expected = [
        tight
        for start, end in sentences._tokenizer().spans(text, paragraph_breaks=True)
        if (tight := sentences._tight(text, start, end)) is not None
    ]
    assert sentences._punkt_spans(text) == expected


@pytest.mark.parametrize("text", SPLITTER_TEXTS)
def test_unit_ends_are_split_in_every_sentence_that_has_one(text: str) -> None:
    joined = sentences._join_fragments(text, sentences._punkt_spans(text)) if text.strip() else []
    expected = [piece for span in joined for piece in sentences._split_after_units(text, *span)]
    assert sentences.sentence_spans(text) == expected


@pytest.mark.parametrize("whole", [True, False])
def test_dense_rows_are_the_rows_of_the_matrix(whole: bool) -> None:
    """A small matrix is made dense whole, a larger one is read row by row: the same rows."""
    rng = np.random.default_rng(3)
    n, width, density = (30, 50, 0.2) if whole else (500, 1000, 0.002)
    assert (n * width <= DENSE_CELLS) == whole
    matrix = sp.random(n, width, density=density, format="csr", random_state=4)
    rows = rng.permutation(n)[:12].tolist()
    assert np.array_equal(_dense_rows(matrix, rows), matrix[rows].toarray())
    duplicated = sp.csr_matrix(
        (np.array([1.0, 2.0, 3.0]), np.array([1, 1, 0]), np.array([0, 2, 3])), shape=(2, 3)
    )
    assert not duplicated.has_canonical_format
    assert np.array_equal(_dense_rows(duplicated, [1, 0]), duplicated[[1, 0]].toarray())


@pytest.mark.parametrize(
    "values", [[0], [3, 3, 3], [0, 0, 2, 2, 5, 9, 9], [4, 1, 4, 0], [2, 2, 1, 7, 7]]
)
def test_paragraph_ranks_are_the_unique_inverse(values: list[int]) -> None:
    array = np.asarray(values, dtype=np.int64)
    assert _ranks(array).tolist() == np.unique(array, return_inverse=True)[1].tolist()


def test_piece_units_are_span_units_of_every_stretch() -> None:
    text = "Short words here, " + "x" * 70 + " then\tmore\n\nwords " + "7" * 31 + ". End of it."
    rng = random.Random(5)
    pieces = [(0, len(text))]
    for _ in range(2000):
        start = rng.randrange(len(text))
        pieces.append((start, rng.randint(start + 1, len(text))))
    assert piece_units(text, pieces) == [span_units(text, piece) for piece in pieces]
    assert piece_units(text, []) == []


@pytest.mark.parametrize("keys", [[], [5], [3, 1, 3, 3, 0, 9, 1], list(range(10, 0, -1)) * 3])
def test_distinct_counts_are_numpy_unique(keys: list[int]) -> None:
    array = np.asarray(keys, dtype=np.int64)
    values, counts = _distinct_counts(array)
    expected_values, expected_counts = np.unique(array, return_counts=True)
    assert values.tolist() == expected_values.tolist()
    assert counts.tolist() == expected_counts.tolist()


#: Characters and pieces that decide where ``_ANY_WORD`` words start and end: letters and
#: digits (ASCII and not, above and below the classification table), joiners, placeholders
#: (whole, unclosed, nested, with digits), whitespace, punctuation, astral characters and a
#: lone surrogate.
WORD_PIECES = [
    *"ab1_.-< >\n\t,;/%()z9",
    "é",
    "Ⅻ",
    "²",
    "\u3042",
    "\u4e00",
    "\U0001f600",
    "\U00020000",
    "\ud800",
    "<dig>",
    "<num>",
    "<a1>",
    "<x<y>",
    "..",
    "--",
    "a.b",
    "il-6",
    "e.g.",
]


def plain_word_spans(text: str) -> list[tuple[int, int]]:
    return [match.span() for match in _ANY_WORD.finditer(text)]


def word_spans(text: str) -> list[tuple[int, int]]:
    starts, ends = word_bounds(text)
    return list(zip(starts.tolist(), ends.tolist(), strict=True))


def test_word_bounds_are_the_matches_of_the_word_pattern() -> None:
    texts = random_texts(WORD_PIECES, 5000, seed=6) + ["", "   ", "x", "<dig>", "a" * 70]
    for text in texts:
        assert word_spans(text) == plain_word_spans(text), text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(WORD_PIECES) | st.characters(), max_size=40).map("".join))
def test_word_bounds_match_the_pattern_on_any_text(text: str) -> None:
    assert word_spans(text) == plain_word_spans(text)


def plain_knapsack(
    units: Sequence[int],
    quality: npt.NDArray[np.float64],
    candidates: list[int],
    similarity: npt.NDArray[np.float64],
    maxlen: int,
    *,
    avoid_repeats: bool,
) -> list[_Solution]:
    """``selection._knapsack`` as first written: a dense closeness row per state."""
    k = len(candidates)
    value = np.full(maxlen + 1, -np.inf)
    value[0] = 0.0
    members = np.zeros(maxlen + 1, dtype=np.int64)
    closeness = np.zeros((maxlen + 1, k))  # per state: max similarity to each candidate
    limit = REDUNDANCY if avoid_repeats else DUPLICATE
    too_long: list[int] = []
    for position, index in enumerate(candidates):
        width = units[index]
        if width > maxlen:
            too_long.append(position)
            continue
        # 0/1 knapsack step: states 0..maxlen-width may take this sentence, landing `width`
        # higher. Right-hand sides are computed from the old arrays before anything is written.
        keep = maxlen - width + 1
        near = closeness[:keep, position]
        reached = value[:keep] + width * quality[index] * (1.0 - near)
        # ``nonzero`` on the mask, not ``np.flatnonzero``: the wrapper costs as much as the
        # arithmetic on these short arrays, and this runs once per candidate.
        taking = ((reached > value[width:]) & (near < limit)).nonzero()[0]
        if not len(taking):
            continue
        landing = taking + width
        value[landing] = reached[taking]
        members[landing] = members[taking] | (1 << position)
        rows = closeness[taking]
        closeness[landing] = np.maximum(rows, similarity[position], out=rows)
    totals = np.flatnonzero(value > -np.inf)[1:]  # state 0 (nothing taken) is always reached
    solutions = list(
        map(
            _Solution,
            value[totals].tolist(),
            totals.tolist(),
            members[totals].tolist(),
            repeat(None),
        )
    )
    reachable = np.concatenate(([0], totals))
    totals = reachable[maxlen - reachable >= min(maxlen, MIN_CUT_WORDS)]
    for position in too_long:  # the best place for a cut of each over-long candidate
        near = closeness[totals, position]
        rooms = maxlen - totals
        reached = value[totals] + rooms * quality[candidates[position]] * CUT_DISCOUNT * (1 - near)
        reached = np.where(near < limit, reached, -np.inf)
        if len(reached) == 0 or not np.isfinite(reached.max()):
            continue
        best = int(np.argmax(reached))
        solutions.append(
            _Solution(
                float(reached[best]),
                maxlen,
                int(members[totals[best]]),
                (position, int(rooms[best])),
            )
        )
    return solutions


def random_knapsack(
    seed: int,
) -> tuple[list[int], npt.NDArray[np.float64], list[int], npt.NDArray[np.float64], int]:
    """Candidates of random widths (some over maxlen), qualities (some zero or negative, some
    tied) and
    similarities (some repeats and duplicates, one group of versions)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(1, 30))
    maxlen = int(rng.integers(1, 70))
    units = rng.integers(1, maxlen + 15, size=n).tolist()
    quality = rng.choice([0.0, -0.5, 0.25, 0.5, 1.0 / 3.0, *rng.random(4).tolist()], size=n)
    candidates = rng.permutation(n)[: int(rng.integers(1, n + 1))].tolist()
    k = len(candidates)
    rows = rng.random((k, 6)) * (rng.random((k, 6)) < 0.5)
    rows[rng.random(k) < 0.2] = rows[0]  # exact repeats of the first candidate
    norms = np.linalg.norm(rows, axis=1)
    rows = rows / np.where(norms > 0, norms, 1.0)[:, np.newaxis]
    similarity = rows @ rows.T
    similarity[: min(k, 3), : min(k, 3)] = 1.0  # versions of one sentence
    np.fill_diagonal(similarity, 0.0)
    return units, quality, candidates, similarity, maxlen


@pytest.mark.parametrize("avoid_repeats", [True, False])
def test_the_knapsack_gives_what_its_plain_form_gives(avoid_repeats: bool) -> None:
    """The plain form lists the best set of every total; the knapsack only those ``_best``
    can choose, and it chooses the same."""
    for seed in range(400):
        case = random_knapsack(seed)
        maxlen = case[-1]
        every = plain_knapsack(*case, avoid_repeats=avoid_repeats)
        for minlen in sorted({1, (maxlen + 1) // 2, maxlen}):
            finalists = _knapsack(*case, minlen, avoid_repeats=avoid_repeats)
            assert set(finalists) <= set(every), seed
            assert _best(finalists, minlen) == _best(every, minlen), (seed, minlen)


@pytest.mark.parametrize("paragraphs", [[0] * 9, [0, 0, 1, 2, 3, -1, -1], [-1, 4, 4, 7, 9, 9, 12]])
def test_words_of_few_paragraphs_have_the_chances_of_unplaced_words(paragraphs: list[int]) -> None:
    """``may_spread`` says no: placing the words in those paragraphs changes nothing."""
    sentences = np.asarray(paragraphs, dtype=np.int64)
    assert not may_spread(sentences)
    rng = np.random.default_rng(7)
    words = rng.integers(0, 12, size=200)
    placed = sentences[np.sort(rng.integers(0, len(sentences), size=200))]
    assert term_chances(words, 12, placed).tolist() == term_chances(words, 12).tolist()


def test_words_of_enough_paragraphs_may_spread() -> None:
    assert may_spread(np.arange(-1, MIN_PARAGRAPHS, dtype=np.int64))


#: Pieces of paper-like text: words (repeated, so that sentences share terms), numbers,
#: placeholders, abbreviations, sentence ends, headings and paragraph breaks.
PAPER_PIECES = [
    "the ",
    "cells ",
    "protein ",
    "p53 ",
    "IL-6 ",
    "expression ",
    "tumour ",
    "dose ",
    "were ",
    "in ",
    "of ",
    "3.5 mg/mL ",
    "<dig> ",
    "et al. ",
    "Fig. 2 ",
    "12% ",
    "after 24 h. The ",
    ". ",
    ". We ",
    "? ",
    ", which ",
    "\n\nConclusions\n\n",
    "\n\n",
    "\n",
]


@pytest.mark.parametrize("seed", range(40))
def test_whole_sentences_are_rated_as_their_sentences(seed: int) -> None:
    """What lets ``extractive`` skip ``piece_quality`` when no sentence has a shorter version."""
    rng = random.Random(seed)
    text = "".join(rng.choice(PAPER_PIECES) for _ in range(rng.randint(20, 400)))
    spans = sentences.sentence_spans(text)
    _, units = sentence_sizes(text, spans)
    assert piece_units(text, spans) == units.tolist()
    scores = document_scores(text, spans, analyse_layout(text, spans), units)
    quality, vectors = scores.piece_quality(spans, list(range(len(spans))), units.tolist())
    assert quality.tobytes() == scores.quality.tobytes()
    for name in ("indptr", "indices", "data"):
        assert getattr(vectors, name).tobytes() == getattr(scores.vectors, name).tobytes()


def test_sentences_are_shortened_up_to_the_longest_in_words_however_short_the_words() -> None:
    """One-letter words around the limit, on both sides of the length (in characters) up to
    which counting the words is skipped."""
    for count in range(70, 90):  # 149 to 187 characters
        text = " ".join("x" * count) + ", which z."
        words = len(text.split())
        versions = compression.shortenings(text, (0, len(text)), cased=True)
        assert bool(versions) is (words <= compression.LONGEST_SHORTENED), count


def plain_flags(pattern: re.Pattern[str], lowered: str, spans: list[tuple[int, int]]) -> Any:
    """``scoring``'s cue flags as first written: a boolean per sentence."""
    starts = [
        match.start()
        for match in pattern.finditer(lowered)
        if match.start() == 0
        or not lowered[match.start() - 1].isalnum()
        or not lowered[match.start()].isalnum()
    ]
    flags = np.zeros(len(spans), dtype=bool)
    if starts and spans:
        flags[sentences.sentence_index(spans, starts)] = True
    return flags


def plain_cue_weights(lowered: str, spans: list[tuple[int, int]]) -> Any:
    """``scoring.cue_weights`` as first written: the weights summed over whole arrays."""
    contribution = plain_flags(cues.CONTRIBUTION, lowered, spans)
    thesis = np.zeros(len(spans), dtype=bool)
    if contribution.any():
        thesis[int(np.argmax(contribution))] = True
    up = (
        1.0
        + CONTRIBUTION_WEIGHT * contribution
        + THESIS_WEIGHT * thesis
        + FINDING_WEIGHT * plain_flags(cues.FINDING, lowered, spans)
    )
    detail = plain_flags(cues.DETAIL, lowered, spans)
    return up / np.where(detail, 1.0 + DETAIL_WEIGHT, 1.0)


CUE_PIECES = [
    "we show that ",
    "in this study ",
    "our results ",
    "these results suggest ",
    "in conclusion, ",
    "fig. 2 ",
    "table 1 ",
    "et al. ",
    "were washed ",
    "cells ",
    "grew ",
    ". ",
    ". ",
    "\n\n",
]


def test_cue_weights_are_the_weights_summed_over_whole_arrays() -> None:
    for text in random_texts(CUE_PIECES, 2000, seed=8):
        spans = sentences.sentence_spans(text)
        assert cue_weights(text, spans).tobytes() == plain_cue_weights(text, spans).tobytes()


def literal_starts(pattern: re.Pattern[str]) -> list[str]:
    """The literal characters each top-level alternative of ``pattern`` starts with."""
    from re import _parser  # type: ignore[attr-defined]

    (operation, (_, alternatives)), *rest = _parser.parse(pattern.pattern, pattern.flags)
    assert operation is _parser.BRANCH
    assert not rest
    heads = []
    for alternative in alternatives:
        head = ""
        for operation, argument in alternative:
            if operation is not _parser.LITERAL:
                break
            head += chr(argument)
        heads.append(head)
    return heads


@pytest.mark.parametrize("pattern", list(cues.HEADS))
def test_every_match_of_a_cue_starts_with_one_of_its_heads(pattern: re.Pattern[str]) -> None:
    heads = literal_starts(pattern)
    assert all(heads)
    assert set(heads) == set(cues.HEADS[pattern])


def plain_word_matches(pattern: re.Pattern[str], text: str) -> list[int]:
    """Where ``pattern`` matches at any word's first character or at any ``[``, a match that
    starts inside an earlier one skipped: what ``matches_at`` gives for the few words that
    ``cue_bits`` lets through."""
    places = sorted({*word_bounds(text)[0].tolist(), *(i for i, c in enumerate(text) if c == "[")})
    starts: list[int] = []
    done = 0
    for at in places:
        if at >= done and (found := pattern.match(text, at)) is not None:
            starts.append(at)
            done = found.end()
    return starts


CUE_WORD_PIECES = [
    *CUE_PIECES,
    *("four results ", "ahere we show ", "we ", "in ", "our ", "fig", "[", "[1] ", "x-"),
    *("figures ", "the table ", "the present study ", "overall, ", "to conclude, ", "e.g. "),
    *("aims of this study ", "here, we ", "in-", "table-1 ", "_we show ", "\u00e9we show "),
]


@pytest.mark.parametrize("bit", range(len(scoring.CUES)))
def test_cues_are_tried_at_every_word_that_can_start_them(bit: int) -> None:
    """The words ``cue_bits`` lets through lose no match that any word start would give."""
    pattern = scoring.CUES[bit]
    for text in random_texts(CUE_WORD_PIECES, 3000, seed=9):
        words = scoring._read_words(text)
        places = words.cue_starts[(words.cue_bits & (1 << bit)) != 0].tolist()
        assert cues.matches_at(pattern, text, places) == plain_word_matches(pattern, text), text


def test_a_head_word_glued_to_more_only_starts_words(monkeypatch: pytest.MonkeyPatch) -> None:
    """A head going on after its first word with a joiner ("in-") is met inside a longer word
    ("in-vitro"): it is matched as a prefix; one going on with a space, as that word."""
    pattern = re.compile("in-|x.y z|fig|\\[")
    monkeypatch.setitem(cues.HEADS, pattern, ("in-", "x.y z", "fig", "["))
    assert scoring._head_words(pattern) == (("in", False), ("x.y", True), ("fig", False))


def plain_cue_bits(spelling: str) -> int:
    """``scoring.cue_bits`` read straight from the head words, one by one."""
    bits = 0
    for bit, heads in enumerate(scoring._HEAD_WORDS):
        if any(spelling == word if whole else spelling.startswith(word) for word, whole in heads):
            bits |= 1 << bit
    return bits


def test_cue_bits_are_read_from_the_head_words() -> None:
    rng = random.Random(12)
    heads = [word for heads in scoring._HEAD_WORDS for word, _ in heads]
    spellings = [*heads, *(word + "s" for word in heads), *(word[:-1] for word in heads)]
    spellings += ["".join(rng.choices("aefghinorstw.-", k=rng.randint(1, 9))) for _ in range(3000)]
    for spelling in spellings:
        assert scoring.cue_bits(spelling) == plain_cue_bits(spelling), spelling


def test_cue_bits_mark_the_words_heads_start_with() -> None:
    """Bits in the order of ``CUES``: contribution, finding, detail."""
    assert scoring.cue_bits("we") == scoring.cue_bits("aims") == 0b001
    assert scoring.cue_bits("in") == scoring.cue_bits("our") == 0b011  # "in this study", ...
    assert scoring.cue_bits("the") == 0b110  # "the present ...", "the table"
    assert scoring.cue_bits("figures") == scoring.cue_bits("fig") == 0b100  # head "fig"
    assert scoring.cue_bits("inside") == scoring.cue_bits("weather") == 0  # heads "in ", "we "


UNIT_PIECES = [*"0123456789 .\u00a0\nhrsmindwkoy", "hrs", "min", "sec", "wk", "mo", "yr", "24 h. "]


def plain_unit_periods(text: str) -> list[int]:
    return [match.end() - 1 for match in sentences._UNIT_PERIOD.finditer(text)]


def test_unit_periods_are_found_backwards_as_forwards() -> None:
    for text in random_texts(UNIT_PIECES, 5000, seed=10):
        assert sentences.unit_periods(text) == plain_unit_periods(text), text


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(UNIT_PIECES) | st.characters(), max_size=40).map("".join))
def test_unit_periods_are_found_backwards_in_any_text(text: str) -> None:
    assert sentences.unit_periods(text) == plain_unit_periods(text)


def plain_tight(text: str, start: int, end: int) -> tuple[int, int] | None:
    piece = text[start:end]
    if not piece.strip():
        return None
    begin = start + len(piece) - len(piece.lstrip())
    return begin, begin + len(piece.strip())


def test_tight_spans_are_the_stripped_stretches() -> None:
    rng = random.Random(11)
    for text in random_texts([" ", "\n", "\u3000", "a", "b.", "\t"], 500, seed=12):
        for _ in range(20):
            start = rng.randint(0, len(text))
            end = rng.randint(start, len(text))
            assert sentences._tight(text, start, end) == plain_tight(text, start, end)


def plain_layout(text: str, spans: list[tuple[int, int]]) -> Layout:
    """``structure.analyse_layout`` as first written: sections walked even without headings."""
    n = len(spans)
    breaks = np.asarray(
        [match.start() for match in structure._PARAGRAPH_BREAK.finditer(text)], np.int64
    )
    starts = np.asarray([start for start, _ in spans], dtype=np.int64)
    paragraph = np.searchsorted(breaks, starts).astype(np.int64)
    sizes = np.bincount(paragraph, minlength=int(paragraph.max(initial=0)) + 1)
    heading = np.zeros(n, dtype=bool)
    for index in np.flatnonzero(sizes[paragraph] == 1).tolist():  # headings stand alone
        start, end = spans[index]
        heading[index] = end - start <= structure.HEADING_CHARS and structure._is_heading(
            text[start:end]
        )
    back_matter = np.zeros(n, dtype=bool)
    summarising = np.zeros(n, dtype=bool)
    found_summarising = False
    section_start, section = 0, ""
    boundaries: list[int] = [*np.flatnonzero(heading).tolist(), n]
    for index in boundaries:
        # Sentences from the previous heading up to this one belong to its section.
        back_matter[section_start:index] = section == "back"
        summarising[section_start:index] = section == "summarising"
        if index == n:
            break
        name = structure._heading_name(text[spans[index][0] : spans[index][1]])
        if structure._SUMMARISING_HEADING.fullmatch(name):
            section, found_summarising = "summarising", True
        elif structure._BACK_MATTER_HEADING.fullmatch(name):
            section = "back"
        else:
            section = ""
        section_start = index + 1
    back_matter &= ~heading
    summarising &= ~heading
    if not found_summarising:
        body = ~heading & ~back_matter
        body_paragraphs = np.unique(paragraph[body])
        if len(body_paragraphs) >= structure.MIN_PARAGRAPHS:
            summarising = body & (paragraph == body_paragraphs[-1])
    opening = np.zeros(n, dtype=bool)
    first = np.flatnonzero(~heading & ~back_matter)[:1]
    opening[first] = True
    return Layout(paragraph, heading, back_matter, summarising, opening)


LAYOUT_PIECES = [*PAPER_PIECES, "\n\nAbstract\n\n", "\n\nReferences\n\n", "\n\n1. Methods\n\n"]


def test_layouts_are_the_layouts_walked_section_by_section() -> None:
    for text in random_texts(LAYOUT_PIECES, 3000, seed=13):
        spans = sentences.sentence_spans(text)
        got, expected = analyse_layout(text, spans), plain_layout(text, spans)
        for name in ("paragraph", "heading", "back_matter", "summarising", "opening"):
            assert getattr(got, name).tolist() == getattr(expected, name).tolist(), text


def plain_lexeme(spelling: str) -> tuple[str, bool, int]:
    """A spelling's folded term, whether it is a content word (as first computed per text)
    and its ``cue_bits``."""
    term = scoring.stem(spelling) if spelling[-1] == "s" else spelling
    topical = len(spelling) > 1 and spelling not in scoring._STOP_WORDS
    content = bool(topical and not scoring._NUMBER_LIKE.fullmatch(spelling))
    return term, content, scoring.cue_bits(spelling)


def test_the_lexicon_kept_across_texts_gives_each_word_its_own_analysis(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scoring, "_LEXICON", {})
    monkeypatch.setattr(scoring, "_LEXICON_SIZE", 50)
    spellings = [*WORD_PIECES, "cells", "studies", "the", "3.5", "<dig>", "a", "is", "p53"]
    for text in random_texts(spellings + [" ", " ", ". "], 40, seed=11):
        lowered = scoring.lower_same_length(text)
        words = [lowered[start:end] for start, end in zip(*word_bounds(lowered), strict=True)]
        for word in words:
            assert scoring._look_up(word) == plain_lexeme(word)
            assert scoring._LEXICON[word] == plain_lexeme(word)  # kept for the next text
        assert len(scoring._LEXICON) <= 50  # emptied when full, never larger
