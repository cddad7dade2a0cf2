"""Scoring CSV files of any size in constant memory, with errors reported per row.

The input is read in chunks of rows; each chunk is parsed and checked with numpy (the same
rules as the JSON schema: a number, finite, within the feature's hard limits; a category one
of the known values), the valid rows are predicted in one call, and the chunk is written out
before the next is read. A bad cell fails its row (an ``error`` column names the column and
the problem), never the file; only a file whose header lacks a feature column is refused,
before any output.

Any ``TabularModel`` can be scored this way; nothing here knows about HTTP.

Safe cells (on unless ``safe_cells=False``): a spreadsheet runs a cell that starts with
``=``, ``+``, ``-``, ``@``, a tab or a carriage return as a formula, so such a cell of the
output, echoed input and header included, gets a leading ``'`` and is read as text (OWASP's
CSV injection advice). A cell that reads as a finite number (``-1.5``, ``+3``, ``-2e-4``)
is left as it is: a spreadsheet reads it as that number and runs nothing. Separators, quotes
and line breaks inside a cell are always quoted, so no cell can start another one.
"""

from __future__ import annotations

import csv
import gc
import hashlib
import io
import re
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, TypeGuard

import numpy as np

from labserve.models.errors import InvalidInput
from labserve.models.features import FeatureSpec
from labserve.models.tabular import Table, TabularModel

DEFAULT_CHUNK_ROWS = 10_000
#: First characters that make a spreadsheet evaluate a cell.
FORMULA_STARTS = frozenset("=+-@\t\r")
#: Searched in "\n" + the cells of a column joined by "\n": some cell may need a prefix.
_FORMULA_START = re.compile(r"\n[=+\-@\t\r]")
ERROR_COLUMN = "error"
#: The output column whose values ``ScoringTally.labels`` counts.
LABEL_COLUMN = "label"


def supports_csv(model: object) -> TypeGuard[TabularModel]:
    """True when ``model`` can score CSV files (the web layer and CLI ask before scoring)."""
    return isinstance(model, TabularModel)


@dataclass
class ScoringTally:
    """What a scoring run has done so far; read it for a progress bar or an audit record.

    Attributes:
        rows: data rows read (blank lines are skipped and not counted).
        errors: rows given an error message instead of a prediction.
        labels: how many rows got each value of the ``label`` output column.
        sha256: running hash of the text read (UTF-8), for the audit record.
    """

    rows: int = 0
    errors: int = 0
    labels: dict[str, int] = field(default_factory=dict)
    sha256: Any = field(default_factory=hashlib.sha256)

    @property
    def scored(self) -> int:
        return self.rows - self.errors


def score_csv(
    model: TabularModel,
    source: Iterable[str] | str,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
    on_chunk: Callable[[int], None] | None = None,
    budget: Callable[[int], str | None] | None = None,
    safe_cells: bool = True,
) -> CsvScorer:
    """Score CSV text lazily: iterate the result for output text, read ``.tally`` for counts.

    The header is read and checked now, so a file missing a feature column raises
    ``InvalidInput`` before any output exists; everything after it is read one chunk at a
    time as the output is consumed.

    Args:
        model: a tabular model (``supports_csv(model)`` is true), already loaded.
        source: lines of CSV text (an open text file, a decoded upload, any iterable of
            lines), or the whole text as one string.
        chunk_rows: rows read, checked, predicted and written per step; memory is bounded by
            this, not by the file.
        on_chunk: called with the number of rows after each chunk is yielded.
        budget: asked before a chunk is scored, with its number of rows: None to go on, or
            why not; then that chunk and every later row become error rows with that message,
            unscored (the file is still written whole, so the caller sees which rows to send
            again).
        safe_cells: prefix cells a spreadsheet would run as formulas with ``'`` (see the
            module's docstring); False writes every cell as read, for pipelines.

    Returns:
        An iterator of CSV text chunks: the header (input columns as given, then the model's
        ``output_columns`` and ``error``), then the scored rows.

    Raises:
        InvalidInput: the text is empty, or its header lacks (or repeats) a feature column,
            or already has an output column; ``field`` names the (first) column and the
            message names every missing one. Once the header is read, nothing stops the
            scoring: an unreadable record (a cell over the csv module's size limit) or a row
            past ``budget`` becomes an error row.
    """
    return CsvScorer(
        model,
        source,
        chunk_rows=chunk_rows,
        on_chunk=on_chunk,
        budget=budget,
        safe_cells=safe_cells,
    )


