"""An audit record as a journal line and back: exactly the row the shipper inserts.

The row is built when the record is appended, not when it is shipped, for two reasons: in
``hash`` mode the inputs must never reach the disk, only their sha256; and whatever the
database would refuse (a NUL, a lone surrogate, a name longer than its column) is made valid
here, so one bad record cannot stall the shipper for the records behind it.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Callable
from datetime import UTC, datetime
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


def encode_record(record: AuditRecord, record_id: str, mode: InputsMode) -> bytes:
    """The complete journal line (checksum, JSON, newline) for ``record``."""
    inputs, inputs_utf8 = storable_json(record.inputs)
    created = record.created_at
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


def decode_row(body: bytes) -> JournalRow:
    """The row in a line's JSON body; InvalidRow when it is not one."""
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
