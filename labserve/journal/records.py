"""An audit record as a journal line and back: exactly the row the shipper inserts.

A line holds one of three bodies, and ``decode_row`` gives the same row for each:

- listed (``full`` mode, the default): the record's fields as one JSON array made by
  ``orjson`` (~4 us for a one-row diagnosis record, against ~26 us for the canonical JSON
  line with the standard library). The request thread pays for it; the shipper makes the
  row: canonical JSON, its sha256, text the database accepts.
- JSON (``hash`` mode, and any record whose array would not read back the same, such as a
  NaN): the row itself, built on the request thread. In ``hash`` mode the inputs must never
  reach the disk, only their sha256, so the row has to be made before the write.
- packed: ``~`` and the base64 of the fields as a ``marshal`` tuple, what earlier versions
  wrote in ``full`` mode. Only read, so segments left by an upgrade are still shipped.

Either way whatever the database would refuse (a NUL, a lone surrogate, a name longer than its
column) is made valid before insert, and a body that cannot be made a row is an
``InvalidRow``, which the shipper sets aside, so one bad record never stalls the ones behind
it. ``marshal`` reads only data (no code runs on load, unlike pickle); a packed body is only
read after its line's checksum matched, from the journal folder that only labserve writes.

The canonical JSON that is stored and hashed is the standard library's
(``labserve.db.audit.canonical_json``); ``orjson`` makes the same bytes ten times faster for
everything but a few number forms, which are recognised in its output and made the slow way.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import marshal
import math
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring as _quote
from typing import Any, TypedDict

import orjson

from labserve.db.audit import AuditRecord, InputsMode
from labserve.db.schema import PredictionRecord
from labserve.journal.segments import encode_frame


class JournalRow(TypedDict):
    """One ``predictions`` row, keyed by column name."""

    record_id: str
    created_at: datetime
    model: str
    model_version: str
    caller: str
    request_id: str
    rows: int
    inputs: str | None
    inputs_sha256: str
    outputs: str
    latency_ms: float


class InvalidRow(ValueError):
    """A line whose checksum is right but whose content is not a journal row."""


def _column_length(name: str) -> int:
    length = getattr(PredictionRecord.__table__.c[name].type, "length", None)
    assert isinstance(length, int)
    return length


TEXT_LIMITS = {
    name: _column_length(name) for name in ("model", "model_version", "caller", "request_id")
}
MAX_ROWS = 2**31 - 1  # an INTEGER column on PostgreSQL
TEXT_FIELDS = ("record_id", "model", "model_version", "caller", "request_id", "inputs_sha256")


def storable_text(value: object, limit: int) -> str:
    """``value`` as text any database accepts: no NUL, valid UTF-8, at most ``limit`` chars."""
    text = value if isinstance(value, str) else str(value)
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:  # lone surrogates, e.g. from a "\ud800" escape in JSON
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    if "\x00" in text:
        text = text.replace("\x00", "\ufffd")
    return text if len(text) <= limit else text[:limit]


# The same output as ``canonical_json`` (which the stored hashes are of), without building
# an encoder for every record: ``JSONEncoder.encode`` makes a new C encoder per call, which
# is half the cost of encoding a small record. Circular structures (impossible in parsed JSON)
# end in RecursionError instead of ValueError.
_CANONICAL = json.JSONEncoder(sort_keys=True, ensure_ascii=False, separators=(",", ":"))
_CANONICAL_ASCII = json.JSONEncoder(sort_keys=True, ensure_ascii=True, separators=(",", ":"))


def _prebuilt_canonical_encoder() -> Callable[[Any], str]:
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # no C accelerator (another Python): the documented, slower way
        return _CANONICAL.encode
    try:
        chunks = make(None, _CANONICAL.default, _quote, None, ":", ",", True, False, True)
    except TypeError:  # the private signature changed
        return _CANONICAL.encode

    def encode(value: Any) -> str:
        return "".join(chunks(value, 0))

    probe = {"b": [1, 2.5, None, True, "é\n"], "a": {"z": -0.0, "y": float("nan")}}
    return encode if encode(probe) == _CANONICAL.encode(probe) else _CANONICAL.encode


_canonical = _prebuilt_canonical_encoder()


#: orjson's options for journal arrays: the types the standard library would not write as JSON
#: (a datetime, a dataclass, a subclass such as a numpy str or an IntEnum) refused, so they
#: take the standard library's way.
_ORJSON_STRICT = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)
#: ... and for canonical JSON: the same, with keys sorted.
_ORJSON_CANONICAL = orjson.OPT_SORT_KEYS | _ORJSON_STRICT
#: Where orjson's numbers differ from ``repr``: an exponent ("1e16" against "1e+16"), a
#: number under 1e-4 ("0.00001" against "1e-05"), and NaN or infinity, which it writes as
#: null. Text that merely looks like one of these only costs the slow way.
_ORJSON_EXPONENT = re.compile(rb"e[-+0-9]")
_ORJSON_TINY = b"0.0000"
_ORJSON_NULL = b"null"


def _orjson_is_canonical(data: bytes) -> bool:
    # bytes.find, not "in": half the cost on short bytes
    return (
        data.find(_ORJSON_NULL) < 0
        and data.find(_ORJSON_TINY) < 0
        and _ORJSON_EXPONENT.search(data) is None
    )


def storable_json(value: Any) -> tuple[str, bytes]:
    """Canonical JSON as stored today, and its UTF-8 bytes (what the sha256 is of).

    JSON holding lone surrogates cannot be UTF-8: it is kept as pure-ASCII JSON instead.
    """
    try:
        data = orjson.dumps(value, option=_ORJSON_CANONICAL)
    except TypeError:  # a type or a number orjson refuses, lone surrogates, deep nesting
        pass
    else:
        if _orjson_is_canonical(data):
            return data.decode("utf-8"), data
    text = _canonical(value)
    try:
        return text, text.encode("utf-8")
    except UnicodeEncodeError:
        text = _CANONICAL_ASCII.encode(value)
        return text, text.encode("ascii")


def _json_number(value: float) -> str:
    return repr(value) if math.isfinite(value) else json.dumps(value)


# One line's JSON, formatted directly: twice as fast as json.dumps of a dict, and the request
# thread pays for it. record_id, created_at and inputs_sha256 never need escaping.
_ROW_FORMAT = (
    '{"record_id":"%s","created_at":"%s","model":%s,"model_version":%s,"caller":%s,'
    '"request_id":%s,"rows":%d,"inputs":%s,"inputs_sha256":"%s","outputs":%s,"latency_ms":%s}'
)

LISTED_MARK = b"["
LIST_VERSION = 2
PACKED_MARK = b"~"
PACK_VERSION = 1
FIELD_COUNT = 11
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_record(record: AuditRecord, record_id: str, mode: InputsMode) -> bytes:
    """The complete journal line (checksum, body, newline) for ``record``: listed in ``full``
    mode when the array reads back the same, else the row's JSON."""
    if mode == "full":
        listed = _listed(record, record_id)
        if listed is not None:
            return encode_frame(listed)
    return _json_line(record, record_id, mode)


