"""How good a sentence (or a shortened version of one) is for a summary, per word it costs.

A summary has a word budget, so what matters is how much of the document's main content each
word carries. Two estimates are combined:

* **Relevance**: the cosine similarity between the sentence's TF-IDF vector and the centroid
  of the other sentences: a sentence made of the words the whole document keeps returning to
  states what the document is about (first-order LexRank at the cost of one sparse
  matrix-vector product). It is adjusted for what the sentence says (``cues``: stated
  contributions and conclusions up, figure pointers, protocol steps and citations down) and
  where it stands (``structure``: conclusions and abstracts up, the opening sentence up).
* **Density**: how many of its words a person summarising the document would be expected to
  use, per budget word: the sum of its words' chances to be in a summary (``chances``: by
  how often the text uses them or, in a text of paragraphs, by how widely they are spread
  over its paragraphs). Function words count too (a summary needs them as much as any
  text); a sentence padded with rare or local detail, a connective or a lone symbol scores
  low. This is what makes a short, content-dense version of a sentence (``compression``)
  worth more per word than the whole.

Value per word = relevance ** e * density. Word counts are evidence only where words recur:
in a short text (an abstract) nearly every content word occurs once and the density barely
discriminates, so relevance keeps its full weight (``e = 1``); in a long text (a paper) the
counts are reliable and the relevance exponent falls to ``MIN_RELEVANCE_EXPONENT``
(``e = EVIDENCE_WORDS / words`` in between). The weights are deliberately round and few; they
were chosen on one half of a development set and checked on the other (see
``benchmarks/summarize.py``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from labserve.models.summarizer.budget import sentence_sizes
from labserve.models.summarizer.chances import may_spread, term_chances
from labserve.models.summarizer.cues import CONTRIBUTION, DETAIL, FINDING, HEADS, matches_at
from labserve.models.summarizer.sentences import Span, sentence_index, span_bounds
from labserve.models.summarizer.structure import Layout

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Extra weight (as a fraction) of a sentence stating the authors' contribution.
CONTRIBUTION_WEIGHT = 0.5
#: Further extra weight of the first such sentence (the thesis statement).
THESIS_WEIGHT = 0.5
#: Extra weight of a sentence framing a result as a conclusion.
FINDING_WEIGHT = 0.25
#: Extra weight of a sentence in an abstract, summary or conclusions section.
SUMMARISING_WEIGHT = 0.5
#: Extra weight of the text's opening sentence (it states the topic).
OPENING_WEIGHT = 0.5
#: Weight lost (as a divisor 1 + w) by a sentence pointing at figures, protocol or citations.
DETAIL_WEIGHT = 0.5
#: Text length (words) up to which relevance keeps its full weight against density.
EVIDENCE_WORDS = 600
#: Weight (exponent) of relevance in a long text, where word counts are reliable evidence.
MIN_RELEVANCE_EXPONENT = 1 / 3

# Numbers and number placeholders say nothing about the topic (every paper has them).
_NUMBER_LIKE = re.compile(r"<[^\W\d_]+>|[\d.,\-]+")
# Every word: letters and digits with inner hyphens and periods (IL-6, p53, 3.5, e.g), single
# letters and digits included, or a placeholder in angle brackets (<dig>, <num>) that some
# corpora put in place of numbers.
_ANY_WORD = re.compile(r"<[^\W\d_]+>|[^\W_][\w.\-]*[^\W_]|[^\W_]")
# The placeholder part of ``_ANY_WORD`` alone (see ``word_bounds``).
_PLACEHOLDER = re.compile(r"<[^\W\d_]+>")
_STOP_WORDS = ENGLISH_STOP_WORDS

#: What each character is to ``_ANY_WORD`` (see ``word_bounds``): a letter or digit
#: (``[^\W_]``, which is ``str.isalnum``), a joiner that may stand inside a word (``_``, ``.``,
#: ``-``: the rest of ``[\w.\-]``), or anything else.
_OTHER, _ALNUM, _JOINER = 0, 1, 2
#: Code points below this are classified by table; the few others a text has, one by one.
_TABLED = 0x3000
_KIND = np.asarray(
    [
        _ALNUM if chr(c).isalnum() else _JOINER if chr(c) in "_.-" else _OTHER
        for c in range(_TABLED)
    ],
    dtype=np.int8,
)
#: ``_KIND`` of the ASCII characters, as a ``bytes.translate`` table.
_ASCII_KIND = bytes(_KIND[:128].tolist()) + bytes(128)


def stem(word: str) -> str:
    """Fold English plurals (cells -> cell, studies -> study, processes -> process)."""
    if len(word) <= 3 or not word.endswith("s") or word.endswith(("ss", "us", "is")):
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "zes", "ches", "shes")):
        return word[:-2]
    return word[:-1]


def lower_same_length(text: str) -> str:
    """``text.lower()`` with offsets unchanged (only ``İ`` grows when lower-cased)."""
    return text.replace("\u0130", "I").lower()


def _character_kinds(text: str) -> npt.NDArray[np.int8]:
    """``_ALNUM``, ``_JOINER`` or ``_OTHER`` for each character of ``text`` (a new array)."""
    if text.isascii():  # one byte per character: a byte translation does it (most texts)
        return np.frombuffer(bytearray(text, "ascii").translate(_ASCII_KIND), dtype=np.int8)
    codes = np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)
    kinds = _KIND[np.minimum(codes, _TABLED - 1)]
    high = codes >= _TABLED
    if high.any():  # rare (CJK, symbols, emoji): each distinct one classified by Python
        for code in np.unique(codes[high]).tolist():
            kinds[codes == code] = _ALNUM if chr(code).isalnum() else _OTHER
    return kinds


def word_bounds(text: str) -> tuple[IntArray, IntArray]:
    """Start and end offsets of the words of ``text``: the matches of ``_ANY_WORD``.

    The same spans as ``[m.span() for m in _ANY_WORD.finditer(text)]``, found with array
    operations on the characters (the regex engine tries its pattern at every position, which
    cost most of the time spent reading a short text's words). Outside placeholders, a word
    is a maximal run of letters, digits and joiners (``_``, ``.``, ``-``) from its first letter or
    digit to its last: the regex starts a match at the run's first letter or digit, and its
    greedy middle gives back only the joiners after the last one. A placeholder (``<dig>``)
    starts at a ``<``, which no run contains, so it is found apart and merged in.
    """
    kinds = _character_kinds(text)
    placeholders: list[tuple[int, int]] = []
    if "<" in text:
        placeholders = [match.span() for match in _PLACEHOLDER.finditer(text)]
        for start, end in placeholders:
            kinds[start:end] = _OTHER
    alnum = (kinds == _ALNUM).nonzero()[0]
    # Two letters or digits are in one word unless something other than a joiner lies between
    # them: a different count of such characters up to each.
    breaks = np.cumsum(kinds == _OTHER)[alnum]
    change = breaks[1:] != breaks[:-1]
    edge = np.ones(min(len(alnum), 1), dtype=bool)
    starts = alnum[np.concatenate((edge, change))]
    ends = alnum[np.concatenate((change, edge))] + 1
    if placeholders:
        bounds = np.asarray(placeholders, dtype=np.int64)
        order = np.argsort(np.concatenate((starts, bounds[:, 0])), kind="stable")
        starts = np.concatenate((starts, bounds[:, 0]))[order]
        ends = np.concatenate((ends, bounds[:, 1]))[order]
    return starts, ends


@dataclass(frozen=True)
class _Words:
    """Every word of a lower-cased text, read in one pass (``word_bounds``).

    Attributes:
        starts: Where each word starts.
        chances: Running sum of each word's chance to be in a summary of the text (one more
            entry than words, starting at 0): the expected summary words in any stretch of
            the text are a difference of two entries.
        content_starts: Where each content word (not a stop word or number) starts.
        content_columns: Its TF-IDF column (plurals folded into one).
        vocabulary: Content term -> column.
        cue_starts: Where each word that can start a cue (``cue_bits``) starts.
        cue_bits: Its ``cue_bits``.
    """

    starts: IntArray
    chances: FloatArray
    content_starts: IntArray
    content_columns: IntArray
    vocabulary: dict[str, int]
    cue_starts: IntArray
    cue_bits: IntArray


#: The cue patterns (``cues``), in the order of their bits in ``cue_bits``.
CUES = (CONTRIBUTION, FINDING, DETAIL)


def _head_words(pattern: re.Pattern[str]) -> tuple[tuple[str, bool], ...]:
    """The first word of each of ``pattern``'s heads that starts with one, and whether the head
    goes on past that word: then a match can start only at that very word ("in " at "in"),
    else at any word that starts with it ("fig" at "figure")."""
    found = []
    for head in HEADS[pattern]:
        word = _ANY_WORD.match(head)
        if word is not None:
            rest = head[word.end() :]
            found.append((word.group(), bool(rest) and rest[0] not in "_.-"))
    return tuple(found)


_HEAD_WORDS = tuple(_head_words(pattern) for pattern in CUES)


def _whole_head_bits() -> dict[str, int]:
    """Each head word that must be a whole word ("in"), with the bits of the cues it starts."""
    bits: dict[str, int] = {}
    for bit, heads in enumerate(_HEAD_WORDS):
        for word, whole in heads:
            if whole:
                bits[word] = bits.get(word, 0) | 1 << bit
    return bits


_WHOLE_HEAD_BITS = _whole_head_bits()
#: Per cue bit, the head words that start a word as prefixes ("fig" of "figure").
_PREFIX_HEADS = tuple(
    (1 << bit, tuple(word for word, whole in heads if not whole))
    for bit, heads in enumerate(_HEAD_WORDS)
)


def cue_bits(spelling: str) -> int:
    """Bit ``i`` set when a match of ``CUES[i]`` can start at a word spelt ``spelling``.

    Made once per new spelling (a text of random letters has hundreds of thousands): one
    dictionary look-up and one ``startswith`` per cue.
    """
    bits = _WHOLE_HEAD_BITS.get(spelling, 0)
    for bit, prefixes in _PREFIX_HEADS:
        if spelling.startswith(prefixes):
            bits |= bit
    return bits


#: Spelling -> (its folded term, whether it is a content word, its ``cue_bits``): the same for
#: every text, so kept across texts (a paper has hundreds of distinct words, mostly known
#: ones). Bounded: emptied when full.
_LEXICON: dict[str, tuple[str, bool, int]] = {}
_LEXICON_SIZE = 50_000


def _look_up(spelling: str) -> tuple[str, bool, int]:
    """``_LEXICON``'s entry for ``spelling``, made and kept."""
    term = stem(spelling) if spelling[-1] == "s" else spelling
    topical = len(spelling) > 1 and spelling not in _STOP_WORDS
    entry = (term, topical and not _NUMBER_LIKE.fullmatch(spelling), cue_bits(spelling))
    if len(_LEXICON) >= _LEXICON_SIZE:
        _LEXICON.clear()
    _LEXICON[spelling] = entry
    return entry


