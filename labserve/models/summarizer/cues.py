"""What a sentence does in a scientific text, read from its wording (rhetorical cues).

Authors announce their contribution ("here we show", "in this study", "we propose") and
their conclusions ("these results suggest", "in conclusion") in stock phrases, and that is
what abstracts and TLDRs restate. Sentences that point at a figure or table, describe a lab
protocol step or lean on citations carry detail that summaries leave out. These phrase lists
come from the conventions of scientific writing (argumentative zoning), not from any corpus.

The patterns expect lower-cased text (callers lower-case once). They do not start with ``\b``:
a leading word boundary stops Python's regex engine from skipping ahead to the possible first
letters, which made matching five times slower; ``mentions`` checks the boundary instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# What the authors did or found, stated as their contribution. Not "observe": "we observed
# that X rose" reports one result (results sections are full of them); marked as a
# contribution, the first such sentence was taken for the paper's thesis.
_VERBS = (
    r"(?:propos|present|introduc|develop|describ|report|show|demonstrat|find|found|identif"
    r"|provid|investigat|stud|examin|explor|analy[sz]|evaluat|design|deriv|establish|reveal"
    r"|argu|suggest|conclud|address|formulat|prov|extend|generali[sz]|obtain|discover"
    r"|characteri[sz]|focus|outlin|offer|defin|construct|buil|compar|give|gave|consider"
    r"|appl|tackl|hypothesi[sz])\w*"
)
_WORKS = r"(?:study|paper|work|article|report|manuscript)"


def _each(heads: tuple[str, ...], rest: str) -> str:
    """``(?:h1|h2|...)rest`` written as ``h1rest|h2rest|...``: the same matches, in the same order.

    Python's regex engine skips ahead to the possible first characters of a pattern only when
    every top-level alternative starts with a literal character; an alternative that starts
    with a group makes it try the pattern at every position of the text (about three times
    slower on a paper).
    """
    return "|".join(head + rest for head in heads)


_OF_THIS_WORK = rf" (?:this|the present|our) {_WORKS}"
_OF_THIS_WORK_WORD = _OF_THIS_WORK + r"\b"

#: The authors state what they did or found: the content of an abstract or a TLDR.
CONTRIBUTION = re.compile(
    rf"we (?:(?:also|further|then|first|now|here|additionally|finally|therefore|thus) )?"
    rf"{_VERBS}\b"
    rf"|{_each(('in', 'with'), _OF_THIS_WORK_WORD)}"
    rf"|this {_WORKS} (?:\w+ )?(?:shows|demonstrates|provides|presents|reports|describes"
    r"|proposes|introduces|investigates|examines|explores|addresses|aims|focuses)\b"
    rf"|{_each(('aim', 'goal', 'purpose', 'objective'), 's? of' + _OF_THIS_WORK)}"
    r"|here,? we\b"
    r"|our (?:approach|method|model|framework|algorithm|results|findings|analysis|work"
    r"|study|data)\b"
)

_RESULTS_SAY = (
    r" (?:results|findings|data|observations|analyses)"
    r" (?:\w+ )?(?:show|suggest|indicate|demonstrate|reveal|support|imply|confirm|highlight)"
)
#: Results framed as conclusions.
FINDING = re.compile(
    rf"{_each(('these', 'our', 'the present'), _RESULTS_SAY)}"
    r"|in (?:summary|conclusion)\b|to conclude\b|taken together\b|collectively\b"
    r"|overall,|to our knowledge\b|for the first time\b"
)

_POINTERS = (r"fig(?:ure)?s?\.?", "tables?", "supplementary", "additional files?")
_NUMBERED = r"\s*(?:s?\d|<\w+>|[a-h]\b)"
_PROTOCOL_STEPS = (
    r" (?:incubated|washed|centrifuged|stained|diluted|purchased|resuspended"
    r"|harvested|eluted|filtered|dissolved|stored|frozen|fixed|transferred|loaded)\b"
)
#: Pointers to figures and tables (numbered, or "the table"), lab protocol steps, citations:
#: detail, not summary.
DETAIL = re.compile(
    rf"{_each(_POINTERS, _NUMBERED)}|the tables?\b|the figures?\b"
    rf"|{_each(('were', 'was'), _PROTOCOL_STEPS)}"
    r"|according to (?:the )?manufacturer|et al\b|\[\d"
)


#: The literal start of each alternative of each pattern above (the tests check them against
#: the patterns): every match starts with one of them, so only words that can start a head
#: (``scoring`` finds them) need the pattern tried.
HEADS: dict[re.Pattern[str], tuple[str, ...]] = {
    CONTRIBUTION: ("we ", "in ", "with ", "this ", "aim", "goal", "purpose", "objective", "here")
    + ("our ",),
    FINDING: ("these ", "our ", "the present ", "in ", "to conclude", "taken together")
    + ("collectively", "overall,", "to our knowledge", "for the first time"),
    DETAIL: ("fig", "table", "supplementary", "additional file", "the table", "the figure")
    + ("were ", "was ", "according to ", "et al", "["),
}


def matches_at(pattern: re.Pattern[str], text: str, places: Iterable[int]) -> list[int]:
    """Where ``pattern`` matches at one of ``places`` (the first letters of words that can
    start one of its heads) or at one of its heads that starts otherwise (``[``), in order.

    A match that starts inside an earlier one is skipped, as ``finditer`` skips it. Trying the
    pattern at a text's few dozen such words, rather than searching the text for each head,
    is what makes reading the cues cheap.
    """
    candidates = set(places)
    find = text.find
    for head in HEADS[pattern]:
        if not head[0].isalnum():
            at = find(head)
            while at >= 0:
                candidates.add(at)
                at = find(head, at + 1)
    starts: list[int] = []
    done = 0
    match = pattern.match
    for at in sorted(candidates):
        if at >= done and (found := match(text, at)) is not None:
            starts.append(at)
            done = found.end()
    return starts


def mentions(pattern: re.Pattern[str], text: str) -> bool:
    """Whether ``pattern`` matches ``text`` (lower-cased) at the start of a word."""
    for match in pattern.finditer(text):
        start = match.start()
        if start == 0 or not text[start - 1].isalnum() or not text[start].isalnum():
            return True
    return False