def _listed(record: AuditRecord, record_id: str) -> bytes | None:
    """The record's fields as one JSON array, or None when it would not read back the same.

    orjson writes NaN and infinity as null, so an array holding a null goes the JSON way
    (a real None too: rare in a record, and only slower). Types the standard library would
    not write raise here and go the JSON way, which refuses them as before.
    """
    created = record.created_at
    micros = time.time_ns() // 1000 if created is None else _micros_since_epoch(created)
    try:
        body = orjson.dumps(
            (
                LIST_VERSION,
                record_id,
                micros,
                record.model,
                record.model_version,
                record.caller,
                record.request_id,
                record.rows,
                record.inputs,
                record.outputs,
                record.latency_ms,
            ),
            option=_ORJSON_STRICT,
        )
    except TypeError:
        return None
    return None if body.find(_ORJSON_NULL) >= 0 else body


def _micros_since_epoch(created: datetime) -> int:
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return (created - _EPOCH) // _MICROSECOND


def _json_line(record: AuditRecord, record_id: str, mode: InputsMode) -> bytes:
    inputs, inputs_utf8 = storable_json(record.inputs)
    created = record.created_at or datetime.now(UTC)
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    body = _ROW_FORMAT % (
        record_id,
        created.isoformat(),
        _quote(storable_text(record.model, TEXT_LIMITS["model"])),
        _quote(storable_text(record.model_version, TEXT_LIMITS["model_version"])),
        _quote(storable_text(record.caller, TEXT_LIMITS["caller"])),
        _quote(storable_text(record.request_id, TEXT_LIMITS["request_id"])),
        int(record.rows),
        _quote(inputs) if mode == "full" else "null",
        hashlib.sha256(inputs_utf8).hexdigest(),
        _quote(storable_json(record.outputs)[0]),
        _json_number(float(record.latency_ms)),
    )
    return encode_frame(body.encode("utf-8"))