def _read_words(
    lowered: str, spans: Sequence[Span] = (), body_paragraph: IntArray | None = None
) -> _Words:
    """Read every word; ``body_paragraph`` (per sentence at ``spans``: its paragraph, or -1
    outside the body) lets word chances follow the text's paragraphs (``chances``)."""
    positions, ends = word_bounds(lowered)
    bounds = zip(positions.tolist(), ends.tolist(), strict=True)
    words = [lowered[start:end] for start, end in bounds]
    spellings: dict[str, int] = {}
    number = spellings.setdefault
    word_ids = np.asarray([number(word, len(spellings)) for word in words], dtype=np.int64)
    # Per distinct spelling (few), not per word: its folded term and its TF-IDF column.
    terms: dict[str, int] = {}
    vocabulary: dict[str, int] = {}
    term_of: list[int] = []
    column_of: list[int] = []
    cues_of: list[int] = []
    known = _LEXICON.get
    for spelling in spellings:  # in order of first use, as numbered
        term, is_content, cues = known(spelling) or _look_up(spelling)
        term_of.append(terms.setdefault(term, len(terms)))
        column_of.append(vocabulary.setdefault(term, len(vocabulary)) if is_content else -1)
        cues_of.append(cues)
    word_terms = np.asarray(term_of, dtype=np.int64)[word_ids]
    word_paragraphs = None
    if body_paragraph is not None and len(spans) and may_spread(body_paragraph):
        word_paragraphs = body_paragraph[sentence_index(spans, positions)]
    chance = term_chances(word_terms, len(terms), word_paragraphs)
    chances = np.concatenate(([0.0], np.cumsum(chance[word_terms])))
    columns = np.asarray(column_of, dtype=np.int64)[word_ids]
    content = columns >= 0
    word_cues = np.asarray(cues_of, dtype=np.int64)[word_ids]
    cued = word_cues.nonzero()[0]
    return _Words(
        positions,
        chances,
        positions[content],
        columns[content],
        vocabulary,
        positions[cued],
        word_cues[cued],
    )


