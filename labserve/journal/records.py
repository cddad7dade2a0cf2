"""An audit record as a journal line and back: exactly the row the shipper inserts.

A line holds one of two bodies, and ``decode_row`` gives the same row for both:

- packed (``full`` mode, the default): ``~`` and the base64 of the record's fields as a
  ``marshal`` tuple. The request thread pays for it, and a packed line costs half the
  canonical JSON line (floats are copied as bytes, not formatted; ~12 against ~26 us for a
  one-row diagnosis record). The shipper makes the row: canonical JSON, its sha256, text the
  database accepts.
- JSON (``hash`` mode, and any record that ``marshal`` cannot pack): the row itself, built on
  the request thread. In ``hash`` mode the inputs must never reach the disk, only their
  sha256, so the row has to be made before the write.

Either way whatever the database would refuse (a NUL, a lone surrogate, a name longer than its
column) is made valid before insert, and a body that cannot be made a row is an
``InvalidRow``, which the shipper sets aside, so one bad record never stalls the ones behind
it. ``marshal`` reads only data (no code runs on load, unlike pickle); a packed body is only
read after its line's checksum matched, from the journal folder that only labserve writes.
"""

from __future__ import annotations

import binascii
import hashlib
import json
import marshal
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring as _quote
from typing import Any, TypedDict

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


def storable_json(value: Any) -> tuple[str, bytes]:
    """Canonical JSON as stored today, and its UTF-8 bytes (what the sha256 is of).

    JSON holding lone surrogates cannot be UTF-8: it is kept as pure-ASCII JSON instead.
    """
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

PACKED_MARK = b"~"
PACK_VERSION = 1
MARSHAL_FORMAT = 4  # readable by every Python 3 since 3.4: segments outlive upgrades
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def encode_record(record: AuditRecord, record_id: str, mode: InputsMode) -> bytes:
    """The complete journal line (checksum, body, newline) for ``record``: packed in ``full``
    mode when ``marshal`` can pack it, else the row's JSON."""
    if mode == "full":
        packed = _packed(record, record_id)
        if packed is not None:
            return encode_frame(PACKED_MARK + binascii.b2a_base64(packed, newline=False))
    return _json_line(record, record_id, mode)


def _packed(record: AuditRecord, record_id: str) -> bytes | None:
    """The record's fields as ``marshal`` bytes, or None when they would not read back equal.

    ``marshal`` packs any object with a buffer (a numpy number, array or string) as raw
    bytes, silently, so the bytes are read back and compared: only plain Python data passes
    (a NaN, never equal to itself, goes the JSON way too). The check costs about a quarter
    of the JSON it replaces.
    """
    created = record.created_at
    micros = time.time_ns() // 1000 if created is None else _micros_since_epoch(created)
    fields = (
        PACK_VERSION,
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
    )
    try:
        packed = marshal.dumps(fields, MARSHAL_FORMAT)
        return packed if marshal.loads(packed) == fields else None
    except ValueError:  # unmarshallable, or an array's ambiguous equality
        return None


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


def _unpacked_row(body: bytes) -> JournalRow:
    """The row of a packed body, made exactly as ``_json_line`` would have made it."""
    try:
        fields = marshal.loads(binascii.a2b_base64(body[len(PACKED_MARK) :], strict_mode=True))
    except (binascii.Error, ValueError, EOFError, TypeError) as exc:
        raise InvalidRow(f"a packed journal line that cannot be read: {exc}") from exc
    if not isinstance(fields, tuple) or len(fields) != 11 or fields[0] != PACK_VERSION:
        raise InvalidRow("a packed journal line of an unknown layout")
    _, record_id, micros, model, version, caller, request_id, rows, inputs, outputs, latency = (
        fields
    )
    if not isinstance(record_id, str) or isinstance(micros, bool) or not isinstance(micros, int):
        raise InvalidRow("a packed journal line without its record id or time")
    if isinstance(rows, bool) or not isinstance(rows, int) or not 0 <= rows <= MAX_ROWS:
        raise InvalidRow("rows must be an integer the rows column can hold")
    if isinstance(latency, bool) or not isinstance(latency, int | float):
        raise InvalidRow("latency_ms must be a number")
    try:
        inputs_text, inputs_utf8 = storable_json(inputs)
        outputs_text = storable_json(outputs)[0]
        created = _EPOCH + micros * _MICROSECOND
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise InvalidRow(f"a packed record that is not JSON data: {exc}") from exc
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
    """The row in a line's body (packed or JSON); InvalidRow when it is not one."""
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