def _listed_row(body: bytes) -> JournalRow:
    """The row of a listed body, made exactly as ``_json_line`` would have made it."""
    try:
        fields = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidRow(f"a listed journal line that cannot be read: {exc}") from exc
    if not isinstance(fields, list) or len(fields) != FIELD_COUNT or fields[0] != LIST_VERSION:
        raise InvalidRow("a listed journal line of an unknown layout")
    return _row_of_fields(fields)


def _unpacked_row(body: bytes) -> JournalRow:
    """The row of a packed body (written by earlier versions)."""
    try:
        fields = marshal.loads(binascii.a2b_base64(body[len(PACKED_MARK) :], strict_mode=True))
    except (binascii.Error, ValueError, EOFError, TypeError) as exc:
        raise InvalidRow(f"a packed journal line that cannot be read: {exc}") from exc
    if not isinstance(fields, tuple) or len(fields) != FIELD_COUNT or fields[0] != PACK_VERSION:
        raise InvalidRow("a packed journal line of an unknown layout")
    return _row_of_fields(fields)


def _row_of_fields(fields: tuple[Any, ...] | list[Any]) -> JournalRow:
    """The row of a record's fields (listed or packed), checked as the database needs them."""
    _, record_id, micros, model, version, caller, request_id, rows, inputs, outputs, latency = (
        fields
    )
    if not isinstance(record_id, str) or isinstance(micros, bool) or not isinstance(micros, int):
        raise InvalidRow("a journal line without its record id or time")
    if isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows <= MAX_ROWS:
        raise InvalidRow("rows must be an integer the rows column can hold")
    if isinstance(latency, bool) or not isinstance(latency, int | float):
        raise InvalidRow("latency_ms must be a number")
    try:
        inputs_text, inputs_utf8 = storable_json(inputs)
        outputs_text = storable_json(outputs)[0]
        created = _EPOCH + micros * _MICROSECOND
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise InvalidRow(f"a journal record that is not JSON data: {exc}") from exc
    return JournalRow(
        record_id=record_id,
        created_at=created,
        model=storable_text(model, TEXT_LIMITS["model"]),
        model_version=storable_text(version, TEXT_LIMITS["model_version"]),
        caller=storable_text(caller, TEXT_LIMITS["caller"]),
        request_id=storable_text(request_id, TEXT_LIMITS["request_id"]),
        rows=rows,
        inputs=inputs_text,
        inputs_sha256=hashlib.sha256(inputs_utf8).hexdigest(),
        outputs=outputs_text,
        latency_ms=float(latency),
    )


def decode_row(body: bytes) -> JournalRow:
    """The row in a line's body (listed, packed or JSON); InvalidRow when it is not one."""
    if body.startswith(LISTED_MARK):
        return _listed_row(body)
    if body.startswith(PACKED_MARK):
        return _unpacked_row(body)
    try:
        data = json.loads(body)
        if not isinstance(data, dict):
            raise InvalidRow("a journal line must hold a JSON object")
        for name in TEXT_FIELDS:
            if not isinstance(data.get(name), str):
                raise InvalidRow(f"{name} must be text")
        inputs, outputs = data.get("inputs"), data.get("outputs")
        if not (inputs is None or isinstance(inputs, str)) or not isinstance(outputs, str):
            raise InvalidRow("inputs and outputs must be JSON text")
        rows, latency = data.get("rows"), data.get("latency_ms")
        if isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows <= MAX_ROWS:
            raise InvalidRow("rows must be an integer the rows column can hold")
        if isinstance(latency, bool) or not isinstance(latency, int | float):
            raise InvalidRow("latency_ms must be a number")
        created = datetime.fromisoformat(data["created_at"])
    except (ValueError, TypeError, KeyError) as exc:
        raise InvalidRow(str(exc)) from exc
    if created.tzinfo is None:
        created = created.replace(tzinfo=UTC)
    return JournalRow(
        record_id=data["record_id"],
        created_at=created,
        model=data["model"],
        model_version=data["model_version"],
        caller=data["caller"],
        request_id=data["request_id"],
        rows=rows,
        inputs=inputs,
        inputs_sha256=data["inputs_sha256"],
        outputs=outputs,
        latency_ms=float(latency),
    )