class Rows(NamedTuple):
    """Rows of a sparse matrix in compressed (CSR) form: the arrays of a scipy CSR matrix,
    canonical (each row's columns ascending, once), without making one (scipy checks the
    arrays it is given, which cost more than building them for a short text's sentences).
    """

    data: FloatArray
    indices: npt.NDArray[np.int32]
    indptr: npt.NDArray[np.int32]
    shape: tuple[int, int]

    @property
    def nnz(self) -> int:
        """Stored entries."""
        return len(self.data)

    @property
    def has_canonical_format(self) -> bool:
        """Always (as scipy's attribute of the same name)."""
        return True

    def tocsr(self) -> sp.csr_matrix:
        """The scipy matrix of these rows."""
        return sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)


def _distinct_counts(keys: IntArray) -> tuple[IntArray, IntArray]:
    """``np.unique(keys, return_counts=True)`` without its generic dispatch (called twice per
    summary on a few hundred keys, where that overhead was most of its cost)."""
    ordered = np.sort(keys)
    if not len(ordered):
        return ordered, np.zeros(0, dtype=np.int64)
    new = np.empty(len(ordered), dtype=bool)
    new[0] = True
    np.not_equal(ordered[1:], ordered[:-1], out=new[1:])
    firsts = new.nonzero()[0]
    counts = np.diff(np.append(firsts, len(ordered)))
    return ordered[new], counts


