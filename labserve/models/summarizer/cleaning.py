"""Text cleaning before summarisation: tidy whitespace, keep the content.

Text arrives from PDFs, web forms and word processors with Windows line endings, tabs,
no-break and zero-width spaces, soft hyphens and stray control characters. None of these
carry meaning for a summary, but they break word counts and sentence splitting, so they are
normalised. Everything a reader would see (letters, digits, punctuation, symbols such as µ
and °) is kept.

The same edits exist twice: ``clean_text`` on plain strings (fast, used for every request) and
``clean_text_mapped``, which also records where each cleaned character came from so that a
summary sentence can be traced back to the caller's text. Both apply the one list of steps
below, so they cannot drift apart.
"""

from __future__ import annotations

import re
import unicodedata

from labserve.models.summarizer.offsets import MappedText

# Each step is a pattern and its constant replacement. Patterns match only where the text
# changes (a single plain space is left alone), which keeps offset tracking cheap.
_PARAGRAPH_SEPARATOR = (re.compile("\u2029"), "\n\n")
_LINE_BREAKS = (re.compile(r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028]"), "\n")
#: Invisible characters that only affect rendering; removed outright. Zero-width (non-)joiners
#: are deliberately not here: they change spelling in scripts such as Persian and in emoji.
_INVISIBLE = (re.compile("[\u00ad\u200b\u2060\ufeff]"), "")
#: Any whitespace except a newline (tabs, no-break spaces): runs become one space.
_SPACES = (re.compile(r"[^\S\n]{2,}|[^\S\n ]"), " ")
#: Unicode category Cc (C0 and C1 controls, DEL) except the newline.
_CONTROLS = (re.compile(r"[\x00-\x09\x0b-\x1f\x7f-\x9f]"), "")
_DIGITS = (re.compile(r"\d+"), "")
_SPACE_AROUND_NEWLINE = (re.compile(r" \n ?|\n "), "\n")
_MANY_NEWLINES = (re.compile(r"\n{3,}"), "\n\n")

# Spaces are collapsed before dropping controls (a tab is both Cc and a blank) and again
# after dropping digits or controls, which can leave two spaces side by side.
_BEFORE_DIGITS = (_PARAGRAPH_SEPARATOR, _LINE_BREAKS, _INVISIBLE, _SPACES, _CONTROLS)
_AFTER_DIGITS = (_SPACES, _SPACE_AROUND_NEWLINE, _MANY_NEWLINES)
_Step = tuple[re.Pattern[str], str]


def _steps(strip_digits: bool) -> tuple[_Step, ...]:
    return (*_BEFORE_DIGITS, *((_DIGITS,) if strip_digits else ()), *_AFTER_DIGITS)


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
    for pattern, replacement in _steps(strip_digits):
        text = pattern.sub(replacement, text)
    return text.strip()


def clean_text_mapped(text: str, *, strip_digits: bool = False) -> MappedText:
    """``clean_text``, remembering for each cleaned character its span in ``text``.

    ``clean_text_mapped(t).text == clean_text(t)`` for every ``t``; see ``MappedText`` for how
    a span of the cleaned text is mapped back.
    """
    mapped = MappedText.identity(text).normalize_nfc()
    for pattern, replacement in _steps(strip_digits):
        mapped = mapped.sub(pattern, replacement)
    return mapped.strip()


def count_words(text: str) -> int:
    """Words as the summariser counts them: runs of non-whitespace characters."""
    return len(text.split())
