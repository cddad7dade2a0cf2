"""The segment format: checksummed lines, names, and reading back what is complete."""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

from labserve.journal.records import decode_row, encode_record
from labserve.journal.segments import (
    SegmentReader,
    decode_frame,
    disk_usage,
    encode_frame,
    list_segments,
    segment_name,
)
from tests.journal.helpers import record


def read_all(path: Path, offset: int = 0) -> tuple[list[bytes | None], int]:
    fd = os.open(path, os.O_RDONLY)
    try:
        reader = SegmentReader(fd, offset, block_bytes=64)  # tiny blocks: lines span reads
        bodies = [frame.body for frame in reader.frames()]
        return bodies, reader.tail_bytes
    finally:
        os.close(fd)


def test_a_frame_is_one_checksummed_line() -> None:
    frame = encode_frame(b'{"a":1}')
    assert frame.endswith(b"\n")
    assert frame.count(b"\n") == 1
    assert decode_frame(frame[:-1]) == b'{"a":1}'


def test_damaged_or_short_lines_fail_the_checksum() -> None:
    line = encode_frame(b'{"a":1}')[:-1]
    assert decode_frame(line.replace(b"1}", b"2}")) is None
    assert decode_frame(b"zzzzzzzz " + line[9:]) is None
    assert decode_frame(line[:5]) is None
    assert decode_frame(b"") is None
    assert decode_frame(b"\x00" * 40) is None


def test_a_record_line_decodes_to_the_row_the_database_gets() -> None:
    created = datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC)
    line = encode_record(record(7, created_at=created, caller="lims"), "abc123", "full")
    body = decode_frame(line[:-1])
    assert body is not None
    row = decode_row(body)
    assert row["record_id"] == "abc123"
    assert row["created_at"] == created
    assert row["caller"] == "lims"
    assert row["request_id"] == "req-7"
    assert row["inputs"] == '[{"radius_mean":7.0,"texture_mean":10.5}]'
    assert row["outputs"] == '[{"label":"Benign","probability_malignant":0.1}]'
    assert len(row["inputs_sha256"]) == 64


def test_text_the_database_would_refuse_is_made_storable() -> None:
    awkward = record(1, caller="a\x00b", request_id="x" * 500, inputs=["\ud800 lone surrogate"])
    body = decode_frame(encode_record(awkward, "id", "full")[:-1])
    assert body is not None
    row = decode_row(body)
    assert row["caller"] == "a\ufffdb"
    assert len(row["request_id"]) == 64
    assert row["inputs"] == '["\\ud800 lone surrogate"]'
    row["inputs"].encode("utf-8")  # valid UTF-8, so PostgreSQL takes it


def test_the_reader_skips_a_damaged_line_and_goes_on(tmp_path: Path) -> None:
    path = tmp_path / "a.seg"
    good = [encode_frame(b'{"n":%d}' % i) for i in range(5)]
    damaged = good[2].replace(b'"n"', b'"m"')
    path.write_bytes(good[0] + good[1] + damaged + good[3] + good[4])
    bodies, tail = read_all(path)
    assert bodies == [b'{"n":0}', b'{"n":1}', None, b'{"n":3}', b'{"n":4}']
    assert tail == 0


def test_a_torn_last_line_is_left_unread(tmp_path: Path) -> None:
    path = tmp_path / "a.seg"
    frames = [encode_frame(b'{"n":%d}' % i) for i in range(3)]
    path.write_bytes(frames[0] + frames[1] + frames[2][:7])
    bodies, tail = read_all(path)
    assert bodies == [b'{"n":0}', b'{"n":1}']
    assert tail == 7
    bodies, tail = read_all(path, offset=len(frames[0]))
    assert bodies == [b'{"n":1}']
    assert tail == 7


def test_names_sort_by_creation_time_and_differ_per_writer() -> None:
    start = datetime(2026, 5, 1, tzinfo=UTC)
    names = [
        segment_name(99, "bbbbbbbb", 1, start + timedelta(microseconds=5)),
        segment_name(12345, "aaaaaaaa", 1, start),
        segment_name(7, "cccccccc", 2, start + timedelta(days=1)),
    ]
    assert sorted(names) == [names[1], names[0], names[2]]
    assert segment_name(1, "aaaaaaaa", 1, start) != segment_name(1, "bbbbbbbb", 1, start)


def test_listing_ignores_temporary_and_other_files(tmp_path: Path) -> None:
    (tmp_path / "b.seg").write_bytes(b"12")
    (tmp_path / "a.seg").write_bytes(b"1")
    (tmp_path / ".c.seg.tmp").write_bytes(b"123")
    (tmp_path / "shipper-status.json").write_bytes(b"{}")
    assert [p.name for p in list_segments(tmp_path)] == ["a.seg", "b.seg"]
    usage = disk_usage(tmp_path)
    assert (usage.segments, usage.bytes) == (2, 3)
    assert list_segments(tmp_path / "missing") == []