def _tfidf(
    rows: IntArray, columns: IntArray, n: int, width: int, idf: FloatArray | None = None
) -> tuple[Rows, FloatArray]:
    """L2-normalised TF-IDF rows from (row, column) pairs, one per word; IDF over the rows
    unless given."""
    keys, counts = _distinct_counts(rows * width + columns)
    row_of, cols = keys // width, keys % width
    if idf is None:
        idf = np.log((1 + n) / (1 + np.bincount(cols, minlength=width))) + 1.0
    data = (1.0 + np.log(counts.astype(np.float64))) * idf[cols]
    norms = np.sqrt(np.bincount(row_of, weights=data * data, minlength=n))
    norms[norms == 0] = 1.0
    data /= norms[row_of]
    indptr = np.concatenate(([0], np.cumsum(np.bincount(row_of, minlength=n))))
    # Indices as int32, as scipy stores them (a text of at most a million characters has fewer
    # words than that holds): ``Rows.tocsr`` hands them over without a check and copy.
    return Rows(data, cols.astype(np.int32), indptr.astype(np.int32), (n, width)), idf


def _sentence_table(words: _Words, spans: Sequence[Span]) -> tuple[Rows, FloatArray]:
    n = len(spans)
    rows = sentence_index(spans, words.content_starts) if n else np.zeros(0, dtype=np.int64)
    return _tfidf(rows, words.content_columns, n, max(len(words.vocabulary), 1))


def term_vectors(lowered: str, spans: Sequence[Span]) -> sp.csr_matrix:
    """L2-normalised TF-IDF rows of the sentences at ``spans`` in a lower-cased text.

    Sublinear term frequency, smoothed IDF over sentences. Built from one regex pass over the
    whole text (no per-sentence objects, no scikit-learn vectoriser), so it stays fast for
    texts of hundreds of thousands of tiny sentences. A sentence without content words gets an
    all-zero row.
    """
    return _sentence_table(_read_words(lowered), spans)[0].tocsr()


def sentence_vectors(sentences: Sequence[str]) -> sp.csr_matrix:
    """``term_vectors`` of a list of sentences (a convenience for callers and tests)."""
    spans: list[Span] = []
    offset = 0
    for sentence in sentences:
        spans.append((offset, offset + len(sentence)))
        offset += len(sentence) + 1
    return term_vectors(lower_same_length("\n".join(sentences)), spans)


