"""The CSV bodies of ``predict.csv``: what the server scores, as a JSON Schema pattern, and an
example file built from the model's typical cases.

A file is refused (422) only when its header lacks a feature column; any row after it is
scored or given an error message. So the pattern pins the header (in its canonical order) and
lets anything follow.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Mapping
from typing import Any

from labserve.models.csv_scoring import ERROR_COLUMN, score_csv
from labserve.models.tabular import TabularModel
from labserve.web.openapi.schemas import Schema

log = logging.getLogger(__name__)

#: Characters that mean something in a regular expression (ECMA-262 and Python alike).
REGEX_SPECIALS = frozenset("\\^$.*+?()[]{}|/")
#: A line ending as the CSV reader takes it.
NEWLINE = "(?:\\r\\n|\\n|\\r)"


def regex_literal(text: str) -> str:
    return "".join(f"\\{c}" if c in REGEX_SPECIALS else c for c in text)


def csv_line(cells: list[Any]) -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator="").writerow(cells)
    return out.getvalue()


def csv_body_pattern(model: TabularModel) -> str:
    """The CSV files the server scores, in their canonical form: a header row naming every
    feature in order, then any rows (a bad row gets an error message, not a refusal)."""
    header = regex_literal(csv_line([spec.name for spec in model.features]))
    return f"^\\ufeff?{NEWLINE}*{header}(?:{NEWLINE}[\\s\\S]*)?$"


def csv_example(model: TabularModel, rows: Mapping[str, Mapping[str, Any]]) -> str:
    names = [spec.name for spec in model.features]
    lines = [csv_line(names)] + [csv_line([row.get(n, "") for n in names]) for row in rows.values()]
    return "\n".join(lines) + "\n"


def csv_body_schema(model: TabularModel) -> Schema:
    return {
        "type": "string",
        "contentMediaType": "text/csv",
        "pattern": csv_body_pattern(model),
        "description": "UTF-8 CSV with a header row. The header must name every input "
        f"({', '.join(spec.name for spec in model.features)}), in any order (the pattern "
        "shows the canonical order); other columns are kept in the output.",
    }


def csv_output_description(model: TabularModel) -> str:
    added = ", ".join([*model.output_columns, ERROR_COLUMN])
    return (
        "The input rows as sent, each followed by the columns "
        f"{added}. A bad row has an empty prediction and an error message; the file is "
        "streamed, so a failure after the first rows is reported in a last line starting "
        "with `# scoring stopped:`."
    )


def scored_example(model: TabularModel, text: str) -> str | None:
    """The scored CSV of the example file, or None when it cannot be scored."""
    try:
        return "".join(score_csv(model, text))
    except Exception:
        log.warning("no example CSV answer for %s", model.name, exc_info=True)
        return None
