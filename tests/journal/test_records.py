"""Journal lines keep exactly the JSON and hash the database rows have always had, whether
the line is listed (an orjson array, full mode), the row's JSON (hash mode, anything else) or
packed (``marshal``, written by earlier versions)."""

from __future__ import annotations

import base64
import hashlib
import json
import marshal
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from labserve.db.audit import AuditRecord, InputsMode, canonical_json
from labserve.journal.records import (
    LISTED_MARK,
    PACKED_MARK,
    InvalidRow,
    JournalRow,
    _json_line,
    decode_row,
    encode_record,
    storable_json,
)
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


#: Numbers where orjson and ``repr`` write different text, and their neighbours.
awkward_floats = st.sampled_from(
    [1e16, 9999999999999998.0, 1e22, 1.5e300, 1e-4, 0.00011, 1e-5, 1.2e-5, 1e-7, 5e-324]
).flatmap(lambda x: st.sampled_from([x, -x]))
json_numbers = st.recursive(
    st.floats(allow_nan=True, allow_infinity=True) | awkward_floats | st.integers(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(), children),
    max_leaves=8,
)


@settings(derandomize=True, max_examples=200)
@given(json_values)
def test_storable_json_is_the_canonical_json_of_today(value: Any) -> None:
    text, utf8 = storable_json(value)
    assert text == canonical_json(value)
    assert utf8 == text.encode("utf-8")


@settings(derandomize=True, max_examples=300)
@given(json_numbers | st.text(st.characters(exclude_categories=["Cs"])))
def test_storable_json_writes_every_number_and_character_as_the_standard_library(
    value: Any,
) -> None:
    assert storable_json(value)[0] == canonical_json(value)


@pytest.mark.parametrize(
    "value",
    [
        {"big": 2**70},  # orjson refuses integers beyond 64 bits
        {"when": datetime(2026, 1, 1, tzinfo=UTC)},  # orjson would write it; json refuses
        {1: "a", "b": 2},  # a key that is not text
        [np.str_("a")],
    ],
    ids=["big integer", "datetime", "number key", "numpy str"],
)
def test_what_orjson_writes_differently_takes_the_standard_librarys_way(value: Any) -> None:
    try:
        expected = canonical_json(value)
    except TypeError:
        with pytest.raises(TypeError):
            storable_json(value)
    else:
        assert storable_json(value)[0] == expected


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


def body_of(awkward: AuditRecord, mode: InputsMode = "full") -> bytes:
    body = decode_frame(encode_record(awkward, "id", mode)[:-1])
    assert body is not None
    return body


def json_row_of(awkward: AuditRecord) -> JournalRow:
    """The row as the JSON line makes it (what every line was before packing)."""
    body = decode_frame(_json_line(awkward, "id", "full")[:-1])
    assert body is not None
    return decode_row(body)


@settings(derandomize=True, max_examples=100)
@given(json_values, json_numbers, st.text(max_size=80), st.floats(allow_nan=False))
def test_a_listed_line_gives_the_row_its_json_line_gives(
    inputs: Any, outputs: Any, caller: str, latency: float
) -> None:
    created = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    awkward = record(3, inputs=inputs, outputs=outputs, caller=caller, latency_ms=latency)
    awkward.created_at = created
    assert decode_row(body_of(awkward)) == json_row_of(awkward)


def test_an_ordinary_record_is_listed() -> None:
    body = body_of(record(1, inputs=[{"radius_mean": 17.99}], outputs=[{"label": "Benign"}]))
    assert body.startswith(LISTED_MARK)
    assert json.loads(body)[8] == [{"radius_mean": 17.99}]


def packed_fields(awkward: AuditRecord) -> tuple[Any, ...]:
    """The fields as earlier versions packed them (``marshal`` format 4)."""
    assert awkward.created_at is not None
    micros = (awkward.created_at - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
    return (
        1,
        "id",
        micros,
        awkward.model,
        awkward.model_version,
        awkward.caller,
        awkward.request_id,
        awkward.rows,
        awkward.inputs,
        awkward.outputs,
        awkward.latency_ms,
    )


@settings(derandomize=True, max_examples=50)
@given(json_values, json_values)
def test_a_packed_line_from_an_earlier_version_gives_the_same_row(
    inputs: Any, outputs: Any
) -> None:
    awkward = record(3, inputs=inputs, outputs=outputs)
    awkward.created_at = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    assert decode_row(packed(packed_fields(awkward))) == json_row_of(awkward)


@pytest.mark.parametrize(
    "inputs",
    [
        [{"radius_mean": np.float64(17.99)}],  # a float subclass: orjson refuses it
        [np.str_("a")],
        [{"x": float("nan")}],  # orjson would write null
    ],
    ids=["numpy float", "numpy str", "nan"],
)
def test_what_would_not_read_back_the_same_is_written_as_json(inputs: Any) -> None:
    body = body_of(record(1, inputs=inputs))
    assert body.startswith(b"{")
    assert decode_row(body)["inputs"] == canonical_json(json.loads(canonical_json(inputs)))


def test_hash_mode_never_packs_the_inputs() -> None:
    body = body_of(record(1, inputs=[{"patient": "secret-name"}]), "hash")
    assert body.startswith(b"{")
    assert b"secret-name" not in body
    assert json.loads(body)["inputs"] is None


def test_a_record_without_a_time_gets_the_time_it_is_written() -> None:
    before = datetime.now(UTC)
    row = decode_row(body_of(record(1)))
    assert before - timedelta(microseconds=1) <= row["created_at"] <= datetime.now(UTC)


def test_a_time_in_another_zone_is_kept_as_the_same_instant() -> None:
    awkward = record(1)
    awkward.created_at = datetime(2026, 1, 1, 12, tzinfo=timezone(timedelta(hours=2)))
    assert decode_row(body_of(awkward))["created_at"] == datetime(2026, 1, 1, 10, tzinfo=UTC)


def packed(fields: Any) -> bytes:
    return PACKED_MARK + base64.b64encode(marshal.dumps(fields, 4))


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (PACKED_MARK + b"not base64!", "cannot be read"),
        (PACKED_MARK + base64.b64encode(b"\xff\x00 no marshal"), "cannot be read"),
        (packed(("a", "tuple", "of", "another", "layout")), "unknown layout"),
        (packed((1, "id", 0, "m", "v", "c", "r", 1, {1, 2}, [], 1.0)), "not JSON data"),
        (packed((1, "id", 0, "m", "v", "c", "r", -1, [], [], 1.0)), "rows must be"),
        (packed((1, "id", 0, "m", "v", "c", "r", 1, [], [], "slow")), "latency_ms"),
        (packed((1, None, 0, "m", "v", "c", "r", 1, [], [], 1.0)), "record id"),
        (b'[2, "id", 0, "m"', "cannot be read"),
        (b'[1, "id", 0, "m", "v", "c", "r", 1, [], [], 1.0]', "unknown layout"),
        (b'[2, "id", 0.5, "m", "v", "c", "r", 1, [], [], 1.0]', "record id"),
        (b'[2, "id", 0, "m", "v", "c", "r", 1.5, [], [], 1.0]', "rows must be"),
    ],
    ids=[
        *("base64", "marshal", "layout", "set", "rows", "latency", "record id"),
        *("listed json", "listed layout", "listed time", "listed rows"),
    ],
)
def test_a_body_that_is_not_a_record_is_invalid(body: bytes, problem: str) -> None:
    with pytest.raises(InvalidRow, match=problem):
        decode_row(body)