class CsvScorer(Iterator[str]):
    """One pass over one CSV: the header is checked at construction, rows stream on demand.

    Most chunks are plain (no quotes, no stray carriage returns): their lines are split on
    commas and written back as read with the prediction cells appended, about three times
    faster than the csv module's parse and re-quote. A chunk with quotes goes through
    ``csv.reader`` and ``csv.writer`` instead; both paths give the same output for the same
    rows (tests/models/test_csv_scoring.py checks it).
    """

    def __init__(
        self,
        model: TabularModel,
        source: Iterable[str] | str,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        on_chunk: Callable[[int], None] | None = None,
        budget: Callable[[int], str | None] | None = None,
        safe_cells: bool = True,
    ) -> None:
        if chunk_rows < 1:
            raise ValueError("chunk_rows must be at least 1")
        if isinstance(source, str):
            source = io.StringIO(source, newline="")  # lines end at CR, LF or CRLF
        self.model = model
        self.chunk_rows = chunk_rows
        self.on_chunk = on_chunk
        self.budget = budget
        self.refusal: str | None = None  # once the budget says no, every later row says why
        self.safe_cells = safe_cells
        self.tally = ScoringTally()
        self._feed = _LineFeed(source, self.tally.sha256)
        self._reader = csv.reader(self._feed)
        self.header = self._read_header()
        self.output_columns = [*model.output_columns, ERROR_COLUMN]
        self.positions = self._feature_positions([name.strip() for name in self.header])
        self._output = self._generate()

    def __next__(self) -> str:
        return next(self._output)

    def chunks(self) -> Iterator[str]:
        """The output text chunks (the same single pass as iterating the scorer)."""
        return self._output

    # -- header -------------------------------------------------------------------------------
    def _read_header(self) -> list[str]:
        try:
            header = next((row for row in self._reader if row), None)
        except csv.Error as exc:
            raise InvalidInput(f"the CSV header cannot be read: {exc}") from None
        if header is None:
            raise InvalidInput("the CSV is empty: its first row must name the columns")
        return header

    def _feature_positions(self, names: list[str]) -> list[int]:
        for output in self.output_columns:
            if output in names:
                raise InvalidInput(
                    f"the CSV already has a column {output!r} (a scored file?); labserve adds "
                    f"{', '.join(self.output_columns)}: rename or remove it",
                    field=output,
                )
        missing = [spec.name for spec in self.model.features if spec.name not in names]
        if missing:  # every missing column at once: the user fixes the file once, not n times
            raise InvalidInput(self._missing_message(missing, names), field=missing[0])
        positions: list[int] = []
        for spec in self.model.features:
            count = names.count(spec.name)
            if count > 1:
                raise InvalidInput(
                    f"column {spec.name!r} appears {count} times in the header", field=spec.name
                )
            positions.append(names.index(spec.name))
        return positions

    def _missing_message(self, missing: list[str], names: list[str]) -> str:
        if len(missing) == 1:
            absent = f"column {missing[0]!r} is"
        else:
            absent = f"{len(missing)} columns ({', '.join(map(repr, missing))}) are"
        features = ", ".join(spec.name for spec in self.model.features)
        message = f"{absent} missing from the CSV header; it must name every feature: {features}"
        if len(names) == 1 and any(sep in names[0] for sep in ";\t|"):
            message += " (this file does not look comma-separated)"
        return message

    # -- body ---------------------------------------------------------------------------------
    def _generate(self) -> Iterator[str]:
        header = [*self.header, *self.output_columns]
        yield _csv_text([list(map(safe_cell, header)) if self.safe_cells else header])
        while lines := self._feed.take(self.chunk_rows):
            unreadable: dict[int, str] = {}
            text = ""
            with _cyclic_gc_paused():
                plain = _plain_lines(lines)
                if plain is not None:
                    rows = [line.split(",") for line in plain]
                else:
                    self._feed.put_back(lines)
                    rows, unreadable = self._read_records(len(lines))
                if rows:
                    if self.refusal is None and self.budget is not None:
                        self.refusal = self.budget(len(rows))
                    text = self._score(rows, plain, unreadable)
            if rows:
                yield text
                if self.on_chunk is not None:
                    self.on_chunk(len(rows))

    def _read_records(self, count: int) -> tuple[list[list[str]], dict[int, str]]:
        """Up to ``count`` records through the csv module, and which of them were unreadable.

        A record the csv module refuses (a cell over its size limit, say) becomes an error row
        and reading goes on with the next one: the scored file never ends silently early.
        """
        read: list[list[str]] = []
        unreadable: dict[int, str] = {}
        while len(read) < count:
            try:
                row = next(self._reader)
            except StopIteration:
                break
            except csv.Error as exc:
                unreadable[len(read)] = str(exc)
                read.append([])
                continue
            if row:  # a blank line carries nothing
                read.append(row)
        return read, unreadable

    def _score(
        self, rows: list[list[str]], plain: list[str] | None, unreadable: dict[int, str]
    ) -> str:
        """Check, predict and format one chunk; ``plain`` holds the rows' lines when simple."""
        n, width = len(rows), len(self.header)
        problems: dict[int, list[str]] = {}
        ragged = np.fromiter(map(len, rows), dtype=np.intp, count=n) != width
        for i in np.flatnonzero(ragged).tolist():
            cells = rows[i]
            dropped = " (extra cells dropped)" if len(cells) > width else ""
            problems[i] = [
                f"this row cannot be read: {unreadable[i]}"
                if i in unreadable
                else f"row has {len(cells)} cells; the header has {width}{dropped}"
            ]
            rows[i] = (cells + [""] * width)[:width]  # keep the output rectangular
            if plain is not None:
                plain[i] = ",".join(rows[i])
        if self.refusal is None:
            columns, numbers = self._check_and_predict(rows, ragged, problems)
        else:  # over the caller's budget: not scored, and each row says why
            for i in range(n):
                problems[i] = [self.refusal]
            columns, numbers = [[""] * n for _ in self.model.output_columns], {}
        errors = [""] * n
        for i, messages in problems.items():
            errors[i] = "; ".join(messages)
        columns.append(errors)
        self.tally.rows += n
        self.tally.errors += len(problems)
        if self.safe_cells:
            columns = [safe_column(column) for column in columns]
            self._make_input_safe(rows, plain, numbers)
        if plain is None:
            for row, added in zip(rows, zip(*columns, strict=True), strict=True):
                row.extend(added)
            return _csv_text(rows)
        suffixes = map(",".join, zip(*map(_quoted, columns), strict=True))
        return "".join([f"{line},{suffix}\n" for line, suffix in zip(plain, suffixes, strict=True)])

    def _check_and_predict(
        self, rows: list[list[str]], ragged: np.ndarray, problems: dict[int, list[str]]
    ) -> tuple[list[list[str]], dict[int, np.ndarray]]:
        """The output columns of one chunk, and its parsed numeric features by position;
        each cell's problem goes into ``problems`` (its row is then not predicted)."""
        n = len(rows)
        bad = ragged.copy()
        columns_in: list[np.ndarray] = []
        numbers: dict[int, np.ndarray] = {}  # column position -> parsed numeric feature
        for spec, position in zip(self.model.features, self.positions, strict=True):
            cells = [row[position] for row in rows]
            values, column_problems = (
                check_category(spec, cells) if spec.is_category else check_column(spec, cells)
            )
            columns_in.append(values)
            if not spec.is_category:
                numbers[position] = values
            for message, mask in column_problems:
                mask &= ~ragged  # a ragged row's cells are misplaced: one message says so
                for i in np.flatnonzero(mask).tolist():
                    problems.setdefault(i, []).append(f"{spec.name}: {message}")
                bad |= mask
        return self._predict(
            Table(self.model.features, columns_in), np.flatnonzero(~bad), n
        ), numbers

    def _make_input_safe(
        self, rows: list[list[str]], plain: list[str] | None, numbers: dict[int, np.ndarray]
    ) -> None:
        """Prefix the formula-like input cells of ``rows`` (and their ``plain`` lines).

        Cheap where it matters: a numeric feature's cells that parsed to finite numbers are
        plain numbers already, so only its NaN/infinite cells are looked at; any other column
        is joined and searched once, and looked at cell by cell only on a hit.
        """
        risky: set[int] = set()
        for position in range(len(self.header)):
            values = numbers.get(position)
            if values is not None:
                candidates = np.flatnonzero(~np.isfinite(values)).tolist()
            else:
                column = [row[position] for row in rows]
                if not _FORMULA_START.search("\n" + "\n".join(column)):
                    continue
                candidates = [i for i, cell in enumerate(column) if cell[:1] in FORMULA_STARTS]
                if _all_finite_numbers([column[i] for i in candidates]):
                    continue  # e.g. a column of negative numbers
            risky.update(
                i for i in candidates if safe_cell(rows[i][position]) is not rows[i][position]
            )
        for i in risky:
            rows[i] = list(map(safe_cell, rows[i]))
            if plain is not None:
                plain[i] = ",".join(rows[i])

    def _predict(self, table: Table, good: np.ndarray, n: int) -> list[list[str]]:
        """Formatted output columns; rows outside ``good`` get empty cells."""
        names = list(self.model.output_columns)
        if len(good) == 0:
            return [[""] * n for _ in names]
        everyone = len(good) == n
        outputs = self.model.predict_arrays(table if everyone else table.take(good))
        columns: list[list[str]] = []
        for name in names:
            formatted = outputs[name]
            if name == LABEL_COLUMN:
                for label, count in Counter(formatted).items():
                    self.tally.labels[label] = self.tally.labels.get(label, 0) + count
            if not everyone:
                full = np.full(n, "", dtype=object)
                full[good] = formatted
                formatted = full.tolist()
            columns.append(formatted)
        return columns


