"""What a sentence does in a scientific text, read from its wording (rhetorical cues).

Authors announce their contribution ("here we show", "in this study", "we propose") and
their conclusions ("these results suggest", "in conclusion") in stock phrases, and that is
what abstracts and TLDRs restate. Sentences that point at a figure or table, describe a lab
protocol step or lean on citations carry detail that summaries leave out. These phrase lists
come from the conventions of scientific writing (argumentative zoning), not from any corpus;
they are matched case-insensitively, so lower-cased text works too.
"""

from __future__ import annotations

import re

_VERBS = (
    r"(?:propos|present|introduc|develop|describ|report|show|demonstrat|find|found|identif"
    r"|provid|investigat|stud|examin|explor|analy[sz]|evaluat|design|deriv|establish|reveal"
    r"|argu|suggest|conclud|address|formulat|prov|extend|generali[sz]|obtain|observ|discover"
    r"|characteri[sz]|focus|outlin|offer|defin|construct|buil|compar|give|gave|consider"
    r"|appl|tackl|hypothesi[sz])\w*"
)
_ANNOUNCERS = (
    r"(?:also|further|then|first|now|here|additionally|finally|furthermore|therefore|thus)"
)

#: The authors state what they did or found: the content of an abstract or a TLDR.
CONTRIBUTION = re.compile(
    rf"(?:^|[,;:] |\b(?:here|now|therefore|thus|then|also|first|finally|instead|together),? )"
    rf"we (?:{_ANNOUNCERS} )?{_VERBS}\b"
    r"|\b(?:in|with) (?:this|the present|our) (?:study|paper|work|article|report|manuscript)\b"
    r"|\bthis (?:study|paper|work|article|report|manuscript) (?:\w+ )?(?:shows|demonstrates"
    r"|provides|presents|reports|describes|proposes|introduces|investigates|examines"
    r"|explores|addresses|aims|focuses)\b"
    r"|\b(?:the )?(?:aim|goal|purpose|objective)s? of (?:this|the present|our) (?:study|paper|work)"
    r"|\bhere,? we\b"
    r"|\bour (?:approach|method|model|framework|algorithm|results|findings|analysis|work|study"
    r"|data)\b",
    re.IGNORECASE,
)

#: Results framed as conclusions.
FINDING = re.compile(
    r"\b(?:(?:these|our|the present) (?:results|findings|data|observations|analyses)"
    r" (?:\w+ )?(?:show|suggest|indicate|demonstrate|reveal|support|imply|confirm|highlight)"
    r"|in (?:summary|conclusion)|to conclude|taken together|collectively|overall,"
    r"|to our knowledge|for the first time|we conclude)\b",
    re.IGNORECASE,
)

#: Pointers to figures and tables, lab protocol steps, citations: detail, not summary.
DETAIL = re.compile(
    r"\b(?:fig(?:ure)?s?\.?|tables?|supplementary|additional files?)\s*(?:s?\d|<\w+>|[a-h]\b)"
    r"|\b(?:were|was) (?:incubated|washed|centrifuged|stained|diluted|purchased|resuspended"
    r"|harvested|eluted|filtered|dissolved|stored|frozen|fixed|transferred|loaded)\b"
    r"|\baccording to (?:the )?manufacturer|\bet al\b|\[\d",
    re.IGNORECASE,
)
