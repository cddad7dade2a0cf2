"""Which sentences fill the word budget best: a knapsack with a redundancy discount.

Each candidate sentence is worth its length in budget words times its quality per word
(``scoring``), less the share it repeats of sentences already chosen: a candidate whose cosine
similarity to a chosen sentence is ``s`` keeps ``1 - s`` of its value, and one above
``REDUNDANCY`` is not taken at all while another way to reach ``minlen`` exists (a duplicate
never is). A dynamic programme over the total length (0/1 knapsack, one state per total of
budget words) finds the most valuable set of whole sentences among the ``CANDIDATES`` best per
word; since value grows with every useful word, it fills the budget as far as whole sentences
allow (between sets of equal value, the longer).

A sentence is cut (and later marked with an ellipsis) only when maxlen forces it: the
sentence is longer than maxlen, so it can never appear whole, yet it is among the best. Its
kept part is worth ``CUT_DISCOUNT`` of the same words whole, only one sentence per summary is
cut, and the cut fills the rest of the budget (at least ``MIN_CUT_WORDS`` of it, or all of a
smaller budget).

Cost: ``O(CANDIDATES * maxlen * CANDIDATES)`` vectorised steps, independent of text length.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

#: Best sentences (by quality per word) the knapsack chooses among; at most 62 (bit masks).
CANDIDATES = 48
#: Best versions of sentences (whole or shortened) it chooses among; at most 62. As many as
#: whole sentences: more cost time (the knapsack is quadratic in them) without better picks.
VERSION_CANDIDATES = 48
#: Cosine similarity at or above which a candidate repeats a chosen sentence.
REDUNDANCY = 0.9
#: Similarity at which a candidate says the same as a chosen sentence: never taken twice.
DUPLICATE = 0.999
#: Value kept by a sentence cut to fit, per word, relative to a whole sentence.
CUT_DISCOUNT = 0.7
#: Fewest budget words worth keeping of a cut sentence (or all of a smaller budget).
MIN_CUT_WORDS = 10
#: Candidate rows x vocabulary up to which similarities are computed on dense arrays.
DENSE_CELLS = 200_000

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True)
class Pick:
    """A chosen sentence: its index, the budget words it takes, whether it is cut."""

    index: int
    units: int
    cut: bool


class _Solution(NamedTuple):
    """A set of candidates and its value."""

    value: float
    total: int
    members: int  # bit mask over candidate positions
    cut: tuple[int, int] | None  # (candidate position, units kept)


def _best(solutions: list[_Solution], minlen: int) -> _Solution | None:
    reaching = [solution for solution in solutions if solution.total >= minlen]
    pool = reaching or solutions
    if not pool:
        return None
    # Between sets of equal value the longer one uses more of the budget: a sentence worth
    # nothing (no word shared with the rest of a short text) still beats an unused word.
    return max(pool, key=lambda solution: (solution.value, solution.total))


def _finalists(value: FloatArray, members: list[int], minlen: int) -> list[_Solution]:
    """Of the best set reaching each total (``value``, ``members``), those ``_best`` can pick.

    ``_best`` takes the most valuable set reaching ``minlen`` (if any) and else the most
    valuable of all, the longer between equals: those two (one if they are the same) are all
    it needs of the sixty or so states, which are not each made into a ``_Solution``.
    """
    totals = (value[1:] > -np.inf).nonzero()[0] + 1  # state 0 (nothing taken): no summary
    values = value[totals]
    solutions = []
    for first in (0, int(np.searchsorted(totals, minlen))):  # all totals, those >= minlen
        if first < len(totals):
            # The last of the highest values: the longest between sets of equal value.
            best = len(totals) - 1 - int(np.argmax(values[first:][::-1]))
            total = int(totals[best])
            solutions.append(_Solution(float(values[best]), total, members[total], None))
    return solutions


def _knapsack(
    units: Sequence[int],
    quality: FloatArray,
    candidates: list[int],
    similarity: FloatArray,
    maxlen: int,
    minlen: int,
    *,
    avoid_repeats: bool,
) -> list[_Solution]:
    """The sets of candidates ``_best`` may choose from: of the best set reaching each total of
    budget words, the most valuable reaching ``minlen`` and the most valuable of all (see
    ``_finalists``), and the best cut of each over-long candidate (see ``_cuts``).

    Per state (a total of budget words) the best set is kept with its value, its members and
    its ``spare``: ``1 - s`` for each candidate, ``s`` being the candidate's highest cosine
    similarity to a member (``-inf`` once that is at or above the repeat limit, so that
    taking the candidate there is worth ``-inf``: one comparison then decides both whether
    taking it is better and whether it is allowed). ``1 - max(s) == min(1 - s)`` exactly, as
    rounding ``1 - s`` is monotonic, so values are the same floats as ``value + width *
    quality * (1 - near)`` with ``near`` the highest similarity.
    """
    k = len(candidates)
    value = np.full(maxlen + 1, -np.inf)
    value[0] = 0.0
    members = [0] * (maxlen + 1)  # bit masks over candidate positions
    spare = np.ones((maxlen + 1, k))
    spare_rows = list(spare)  # views of its rows, made once: the updates below reuse them
    spare_of = np.subtract(1.0, similarity)
    spare_of[similarity >= (REDUNDANCY if avoid_repeats else DUPLICATE)] = -np.inf
    per_word = quality[candidates].tolist()  # Python floats: the same products, less overhead
    widths = [units[index] for index in candidates]
    too_long = [position for position, width in enumerate(widths) if width > maxlen]
    read_limits = _read_limits(widths, maxlen, cuts=bool(too_long))
    for position, width in enumerate(widths):
        if width > maxlen:
            continue
        # 0/1 knapsack step: states 0..maxlen-width may take this sentence, landing `width`
        # higher. All are decided on the old arrays.
        keep = maxlen - width + 1
        gain = width * per_word[position]
        room = spare[:keep, position]
        if 0.0 < gain < math.inf:
            reached = room * gain
            reached += value[:keep]
            taking = reached > value[width:]
        else:  # -inf * gain is NaN or +inf here: test the repeat limit itself
            with np.errstate(invalid="ignore"):
                reached = room * gain + value[:keep]
                taking = (reached > value[width:]) & (room != -np.inf)
        bit = 1 << position
        row = spare_of[position]
        read_limit = read_limits[position]
        # A few states take it: one by one from the top, so that each state is read before
        # it is written (it can only be written from a lower one).
        for state in reversed(taking.nonzero()[0].tolist()):
            value[state + width] = reached[state]
            members[state + width] = members[state] | bit
            if state + width <= read_limit:  # else no later step reads its spare
                np.minimum(spare_rows[state], row, out=spare_rows[state + width])
    solutions = _finalists(value, members, minlen)
    if too_long:
        solutions += _cuts(value, members, spare, too_long, per_word, maxlen)
    return solutions


def _highest_cut_total(maxlen: int) -> int:
    """The highest total of budget words a cut can follow (it keeps at least ``MIN_CUT_WORDS``
    words, or all of a smaller budget): ``_cuts`` reads no state above it."""
    return maxlen - min(maxlen, MIN_CUT_WORDS)


def _read_limits(widths: list[int], maxlen: int, *, cuts: bool) -> list[int]:
    """For each candidate position, the highest state whose ``spare`` a later step still reads.

    A later candidate of width ``w`` reads the states up to ``maxlen - w``, and ``_cuts`` those
    leaving room for a cut. Above the limit a state's ``spare`` need not be kept (updating it
    is most of the knapsack's cost); the limit only falls from one position to the next, so a
    state once left stale is never read.
    """
    limit = _highest_cut_total(maxlen) if cuts else -1
    limits = [limit] * len(widths)
    for position in range(len(widths) - 1, 0, -1):
        if widths[position] <= maxlen:
            limit = max(limit, maxlen - widths[position])
        limits[position - 1] = limit
    return limits


def _cuts(
    value: FloatArray,
    members: list[int],
    spare: FloatArray,
    too_long: list[int],
    per_word: list[float],
    maxlen: int,
) -> list[_Solution]:
    """The best place for a cut of each over-long candidate (see ``_knapsack``)."""
    reachable = np.flatnonzero(value > -np.inf)
    totals = reachable[reachable <= _highest_cut_total(maxlen)]
    rooms = maxlen - totals
    solutions = []
    for position in too_long:
        room = spare[totals, position]
        with np.errstate(invalid="ignore"):  # -inf (a repeat) times 0 is NaN: dropped below
            reached = value[totals] + rooms * per_word[position] * CUT_DISCOUNT * room
        reached = np.where(room != -np.inf, reached, -np.inf)
        if len(reached) == 0 or not np.isfinite(reached.max()):
            continue
        best = int(np.argmax(reached))
        solutions.append(
            _Solution(
                float(reached[best]),
                maxlen,
                members[int(totals[best])],
                (position, int(rooms[best])),
            )
        )
    return solutions


def best_first(quality: FloatArray, eligible: BoolArray) -> list[int]:
    """Indices of the eligible items, highest ``quality`` first (the lower index between equals).

    A stable sort of the ascending indices by ``-quality`` alone: no key tuple per item.
    """
    negated = np.negative(quality).tolist()
    return sorted(np.flatnonzero(eligible).tolist(), key=negated.__getitem__)


def _dense_rows(vectors: sp.csr_matrix, rows: list[int]) -> FloatArray:
    """``vectors[rows].toarray()``, read straight from the CSR arrays.

    scipy's row indexing builds a new sparse matrix first, which cost more than the whole
    similarity computation on a summary's few dozen candidates. Duplicate entries (a
    non-canonical matrix) are summed, as ``toarray`` does. A matrix of at most
    ``DENSE_CELLS`` cells (a short text's) is made dense whole, then its rows taken.
    """
    indptr = vectors.indptr
    n, width = vectors.shape
    if n * width <= DENSE_CELLS and vectors.has_canonical_format:
        whole = np.zeros((n, width))
        whole[np.repeat(np.arange(n), np.diff(indptr)), vectors.indices] = vectors.data
        return whole[rows]
    wanted = np.asarray(rows, dtype=np.int64)
    firsts = indptr[wanted].astype(np.int64)
    lengths = indptr[wanted + 1] - firsts
    entries = np.arange(int(lengths.sum())) + np.repeat(
        firsts - np.cumsum(lengths) + lengths, lengths
    )
    dense = np.zeros((len(rows), vectors.shape[1]))
    where = (np.repeat(np.arange(len(rows)), lengths), vectors.indices[entries])
    if vectors.has_canonical_format:
        dense[where] = vectors.data[entries]
    else:
        np.add.at(dense, where, vectors.data[entries])
    return dense


def choose_sentences(
    units: Sequence[int],
    quality: FloatArray,
    vectors: sp.csr_matrix,
    eligible: BoolArray,
    maxlen: int,
    minlen: int,
    *,
    groups: Sequence[int] | None = None,
    candidates_wanted: int = CANDIDATES,
    rows: Sequence[int] | None = None,
) -> list[Pick]:
    """The most valuable set of sentences within ``maxlen`` budget words.

    Args:
        units: Budget words of each sentence (``budget.span_units``).
        quality: Value per budget word of each sentence.
        vectors: L2-normalised rows, for redundancy between sentences.
        eligible: Sentences that may be chosen at all.
        maxlen: Most budget words in the summary.
        minlen: Fewest budget words wanted; sets reaching it are preferred to more valuable
            ones that do not, first without and then with near-repeats.
        groups: Optional group of each item (the sentence a version belongs to): at most one
            item of a group is chosen.
        candidates_wanted: How many of the best items the knapsack chooses among (<= 62).
        rows: Optional row of ``vectors`` of each item (when items share the rows of a larger
            matrix); by default the item's own index.

    Returns:
        The picks in document order; empty if no eligible sentence exists.
    """
    candidates = best_first(quality, eligible)[:candidates_wanted]
    if not candidates:
        return []
    wanted = candidates if rows is None else [rows[index] for index in candidates]
    if len(candidates) * vectors.shape[1] <= DENSE_CELLS:  # small: dense is faster than sparse
        dense = _dense_rows(vectors, wanted)
        similarity = dense @ dense.T
    else:
        chosen = (vectors if sp.issparse(vectors) else vectors.tocsr())[wanted]
        similarity = np.asarray((chosen @ chosen.T).toarray(), dtype=np.float64)
    owners = [] if groups is None else [groups[index] for index in candidates]
    if len(set(owners)) < len(owners):  # versions of one sentence are never taken together
        owner = np.asarray(owners)
        similarity[owner[:, np.newaxis] == owner[np.newaxis, :]] = 1.0
    np.fill_diagonal(similarity, 0.0)
    best: _Solution | None = None
    for avoid_repeats in (True, False):
        solutions = _knapsack(
            units, quality, candidates, similarity, maxlen, minlen, avoid_repeats=avoid_repeats
        )
        best = _best(solutions, minlen) or best
        if best is not None and best.total >= minlen:
            break
    if best is None:
        return []
    picks = [
        Pick(index, units[index], False)
        for position, index in enumerate(candidates)
        if best.members >> position & 1
    ]
    if best.cut is not None:
        position, kept = best.cut
        picks.append(Pick(candidates[position], kept, True))
    return sorted(picks, key=lambda pick: pick.index)
