"""What a scored CSV file says, in a few lines a person reads on the page.

The summary is read from the scored file's own text as it streams by (its ``error`` column
and, for a classifier, its ``label`` column), so the page and the file can never disagree,
and the file is scored once.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass, field

from labserve.models.csv_scoring import ERROR_COLUMN, LABEL_COLUMN

#: The scored file's column of out-of-training-range notes (``TabularModel.output_columns``).
WARNINGS_COLUMN = "warnings"
#: Problems shown on the page; the scored file's ``error`` column has all of them.
SHOWN_PROBLEMS = 10


@dataclass(frozen=True)
class RowProblem:
    """A row that was not scored: its number (1 = the first row after the header), why."""

    row: int
    message: str


@dataclass
class BatchSummary:
    """Counts of one scored file.

    Attributes:
        rows: data rows in the file (blank lines are not rows).
        problems: rows with an error message instead of a prediction.
        first_problems: the first ``SHOWN_PROBLEMS`` of them, in file order.
        labels: rows per predicted label (empty for a regressor).
        warned: scored rows with a value outside the training range (``warnings`` column).
    """

    rows: int = 0
    problems: int = 0
    first_problems: list[RowProblem] = field(default_factory=list)
    labels: dict[str, int] = field(default_factory=dict)
    warned: int = 0

    @property
    def scored(self) -> int:
        return self.rows - self.problems

    @property
    def more_problems(self) -> int:
        return self.problems - len(self.first_problems)

    def label_shares(self) -> list[tuple[str, int, float]]:
        """(label, rows, share of the scored rows), most frequent first."""
        ranked = sorted(self.labels.items(), key=lambda item: (-item[1], item[0]))
        return [
            (label, count, count / self.scored if self.scored else 0.0) for label, count in ranked
        ]


class SummaryReader:
    """Feed it the scored file's text chunk by chunk (each ends at a row's end, as the
    scorer's chunks do), then read ``summary``."""

    def __init__(self) -> None:
        self.summary = BatchSummary()
        self._error_at: int | None = None
        self._label_at: int | None = None
        self._warnings_at: int | None = None

    def feed(self, chunk: str) -> None:
        records = csv.reader(io.StringIO(chunk, newline=""))
        if self._error_at is None:
            header = next(records)
            self._error_at = len(header) - 1
            if header[self._error_at] != ERROR_COLUMN:
                raise ValueError(f"not a scored file: its last column is not {ERROR_COLUMN!r}")
            self._label_at = last_index(header, LABEL_COLUMN)
            self._warnings_at = last_index(header, WARNINGS_COLUMN)
        self._count(records)

    def _count(self, records: Iterator[list[str]]) -> None:
        summary, error_at, label_at = self.summary, self._error_at, self._label_at
        warnings_at = self._warnings_at
        assert error_at is not None
        labels = summary.labels
        for record in records:
            if not record:
                continue
            summary.rows += 1
            message = record[error_at]
            if message:
                summary.problems += 1
                if len(summary.first_problems) < SHOWN_PROBLEMS:
                    summary.first_problems.append(RowProblem(summary.rows, message))
                continue
            if label_at is not None:
                label = record[label_at]
                labels[label] = labels.get(label, 0) + 1
            if warnings_at is not None and record[warnings_at]:
                summary.warned += 1


def last_index(header: list[str], name: str) -> int | None:
    """Where the scorer put column ``name`` (it is added after the input's columns, which
    cannot hold a column of that name), or None."""
    for index in range(len(header) - 1, -1, -1):
        if header[index] == name:
            return index
    return None