class _LineFeed(Iterator[str]):
    """The source's lines, hashed as they are read, with a put-back buffer.

    The scorer takes whole chunks of lines for its fast path and hands a chunk back when it
    needs the csv module; ``csv.reader`` then reads it (and more, should a quoted cell run
    past the chunk) through ``__next__``. The reader stops at the end of each record, so the
    two ways of reading can take turns.
    """

    def __init__(self, source: Iterable[str], digest: Any) -> None:
        self._source = iter(source)
        self._digest = digest
        self._buffer: deque[str] = deque()
        self._first = True

    def __next__(self) -> str:
        if not self._buffer:
            self._buffer.extend(self._pull(1))
            if not self._buffer:
                raise StopIteration
        return self._buffer.popleft()

    def take(self, count: int) -> list[str]:
        lines = [self._buffer.popleft() for _ in range(min(count, len(self._buffer)))]
        if len(lines) < count:
            lines += self._pull(count - len(lines))
        return lines

    def put_back(self, lines: list[str]) -> None:
        self._buffer.extendleft(reversed(lines))

    def _pull(self, count: int) -> list[str]:
        batch = list(islice(self._source, count))
        if batch:  # one hash update per batch: per line it would cost more than the parsing
            self._digest.update("".join(batch).encode("utf-8", "surrogatepass"))
            if self._first:  # Excel's UTF-8 byte order mark, before csv sees a quote after it
                batch[0] = batch[0].removeprefix("\ufeff")
                self._first = False
        return batch


