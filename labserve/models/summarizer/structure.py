"""Where a sentence stands in the document: paragraphs, headings and sections.

Papers are built the same way (background, methods, results, discussion, conclusions, then
back matter), and their abstracts restate the parts that summarise: the conclusions (or an
abstract or summary section, when the text has one). Back matter (acknowledgements,
competing interests, author contributions, funding, references) is never summary material.

Sections are recognised by their headings: a paragraph of one short line without closing
punctuation ("Conclusions", "2. Methods", "Competing interests"). Many texts have no headings
left (copied from a web page, or preprocessed corpora); there, a long text's last paragraph
stands for its conclusions, which is where papers, reports and theses put them.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from labserve.models.summarizer.sentences import Span, span_starts

#: A heading has at most this many words (and characters).
HEADING_WORDS = 12
HEADING_CHARS = 200
#: Body paragraphs a text needs before its last one is taken for its conclusions.
MIN_PARAGRAPHS = 5

_PARAGRAPH_BREAK = re.compile(r"\n[^\S\n]*\n")
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*|[ivx]+)[.)]?\s+")
_SUMMARISING_HEADING = re.compile(
    r"(?:abstract|summary|conclusions?|concluding remarks|outlook"
    r"|(?:summary|discussion) and conclusions?|conclusions? and (?:outlook|perspectives?"
    r"|future (?:work|directions)))"
)
_BACK_MATTER_HEADING = re.compile(
    r"(?:acknowledge?ments?|competing interests?|conflicts? of interests?|declarations?"
    r"|(?:authors?['’]? )?contributions?|author contributions?|funding(?: information)?"
    r"|references|bibliography|abbreviations|additional files?|supplementary \w+"
    r"|(?:data )?availability.*|ethics.*|consent.*|notes|footnotes)"
)

BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Layout:
    """Per-sentence structure flags (arrays parallel to the sentence list).

    Attributes:
        paragraph: Index of the paragraph each sentence is in.
        heading: The sentence is a heading.
        back_matter: The sentence is in acknowledgements, references and the like.
        summarising: The sentence is in an abstract, summary or conclusions section, or
            (in a long text without such headings) in its last body paragraph.
        opening: The sentence is the first of the body (not a heading or back matter).
    """

    paragraph: IntArray
    heading: BoolArray
    back_matter: BoolArray
    summarising: BoolArray
    opening: BoolArray


def _heading_name(sentence: str) -> str:
    return _NUMBERING.sub("", sentence.strip().lower()).rstrip(":").strip()


def _is_heading(sentence: str) -> bool:
    return len(sentence.split()) <= HEADING_WORDS and sentence.rstrip()[-1:] not in ".!?"


def analyse_layout(text: str, spans: Sequence[Span]) -> Layout:
    """Paragraphs, headings and sections of the sentences at ``spans`` in ``text``."""
    n = len(spans)
    breaks = [match.start() for match in _PARAGRAPH_BREAK.finditer(text)]
    if breaks:
        paragraph = np.searchsorted(breaks, span_starts(spans)).astype(np.int64)
        sizes = np.bincount(paragraph, minlength=int(paragraph.max(initial=0)) + 1)
        alone = np.flatnonzero(sizes[paragraph] == 1).tolist()
        paragraphs = int(np.count_nonzero(sizes))
    else:  # one paragraph (a short text, or one without blank lines)
        paragraph = np.zeros(n, dtype=np.int64)
        alone = [0] if n == 1 else []
        paragraphs = min(n, 1)
    heading = np.zeros(n, dtype=bool)
    for index in alone:  # headings stand alone
        start, end = spans[index]
        heading[index] = end - start <= HEADING_CHARS and _is_heading(text[start:end])
    back_matter = np.zeros(n, dtype=bool)
    summarising = np.zeros(n, dtype=bool)
    opening = np.zeros(n, dtype=bool)
    if not heading.any():  # no sections (most texts): every sentence is in the body
        if paragraphs >= MIN_PARAGRAPHS:  # paragraphs ascend: the last is the highest
            summarising = paragraph == paragraph[-1]
        opening[:1] = True
        return Layout(paragraph, heading, back_matter, summarising, opening)
    found_summarising = False
    section_start, section = 0, ""
    boundaries: list[int] = [*np.flatnonzero(heading).tolist(), n]
    for index in boundaries:
        # Sentences from the previous heading up to this one belong to its section.
        back_matter[section_start:index] = section == "back"
        summarising[section_start:index] = section == "summarising"
        if index == n:
            break
        name = _heading_name(text[spans[index][0] : spans[index][1]])
        if _SUMMARISING_HEADING.fullmatch(name):
            section, found_summarising = "summarising", True
        elif _BACK_MATTER_HEADING.fullmatch(name):
            section = "back"
        else:
            section = ""
        section_start = index + 1
    back_matter &= ~heading
    summarising &= ~heading
    if not found_summarising:
        body = ~heading & ~back_matter
        body_paragraphs = np.unique(paragraph[body])
        if len(body_paragraphs) >= MIN_PARAGRAPHS:
            summarising = body & (paragraph == body_paragraphs[-1])
    first = np.flatnonzero(~heading & ~back_matter)[:1]
    opening[first] = True
    return Layout(paragraph, heading, back_matter, summarising, opening)
