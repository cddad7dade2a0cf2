"""How likely each word of a document is to be used by a person summarising it.

A summary draws its words from the document, so the density score (``scoring``) rates a
stretch of text by the expected number of its words a summary would use. That needs each
word's chance to be in the summary:

* **Short or unstructured texts** (fewer than ``MIN_PARAGRAPHS`` body paragraphs): the more
  often the text uses a word, the likelier a summary is to use it. A word making up a share
  ``f`` of the words turns up in a summary of ``SUMMARY_WORDS`` words with probability
  ``1 - (1 - f) ** SUMMARY_WORDS``.
* **Long texts made of paragraphs** (papers, reports): what counts is how widely a word is
  spread, the share of body paragraphs using it. A paper's abstract restates its main
  content, which recurs across its parts (background, methods, results, discussion); a word
  repeated many times within one paragraph (a method's reagent, a table's variable) is local
  detail however often it occurs. Words of the opening and closing paragraphs (which state
  the topic and the conclusions, the parts an abstract restates) get ``FRAME_WEIGHT`` of
  their missing chance added (half for each of the two they appear in).

Function words count too (a summary needs them as much as any text): they are spread over
every paragraph and get chances near 1. Both estimates are linear in the number of words.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Length of the summary a person would write of a long document (a paper's abstract).
SUMMARY_WORDS = 250
#: Body paragraphs a text needs before a word's spread over them is its chance.
MIN_PARAGRAPHS = 5
#: Share of its missing chance a word gains by appearing in the opening and closing paragraphs.
FRAME_WEIGHT = 0.3


def _ranks(values: IntArray) -> IntArray:
    """Each value's rank among the distinct values (``np.unique(values, return_inverse=True)``).

    Paragraph numbers of words in text order never decrease, so the ranks are a running count
    of changes; ``np.unique`` sorts first, which cost as much as the rest of this module.
    """
    steps = values[1:] != values[:-1]
    if len(values) > 1 and np.all(values[1:] >= values[:-1]):
        return np.concatenate(([0], np.cumsum(steps))).astype(np.int64)
    return np.unique(values, return_inverse=True)[1].astype(np.int64)


def may_spread(paragraphs: IntArray) -> bool:
    """Whether words in these paragraphs (-1 outside the body) could have their chances by
    spread: only with ``MIN_PARAGRAPHS`` distinct body paragraphs among them, so a caller
    whose sentences are in fewer need not place every word in a paragraph."""
    body = paragraphs[paragraphs >= 0]
    if len(body) < MIN_PARAGRAPHS or int(body.max()) - int(body.min()) < MIN_PARAGRAPHS - 1:
        return False  # too few sentences, or paragraph numbers too close, for enough of them
    return len(np.unique(body)) >= MIN_PARAGRAPHS


def term_chances(
    word_terms: IntArray, term_count: int, word_paragraphs: IntArray | None = None
) -> FloatArray:
    """Chance of each term to be in a summary of the text.

    Args:
        word_terms: The term (0 .. ``term_count - 1``) of each word of the text, in order.
        term_count: How many distinct terms there are.
        word_paragraphs: Body paragraph of each word (increasing through the text), or -1 for
            a word outside the body (headings, back matter); ``None`` if unknown.
    """
    body = word_paragraphs is not None and word_paragraphs >= 0
    if word_paragraphs is not None and np.any(body):
        terms = word_terms[body]
        paragraph = _ranks(word_paragraphs[body])
        count = int(paragraph.max()) + 1
        if count >= MIN_PARAGRAPHS:
            used = np.unique(terms * count + paragraph)  # each (term, paragraph) once
            spread = np.bincount(used // count, minlength=term_count) / count
            frame = np.zeros(term_count)
            frame[np.unique(terms[paragraph == 0])] += 0.5
            frame[np.unique(terms[paragraph == count - 1])] += 0.5
            chances: FloatArray = 1.0 - (1.0 - spread) * (1.0 - FRAME_WEIGHT * frame)
            return chances
    share = np.bincount(word_terms, minlength=term_count) / max(len(word_terms), 1)
    by_share: FloatArray = 1.0 - (1.0 - share) ** SUMMARY_WORDS
    return by_share
