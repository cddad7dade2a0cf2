"""Scoring CSV files of any size in constant memory, with errors reported per row.

The input is read in chunks of rows; each chunk is parsed and checked with numpy (the same
rules as the JSON schema: a number, finite, within the feature's hard limits), the valid rows
are predicted in one call, and the chunk is written out before the next is read. A bad cell
fails its row (an ``error`` column names the column and the problem), never the file; only a
file without the required columns is refused, before any output.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, Protocol

import numpy as np

from labserve.models.errors import InvalidInput
from labserve.models.features import FeatureSpec

DEFAULT_CHUNK_ROWS = 10_000
OUTPUT_COLUMNS = ("label", "probability_malignant", "error")


class TabularModel(Protocol):
    features: Sequence[FeatureSpec]

    def predict_arrays(self, X: np.ndarray) -> tuple[np.ndarray, np.ndarray]: ...


@dataclass
class ScoringTally:
    """What a scoring run did: rows read, rows refused, labels given, input checksum."""

    rows: int = 0
    errors: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    sha256: Any = field(default_factory=hashlib.sha256)


def _hashing(lines: Iterable[str], tally: ScoringTally) -> Iterator[str]:
    """Feed the checksum, and drop a byte-order mark (Excel writes one) before parsing."""
    first = True
    for line in lines:
        tally.sha256.update(line.encode("utf-8"))
        if first:
            line, first = line.removeprefix("\ufeff"), False
        yield line


def _parse_column(cells: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Floats for a column of cells, and a mask of the cells that are not numbers."""
    try:
        return np.asarray(cells, dtype=np.float64), np.zeros(len(cells), dtype=bool)
    except ValueError:
        values = np.empty(len(cells), dtype=np.float64)
        bad = np.zeros(len(cells), dtype=bool)
        for i, cell in enumerate(cells):
            try:
                values[i] = float(cell)
            except ValueError:
                values[i], bad[i] = np.nan, True
        return values, bad


class CsvScorer:
    """Reads the header at once (so a bad file fails before any output), then streams chunks."""

    def __init__(
        self,
        model: TabularModel,
        lines: Iterable[str],
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        on_chunk: Callable[[int], None] | None = None,
    ) -> None:
        self.model = model
        self.chunk_rows = chunk_rows
        self.on_chunk = on_chunk
        self.tally = ScoringTally()
        self._reader = csv.reader(_hashing(lines, self.tally))
        try:
            header = next(self._reader)
        except StopIteration:
            raise InvalidInput("the CSV is empty: its first row must name the columns") from None
        except csv.Error as exc:
            raise InvalidInput(f"the CSV header cannot be read: {exc}") from None
        self.header = [name.strip() for name in header]
        clashes = sorted(set(self.header) & set(OUTPUT_COLUMNS))
        if clashes:
            raise InvalidInput(f"the CSV already has a column {clashes[0]!r}", field=clashes[0])
        self.positions: list[int] = []
        for spec in model.features:
            if self.header.count(spec.name) != 1:
                problem = "is missing" if spec.name not in self.header else "appears twice"
                raise InvalidInput(f"column {spec.name!r} {problem} in the header", field=spec.name)
            self.positions.append(self.header.index(spec.name))

    def chunks(self) -> Iterator[str]:
        """CSV text: the header with the prediction columns, then each scored chunk."""
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([*self.header, *OUTPUT_COLUMNS])
        yield out.getvalue()
        while True:
            try:
                rows = list(islice(self._reader, self.chunk_rows))
            except csv.Error as exc:
                raise InvalidInput(
                    f"the CSV cannot be read after row {self.tally.rows}: {exc}"
                ) from None
            if not rows:
                return
            yield self._score(rows)
            if self.on_chunk is not None:
                self.on_chunk(len(rows))

    def _score(self, rows: list[list[str]]) -> str:
        n, width = len(rows), len(self.header)
        errors: list[str] = [""] * n
        ragged = np.array([len(row) != width for row in rows])
        for i in np.flatnonzero(ragged):
            errors[i] = f"row has {len(rows[i])} cells; the header has {width}"
        X = np.empty((n, len(self.positions)), dtype=np.float64)
        bad = ragged.copy()
        for j, (spec, position) in enumerate(zip(self.model.features, self.positions, strict=True)):
            cells = [row[position] if position < len(row) else "" for row in rows]
            values, not_number = _parse_column(cells)
            X[:, j] = values
            not_finite = ~not_number & ~np.isfinite(values)
            with np.errstate(invalid="ignore"):
                too_low = ~not_number & ~not_finite & (values < spec.minimum)
                too_high = ~not_number & ~not_finite & (values > spec.maximum)
            for mask, message in (
                (not_number, "must be a number"),
                (not_finite, "must be a finite number (not NaN or infinity)"),
                (too_low, f"must be at least {spec.minimum}"),
                (too_high, f"must be at most {spec.maximum}"),
            ):
                for i in np.flatnonzero(mask & ~bad):
                    errors[i] = f"{spec.name}: {message}"
                bad |= mask
        labels = np.full(n, "", dtype=object)
        probabilities: list[str] = [""] * n
        good = np.flatnonzero(~bad)
        if len(good):
            predicted, probability = self.model.predict_arrays(X[good])
            labels[good] = predicted
            for index, p in zip(good.tolist(), probability.tolist(), strict=True):
                probabilities[index] = repr(p)
        self.tally.rows += n
        self.tally.errors += int(bad.sum())
        for label in labels[good]:
            self.tally.labels[label] = self.tally.labels.get(label, 0) + 1
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        # ragged rows are padded or cut to the header's width so the new columns line up;
        # their error says how many cells they had
        writer.writerows(
            [*(row + [""] * (width - len(row)))[:width], label, probability, error]
            for row, label, probability, error in zip(
                rows, labels, probabilities, errors, strict=True
            )
        )
        return out.getvalue()