@contextmanager
def _cyclic_gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while a chunk is parsed and scored.

    A chunk makes one list per row; each 700 new lists start a collection, and the older
    generations' collections walk every object of the process. That would double the time of
    a chunk, for no gain: rows hold only strings and cannot form cycles. Whichever thread
    paused collection last resumes it, so the state is restored when every chunk is done.
    """
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()


def _plain_lines(lines: list[str]) -> list[str] | None:
    """The non-blank lines without their line ends, if splitting on commas reads them right.

    That holds when no line has a quote or a carriage return (other than its line end);
    otherwise None, and the csv module reads the chunk.
    """
    stripped = [line.rstrip("\r\n") for line in lines]
    body = "\n".join(stripped)
    if '"' in body or "\r" in body or body.count("\n") != len(stripped) - 1:
        return None
    return [line for line in stripped if line]


def check_column(
    spec: FeatureSpec, cells: list[str]
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Parse one feature's cells and check them like the JSON schema does, vectorised.

    Returns:
        The values (NaN where a cell is not a number) and (message, row mask) pairs for each
        kind of problem found; masks are fresh arrays the caller may modify.
    """
    problems: list[tuple[str, np.ndarray]] = []
    try:
        values = np.asarray(cells, dtype=np.float64)  # Python's float() rules, in C
    except ValueError:  # some cell is not a number: find which, cell by cell
        values, empty, not_number = _parse_slowly(cells)
        problems += [
            ("must be a number (the cell is empty)", empty),
            ("must be a number", not_number),
        ]
        parsed = ~(empty | not_number)
    else:
        parsed = np.ones(len(cells), dtype=bool)
    finite = np.isfinite(values)
    problems.append(("must be a finite number (not NaN or infinity)", parsed & ~finite))
    with np.errstate(invalid="ignore"):
        if spec.minimum is not None:
            problems.append((f"must be at least {spec.minimum}", finite & (values < spec.minimum)))
        if spec.maximum is not None:
            problems.append((f"must be at most {spec.maximum}", finite & (values > spec.maximum)))
    return values, [(message, mask) for message, mask in problems if mask.any()]


