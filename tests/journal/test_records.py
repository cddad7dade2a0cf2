"""Journal lines keep exactly the JSON and hash the database rows have always had."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from labserve.db.audit import canonical_json
from labserve.journal.records import decode_row, encode_record, storable_json
from labserve.journal.segments import decode_frame
from tests.journal.helpers import record

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.text(st.characters(exclude_categories=["Cs"])),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(derandomize=True, max_examples=200)
@given(json_values)
def test_storable_json_is_the_canonical_json_of_today(value: Any) -> None:
    text, utf8 = storable_json(value)
    assert text == canonical_json(value)
    assert utf8 == text.encode("utf-8")


@settings(derandomize=True, max_examples=100)
@given(json_values, json_values)
def test_a_line_round_trips_inputs_outputs_and_the_hash(inputs: Any, outputs: Any) -> None:
    line = encode_record(record(1, inputs=inputs, outputs=outputs), "id", "full")
    body = decode_frame(line[:-1])
    assert body is not None
    row = decode_row(body)
    assert row["inputs"] == canonical_json(inputs)
    assert row["outputs"] == canonical_json(outputs)
    expected = hashlib.sha256(canonical_json(inputs).encode("utf-8")).hexdigest()
    assert row["inputs_sha256"] == expected
    assert json.loads(row["inputs"]) == inputs


def test_lone_surrogates_are_kept_as_ascii_escapes() -> None:
    text, utf8 = storable_json({"note": "bad \ud800 half"})
    assert text == '{"note":"bad \\ud800 half"}'
    assert utf8 == text.encode("ascii")