def _row_dots(vectors: sp.csr_matrix | Rows, dense: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Each row's dot product with ``dense`` and with itself."""
    n = vectors.shape[0]
    rows = np.repeat(np.arange(n), np.diff(vectors.indptr))
    dots = np.bincount(rows, weights=vectors.data * dense[vectors.indices], minlength=n)
    self_norms = np.bincount(rows, weights=vectors.data * vectors.data, minlength=n)
    return np.asarray(dots, dtype=np.float64), np.asarray(self_norms, dtype=np.float64)


def centroid_geometry(
    vectors: sp.csr_matrix | Rows,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """The rows' centroid, each row's dot product with it, and each row's with itself."""
    centroid = np.asarray(
        np.bincount(vectors.indices, weights=vectors.data, minlength=vectors.shape[1]),
        dtype=np.float64,
    )
    dots, self_norms = _row_dots(vectors, centroid)  # self_norms: 1 or 0
    return centroid, dots, self_norms


def centrality(
    vectors: sp.csr_matrix | Rows,
    geometry: tuple[FloatArray, FloatArray, FloatArray] | None = None,
) -> FloatArray:
    """Cosine similarity of each row to the centroid of the OTHER rows (0 for empty rows).

    Leaving the sentence itself out matters in short texts: otherwise an off-topic sentence
    is similar to the centroid through its own contribution to it. ``geometry`` is
    ``centroid_geometry(vectors)`` when the caller has it already.
    """
    centroid, dots, self_norms = geometry or centroid_geometry(vectors)
    rest = np.sqrt(np.maximum(float(centroid @ centroid) - 2 * dots + self_norms, 0.0))
    similarity: FloatArray = np.divide(
        dots - self_norms, rest, out=np.zeros(vectors.shape[0]), where=rest > 1e-12
    )
    return similarity


def _flagged(
    pattern: re.Pattern[str], lowered: str, spans: Sequence[Span], words: _Words
) -> list[int]:
    """Sentences (in order, each once) in which ``pattern`` (one of ``CUES``) matches at the
    start of a word (or at a ``[``). Only words that can start one of its heads are tried
    (``cue_bits``)."""
    bit = 1 << CUES.index(pattern)
    places = words.cue_starts[(words.cue_bits & bit) != 0].tolist()
    starts = matches_at(pattern, lowered, places)
    if not starts or not spans:
        return []
    return list(dict.fromkeys(sentence_index(spans, starts).tolist()))


def cue_weights(lowered: str, spans: Sequence[Span], words: _Words | None = None) -> FloatArray:
    """Multipliers for what each sentence says (see ``cues``); ``words`` is
    ``_read_words(lowered)`` when the caller has it.

    Most sentences have no cue: their weight stays 1 and only the few flagged ones are
    changed (the sums of weights are exact in binary, so their order does not matter).
    """
    if words is None:
        words = _read_words(lowered)
    weight = np.ones(len(spans))
    contribution = _flagged(CONTRIBUTION, lowered, spans, words)
    if contribution:
        weight[contribution] += CONTRIBUTION_WEIGHT
        weight[min(contribution)] += THESIS_WEIGHT  # the first statement of the contribution
    finding = _flagged(FINDING, lowered, spans, words)
    if finding:
        weight[finding] += FINDING_WEIGHT
    detail = _flagged(DETAIL, lowered, spans, words)
    if detail:
        weight[detail] /= 1.0 + DETAIL_WEIGHT
    return weight


def _density(words: _Words, pieces: Sequence[Span], units: Sequence[int] | IntArray) -> FloatArray:
    """``DocumentScores.density``, before there are scores."""
    if not len(pieces):
        return np.zeros(0)
    bounds = np.searchsorted(words.starts, span_bounds(pieces))
    expected = words.chances[bounds[1::2]] - words.chances[bounds[0::2]]
    result: FloatArray = expected / np.maximum(np.asarray(units, dtype=np.float64), 1.0)
    return result


@dataclass(frozen=True)
class DocumentScores:
    """Everything needed to rate a sentence, or a stretch of one, of one document.

    Attributes:
        quality: Value per budget word of each whole sentence.
        vectors: L2-normalised TF-IDF rows of the sentences.
        relevance_weight: Cue and position multipliers of each sentence.
        exponent: Weight of relevance against density (see the module docstring).
    """

    quality: FloatArray
    vectors: Rows
    relevance_weight: FloatArray
    exponent: float
    words: _Words
    idf: FloatArray
    #: ``centroid_geometry(vectors)``: the centroid, and each sentence's dot products.
    geometry: tuple[FloatArray, FloatArray, FloatArray]

    def density(self, pieces: Sequence[Span], units: Sequence[int] | IntArray) -> FloatArray:
        """Expected summary words per budget word of each stretch ``(start, end)``."""
        return _density(self.words, pieces, units)

    def piece_vectors(self, pieces: Sequence[Span]) -> Rows:
        """L2-normalised TF-IDF rows of stretches of the text (they may overlap)."""
        bounds = np.searchsorted(self.words.content_starts, span_bounds(pieces)).reshape(-1, 2)
        firsts, lengths = bounds[:, 0], bounds[:, 1] - bounds[:, 0]
        total = int(lengths.sum())
        offsets = np.repeat(np.cumsum(lengths) - lengths, lengths)
        words = np.arange(total) - offsets + np.repeat(firsts, lengths)
        rows = np.repeat(np.arange(len(pieces)), lengths)
        width = max(len(self.words.vocabulary), 1)
        vectors, _ = _tfidf(rows, self.words.content_columns[words], len(pieces), width, self.idf)
        return vectors

    def _entries(
        self, sentences: IntArray, columns: IntArray | npt.NDArray[np.int32]
    ) -> FloatArray:
        """``vectors[sentences[i], columns[i]]`` for each ``i`` (0 where the entry is empty)."""
        matrix = self.vectors
        if not matrix.nnz:
            return np.zeros(len(sentences))
        width = matrix.shape[1]
        # Rows are built sorted by (row, column), so the flat keys of the entries ascend.
        keys = np.repeat(np.arange(matrix.shape[0]) * width, np.diff(matrix.indptr))
        keys += matrix.indices
        wanted = sentences * width + columns
        found = np.minimum(np.searchsorted(keys, wanted), len(keys) - 1)
        entries: FloatArray = np.where(keys[found] == wanted, matrix.data[found], 0.0)
        return entries

    def piece_quality(
        self, pieces: Sequence[Span], owners: Sequence[int], units: Sequence[int]
    ) -> tuple[FloatArray, Rows]:
        """Value per budget word of stretches of sentences, and their TF-IDF rows.

        Relevance is the cosine to the centroid of the other sentences (the owner's own
        sentence left out, as for whole sentences), times the owner's cue and position weight.
        """
        vectors = self.piece_vectors(pieces)
        owner = np.asarray(owners, dtype=np.int64)
        # cos(piece, centroid - owner) from the nonzero entries: scipy's sparse row indexing
        # and products cost more than this arithmetic on a text's few dozen pieces.
        rows = np.repeat(np.arange(len(pieces)), np.diff(vectors.indptr))
        centroid, owner_to_centroid, owner_norms = self.geometry
        along = vectors.data * centroid[vectors.indices]
        to_centroid = np.bincount(rows, weights=along, minlength=len(pieces))
        shared = vectors.data * self._entries(owner[rows], vectors.indices)
        to_owner = np.bincount(rows, weights=shared, minlength=len(pieces))
        rest = float(centroid @ centroid) - 2 * owner_to_centroid[owner] + owner_norms[owner]
        rest_norms = np.sqrt(np.maximum(rest, 0.0))
        dots = to_centroid - to_owner
        cosine = np.divide(dots, rest_norms, out=np.zeros(len(pieces)), where=rest_norms > 1e-12)
        relevance = np.maximum(cosine, 0.0) * self.relevance_weight[list(owners)]
        quality: FloatArray = relevance**self.exponent * self.density(pieces, units)
        return quality, vectors


def document_scores(
    text: str, spans: Sequence[Span], layout: Layout, units: IntArray | None = None
) -> DocumentScores:
    """Rate every sentence of ``text`` and keep what rating stretches of them needs.

    ``units`` (budget words of each sentence, ``budget.sentence_sizes``) is computed when not
    given.
    """
    lowered = lower_same_length(text)
    body_paragraph = np.where(layout.heading | layout.back_matter, -1, layout.paragraph)
    words = _read_words(lowered, spans, body_paragraph)
    vectors, idf = _sentence_table(words, spans)
    weight = cue_weights(lowered, spans, words)
    weight *= np.where(layout.summarising, 1.0 + SUMMARISING_WEIGHT, 1.0)
    weight *= np.where(layout.opening, 1.0 + OPENING_WEIGHT, 1.0)
    geometry = centroid_geometry(vectors)
    relevance = np.maximum(centrality(vectors, geometry), 0.0) * weight
    exponent = min(1.0, max(MIN_RELEVANCE_EXPONENT, EVIDENCE_WORDS / max(len(words.starts), 1)))
    if units is None:
        units = sentence_sizes(text, spans)[1]
    quality: FloatArray = relevance**exponent * _density(words, spans, units)
    return DocumentScores(quality, vectors, weight, exponent, words, idf, geometry)


def sentence_quality(
    text: str, spans: Sequence[Span], layout: Layout
) -> tuple[FloatArray, sp.csr_matrix]:
    """Summary value per word of each sentence, and the TF-IDF vectors behind it."""
    scores = document_scores(text, spans, layout)
    return scores.quality, scores.vectors.tocsr()