def check_category(
    spec: FeatureSpec, cells: list[str]
) -> tuple[np.ndarray, list[tuple[str, np.ndarray]]]:
    """Map one categorical feature's cells to its categories (as the JSON schema checks)."""
    text = np.asarray([cell.strip() for cell in cells], dtype=object)
    empty = text == ""
    if not spec.categories:
        return text, [("must not be empty", empty)] if empty.any() else []
    by_text = {str(category): category for category in spec.categories}
    values = np.asarray([by_text.get(cell, cell) for cell in text.tolist()], dtype=object)
    unknown = ~empty & ~np.isin(text, list(by_text))
    problems = [
        ("must not be empty", empty),
        (f"must be one of {', '.join(by_text)}", unknown),
    ]
    return values, [(message, mask) for message, mask in problems if mask.any()]


def _parse_slowly(cells: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    values = np.full(len(cells), np.nan)
    empty = np.zeros(len(cells), dtype=bool)
    not_number = np.zeros(len(cells), dtype=bool)
    for i, cell in enumerate(cells):
        try:
            values[i] = float(cell)
        except ValueError:
            if cell.strip():
                not_number[i] = True
            else:
                empty[i] = True
    return values, empty, not_number


def safe_cell(cell: str) -> str:
    """``cell``, prefixed with ``'`` when a spreadsheet would run it as a formula.

    A cell that reads as a finite number (Python's ``float``: ``-1.5``, ``+3``, ``-2e-4``)
    is left alone: a spreadsheet computes a number from it and nothing else.
    """
    if cell[:1] in FORMULA_STARTS and not _all_finite_numbers([cell]):
        return "'" + cell
    return cell


def _all_finite_numbers(cells: list[str]) -> bool:
    """True when every cell parses as a finite number (numpy parses them in C)."""
    try:
        return bool(np.isfinite(np.asarray(cells, dtype=np.float64)).all())
    except ValueError:
        return False


def safe_column(cells: list[str]) -> list[str]:
    """``safe_cell`` over a column; one search of the joined text when nothing needs it."""
    if not _FORMULA_START.search("\n" + "\n".join(cells)):
        return cells
    return list(map(safe_cell, cells))


def _quoted(cells: list[str]) -> list[str]:
    """Cells quoted where csv.writer would quote them (and at a carriage return)."""
    joined = "".join(cells)
    if not any(char in joined for char in ',"\n\r'):
        return cells
    return [
        '"' + cell.replace('"', '""') + '"' if any(c in cell for c in ',"\n\r') else cell
        for cell in cells
    ]


def _csv_text(rows: list[list[str]]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    text = out.getvalue()
    if "\r" not in text:
        return text
    # Python 3.11's writer leaves a lone CR unquoted unless CR ends its lines: such rows
    # end in CRLF (which every CSV reader accepts) so that they read back as written.
    out = io.StringIO()
    lf, crlf = csv.writer(out, lineterminator="\n"), csv.writer(out, lineterminator="\r\n")
    for row in rows:
        (crlf if any("\r" in cell for cell in row) else lf).writerow(row)
    return out.getvalue()
