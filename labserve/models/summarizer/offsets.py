"""Text edits that remember where every character came from.

Cleaning rewrites the caller's text (Unicode normalisation, whitespace collapsing, dropped
control characters, optionally dropped digits), but a summary must be traceable to the text
the caller sent. ``MappedText`` carries, for every character of the edited text, the span of
the original text it stands for, so a sentence found in cleaned text can be pointed at in the
input. Edits are regular-expression substitutions with constant replacements; the offset
arrays are rebuilt with vectorised NumPy operations, so the cost is linear in the text length
even when a pattern matches hundreds of thousands of times.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

IntArray = npt.NDArray[np.int64]

# Runs of non-ASCII characters. NFC can only change text inside such a run, together with the
# ASCII character just before it (a base letter that a combining mark composes with): ASCII
# characters are never the second half of a composition and never reorder, so every other
# boundary is safe to normalise across.
_NON_ASCII = re.compile(r"[^\x00-\x7f]+")


@dataclass(frozen=True)
class MappedText:
    """Text plus, per character, the half-open span of the original text it came from.

    Attributes:
        text: The edited text.
        starts: ``starts[i]`` is where character ``i`` begins in the original text.
        ends: ``ends[i]`` is where it ends (exclusive).
    """

    text: str
    starts: IntArray
    ends: IntArray

    @classmethod
    def identity(cls, text: str) -> MappedText:
        """The unedited text: character ``i`` comes from ``[i, i + 1)``."""
        positions = np.arange(len(text) + 1, dtype=np.int64)
        return cls(text, positions[:-1], positions[1:])

    def source_span(self, start: int, end: int) -> tuple[int, int]:
        """The original span covered by characters ``start`` to ``end`` (exclusive).

        Raises:
            ValueError: For an empty or out-of-range span.
        """
        if not 0 <= start < end <= len(self.text):
            raise ValueError(f"span {start}:{end} is empty or outside 0:{len(self.text)}")
        return int(self.starts[start]), int(self.ends[end - 1])

    def sub(self, pattern: re.Pattern[str], replacement: str) -> MappedText:
        """Replace every (non-empty) match of ``pattern`` with the constant ``replacement``.

        Replacement characters stand for the whole original span of the match they replace.
        """
        matches = [match.span() for match in pattern.finditer(self.text)]
        if not matches:
            return self
        text = pattern.sub(replacement.replace("\\", "\\\\"), self.text)
        bounds = np.asarray(matches, dtype=np.int64)
        match_starts, match_ends = bounds[:, 0], bounds[:, 1]
        inside = np.zeros(len(self.text) + 1, dtype=np.int64)
        np.add.at(inside, match_starts, 1)
        np.add.at(inside, match_ends, -1)
        kept = np.cumsum(inside[:-1]) == 0
        starts, ends = self.starts[kept], self.ends[kept]
        if replacement:
            removed_before = np.concatenate(([0], np.cumsum(match_ends - match_starts)[:-1]))
            where = np.repeat(match_starts - removed_before, len(replacement))
            starts = np.insert(
                starts, where, np.repeat(self.starts[match_starts], len(replacement))
            )
            ends = np.insert(ends, where, np.repeat(self.ends[match_ends - 1], len(replacement)))
        return MappedText(text, starts, ends)

    def strip(self) -> MappedText:
        """Without leading and trailing whitespace."""
        stripped = self.text.strip()
        if len(stripped) == len(self.text):
            return self
        begin = len(self.text) - len(self.text.lstrip())
        end = begin + len(stripped)
        return MappedText(stripped, self.starts[begin:end], self.ends[begin:end])

    def normalize_nfc(self) -> MappedText:
        """Unicode NFC; a character that changed stands for its whole non-ASCII run."""
        if unicodedata.is_normalized("NFC", self.text):
            return self
        pieces: list[str] = []
        starts: list[IntArray] = []
        ends: list[IntArray] = []
        done = 0
        for match in _NON_ASCII.finditer(self.text):
            begin = max(match.start() - 1, done)  # with the ASCII base letter before it
            end = match.end()
            chunk = self.text[begin:end]
            normal = unicodedata.normalize("NFC", chunk)
            if normal == chunk:
                continue
            pieces.append(self.text[done:begin])
            starts.append(self.starts[done:begin])
            ends.append(self.ends[done:begin])
            pieces.append(normal)
            starts.append(np.full(len(normal), self.starts[begin], dtype=np.int64))
            ends.append(np.full(len(normal), self.ends[end - 1], dtype=np.int64))
            done = end
        pieces.append(self.text[done:])
        starts.append(self.starts[done:])
        ends.append(self.ends[done:])
        return MappedText("".join(pieces), np.concatenate(starts), np.concatenate(ends))
