"""Text cleaning before summarisation: tidy whitespace, keep the content.

Text arrives from PDFs, web forms and word processors with Windows line endings, tabs,
no-break and zero-width spaces, soft hyphens and stray control characters. None of these
carry meaning for a summary, but they break word counts and sentence splitting, so they are
normalised. Everything a reader would see (letters, digits, punctuation, symbols such as µ
and °) is kept.
"""

from __future__ import annotations

import re
import unicodedata

#: Invisible characters that only affect rendering; removed outright. Zero-width (non-)joiners
#: are deliberately not here: they change spelling in scripts such as Persian and in emoji.
_INVISIBLE = dict.fromkeys(map(ord, "\u00ad\u200b\u2060\ufeff"))
_LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028]")
_PARAGRAPH_SEPARATOR = "\u2029"
_SPACES = re.compile(r"[^\S\n]+")  # any whitespace except a newline (tabs, no-break spaces)
_SPACE_AROUND_NEWLINE = re.compile(r" ?\n ?")
_MANY_NEWLINES = re.compile(r"\n{3,}")
_DIGITS = re.compile(r"\d+")
# Unicode category Cc (C0 and C1 controls, DEL) except the newline.
_CONTROLS = re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]")


def clean_text(text: str, *, strip_digits: bool = False) -> str:
    """Normalise Unicode, whitespace and control characters; optionally remove digits.

    Unicode is NFC-normalised (so ``é`` typed as ``e`` + accent matches the precomposed
    letter). Line endings become ``\\n``; runs of spaces, tabs and other blanks become one
    space; a blank line is kept as the paragraph break ``\\n\\n`` and longer runs of blank
    lines shrink to one, because the sentence splitter treats paragraph breaks as sentence
    boundaries (headings and list items stay separate sentences). Single line breaks are kept
    too; the splitter joins hard-wrapped lines within a sentence.

    Args:
        text: Raw text.
        strip_digits: Remove every digit, as the tutorial this server grew from did. Off by
            default because it destroys scientific content: ``3.5 mg/mL`` becomes ``. mg/mL``,
            ``p53`` becomes ``p``, ``IL-6`` becomes ``IL-``, years and citation numbers vanish.
            Offered only to reproduce the old outputs.

    Returns:
        The cleaned text, stripped; empty if ``text`` held nothing visible.
    """
    text = unicodedata.normalize("NFC", text)
    text = text.replace(_PARAGRAPH_SEPARATOR, "\n\n")
    text = _LINE_BREAKS.sub("\n", text)
    text = text.translate(_INVISIBLE)
    text = _SPACES.sub(" ", text)  # before dropping controls: tab is both Cc and a blank
    text = _CONTROLS.sub("", text)
    if strip_digits:
        text = _DIGITS.sub("", text)
    text = _SPACES.sub(" ", text)
    text = _SPACE_AROUND_NEWLINE.sub("\n", text)
    text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()


def count_words(text: str) -> int:
    """Words as the summariser counts them: runs of non-whitespace characters."""
    return len(text.split())
