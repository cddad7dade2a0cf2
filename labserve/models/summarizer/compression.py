"""Shorter versions of a sentence that keep its main clause (compression within extraction).

A word budget of 40 words holds one or two sentences of a paper, so every word spent on a
connective ("however,", "in addition,"), an introductory phrase ("in this study,", "to
test this,") or a trailing side clause (", which ...", "; ...", ", suggesting ...") is a word
of content lost. The same holds for a reporting frame around a finding ("we found that ...",
"our results indicate that ...", "these data suggest that ..."): the clause after "that" is a
sentence of its own and states the finding itself. Each sentence may therefore also be
offered without such a lead-in or frame, without such a tail, or both, and the selection
weighs these versions against the whole sentence (at most one version of a sentence is
chosen). Every version is one contiguous stretch of the sentence, so it still points into the
text; a version without its tail is printed with an ellipsis, as a cut sentence is.

The phrase lists are English grammar (connectives, subordinators, prepositions that open
adverbial phrases, relative and participle clauses, reporting verbs), not fitted to any
corpus. A frame is dropped only when its verb reports (show, find, suggest, conclude ...), so
that "that" opens a complement clause, never a relative one ("we identified genes that
were ..."). A lead-in or frame is dropped only where that leaves the capitalisation intact:
in a text whose sentences start with a capital letter, only when what remains starts with
one too (``However, IL-6 rose``), never to leave a sentence starting in lower case
(``However, the dose``).

Cost: three bounded regex scans of one sentence; sentences longer than ``LONGEST_SHORTENED``
words are not shortened (they are cut to the budget instead, as before).
"""

from __future__ import annotations

import re

from labserve.models.summarizer.sentences import Span

#: Fewest words a shortened version keeps.
MIN_KEPT_WORDS = 6
#: Sentences of more words than this are not shortened.
LONGEST_SHORTENED = 80
#: Most tail cuts considered per sentence (the first ones).
MAX_TAIL_CUTS = 3

_LEAD_WORDS = (
    r"however|moreover|furthermore|additionally|interestingly|notably|importantly|surprisingly"
    r"|remarkably|strikingly|unexpectedly|intriguingly|indeed|thus|therefore|hence|consequently"
    r"|accordingly|similarly|likewise|conversely|alternatively|nevertheless|nonetheless|still"
    r"|finally|first|second|third|firstly|secondly|thirdly|lastly|also|again|next|then"
    r"|subsequently|meanwhile|instead|specifically|overall|altogether|collectively|together"
    r"|briefly|here|initially|previously|recently|currently|generally|typically|ultimately"
    r"|in (?:addition|contrast|particular|summary|conclusion|general|fact|turn|short|brief"
    r"|other words|this (?:study|work|paper|report|article|context|regard|case)"
    r"|the present (?:study|work)|both cases|all cases)"
    r"|by contrast|on the other hand|for (?:example|instance)|of note|as (?:expected|a result"
    r"|such)|to (?:conclude|this end|our knowledge)|at the same time|taken together"
)
_SUBORDINATE = (
    r"although|though|while|whereas|because|since|as|when|whenever|after|before|once|if"
    r"|unless|to|in order to|using|by|based on|given|despite|unlike|compared|consistent with"
    r"|in (?:agreement|line) with|in|on|at|with|without|among|amongst|of|from|for|during|upon"
    r"|through|throughout|within|following|under|over|across|between|beyond|like|besides"
    r"|apart from|due to|owing to|according to|regarding|considering"
)
#: A lead-in: a connective or an adverbial phrase, then a comma, at the start of a sentence.
LEAD_IN = re.compile(rf"(?:{_LEAD_WORDS}|(?:{_SUBORDINATE})\b[^,;:.]{{0,120}}?)\s*,\s+", re.I)
_REPORTERS = (
    r"we|our (?:results|data|findings|observations|analyses|experiments|study|work)"
    r"|(?:these|the present|the) (?:results|data|findings|observations|analyses|experiments)"
    r"|this (?:study|work|paper|analysis|report)"
)
_AUXILIARIES = (
    r"have|has|had|can|could|may|might|also|further|here|now|thus|therefore|together"
    r"|collectively|strongly|clearly|first|previously|thereby|additionally|finally"
)
_REPORTING_VERBS = (
    r"show(?:s|ed|n)?|demonstrat(?:e|es|ed)|find|finds|found|observ(?:e|es|ed)"
    r"|conclud(?:e|es|ed)|suggest(?:s|ed)?|indicat(?:e|es|ed)|reveal(?:s|ed)?|confirm(?:s|ed)?"
    r"|propos(?:e|es|ed)|hypothesi[sz](?:e|es|ed)|report(?:s|ed)?|establish(?:es|ed)?"
    r"|argu(?:e|es|ed)|predict(?:s|ed)?|infer(?:s|red)?|impl(?:y|ies|ied)|highlight(?:s|ed)?"
    r"|illustrat(?:e|es|ed)|prov(?:e|es|ed|en)|believ(?:e|es|ed)|determin(?:e|es|ed)"
    r"|discover(?:s|ed)?|not(?:e|es|ed)"
)
#: A reporting frame before a finding: "we found that", "our results strongly suggest that".
REPORTING_FRAME = re.compile(
    rf"(?:(?:here|thus|therefore|together|collectively|overall|finally),?\s+)?"
    rf"(?:{_REPORTERS})\s+(?:(?:{_AUXILIARIES})\s+){{0,3}}(?:{_REPORTING_VERBS})"
    rf"(?:\s+here)?\s+that\s+",
    re.I,
)
#: What follows a comma inside a list rather than after a lead-in: "transcriptomics and
#: histology were used" after "in the present study a combination of metabolomics, ".
LIST_GOES_ON = re.compile(r"(?:[\w-]+\s+){0,2}?[\w-]+\s*(?:,\s|\s(?:and|or)\s)", re.I)
#: Connectives, relative pronouns, subordinators and participles that open a side clause after
#: a comma.
_TAIL_WORDS = (
    r"which|whose|where|whereas|while|although|though|but|because"
    r"|since|as|even|thus|thereby|respectively|suggesting|indicating|implying|confirming"
    r"|leading|resulting|including|such as|e\.g\.|i\.e\.|with|consistent|similar|compared"
    r"|unlike|in contrast|possibly|probably|likely|perhaps|presumably|especially"
    r"|particularly|mainly|mostly|namely|and thus|and therefore"
)
#: Where a trailing side clause starts: a semicolon, an opening parenthesis, or a comma and
#: a relative pronoun, subordinator, participle or connective, each with the whitespace before
#: it. Written as ``\s*(?:;\s|\s\(|,\s*(?:words)\b)`` reads, but led by the character class
#: a match must start with, so that the regex engine skips ahead to those characters instead
#: of trying the pattern at every position of the sentence (the same matches, found faster).
TAIL = re.compile(
    rf"[\s;,](?:(?<=;)\s|(?<=,)\s*(?:{_TAIL_WORDS})\b"
    rf"|(?<=\s)\s*(?:;\s|\(|,\s*(?:{_TAIL_WORDS})\b))",
    re.I,
)


def _words(text: str, start: int, end: int) -> int:
    return len(text[start:end].split())


def _keeps_a_sentence(text: str, first: int, end: int, *, cased: bool) -> bool:
    """Whether ``text[first:end]`` is long enough, and capitalised as the text's sentences are."""
    if first >= end:
        return False
    return not (cased and text[first].islower()) and _words(text, first, end) >= MIN_KEPT_WORDS


def shortenings(text: str, span: Span, *, cased: bool) -> list[tuple[Span, bool]]:
    """Shorter versions of the sentence at ``span``, each with whether its tail was dropped.

    Args:
        text: The whole text.
        span: The sentence.
        cased: The text starts its sentences with capital letters (see ``sentences``); then
            a lead-in is dropped only if what remains starts with a capital or a non-letter.

    Returns:
        ``((start, end), tail_dropped)`` for each version other than the whole sentence, in a
        fixed order; empty for a sentence too short or too long to shorten.
    """
    start, end = span
    # Fewer than 2 * LONGEST_SHORTENED + 1 characters hold at most LONGEST_SHORTENED words
    # (each but the last needs a space after it): no need to count them.
    if end - start > 2 * LONGEST_SHORTENED and _words(text, start, end) > LONGEST_SHORTENED:
        return []
    starts = [start]
    # A lead-in ends at a comma: a sentence without one has none (and the match is skipped).
    comma = text.find(",", start, end) >= 0
    lead = LEAD_IN.match(text, start, end) if comma else None
    if (
        lead is not None
        and _keeps_a_sentence(text, lead.end(), end, cased=cased)
        and LIST_GOES_ON.match(text, lead.end(), end) is None  # a list's comma: not a lead-in
    ):
        starts.append(lead.end())
    frame = REPORTING_FRAME.match(text, start, end)
    if frame is not None and _keeps_a_sentence(text, frame.end(), end, cased=cased):
        starts.append(frame.end())
    if len(starts) > 1:
        starts = list(dict.fromkeys(starts))
    ends = [(end, False)]
    # A tail holds a semicolon, a comma or an opening parenthesis: a sentence without has none.
    has_tail = comma or text.find(";", start, end) >= 0 or text.find("(", start, end) >= 0
    for tail in TAIL.finditer(text, start, end) if has_tail else ():
        if len(ends) > MAX_TAIL_CUTS:
            break
        ends.append((tail.start(), True))
    if len(starts) == len(ends) == 1:  # nothing to drop: the whole sentence only
        return []
    versions: list[tuple[Span, bool]] = []
    for first in starts:
        for last, dropped in ends:
            if (first, last) == (start, end) or last <= first:
                continue
            if dropped and _words(text, first, last) < MIN_KEPT_WORDS:
                continue
            versions.append(((first, last), dropped))
    return versions
