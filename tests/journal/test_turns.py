"""One journal write per event-loop turn: every record staged in a turn goes out in one write,
before any of their futures resolves; a failed write refuses them all and writes none."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

from labserve.journal import JournalWriter, TurnWriter
from tests.journal.helpers import journal_rows, record, run_on_a_loop_of_its_own


def test_the_records_of_one_turn_go_out_in_one_write(journal_dir: Path) -> None:
    writer = JournalWriter(journal_dir)
    turns = TurnWriter(writer)
    seen: list[tuple[int, list[str]]] = []

    async def turn_of_three_then_one() -> list[str | None]:
        staged = [turns.stage(record(i)) for i in range(3)]
        assert writer.stats().writes == 0  # nothing written while the turn runs
        results = list(await asyncio.gather(*staged))
        seen.append((writer.stats().writes, [r["request_id"] for r in journal_rows(journal_dir)]))
        results.append(await turns.stage(record(3)))
        return results

    results = run_on_a_loop_of_its_own(turn_of_three_then_one)
    assert results == [None] * 4
    assert seen == [(1, ["req-0", "req-1", "req-2"])]  # written before the waiters woke
    stats = writer.stats()
    assert (stats.writes, stats.records_appended) == (2, 4)
    writer.close()
    assert [r["request_id"] for r in journal_rows(journal_dir)] == [f"req-{i}" for i in range(4)]


def test_a_failed_turn_write_refuses_every_record_of_the_turn(journal_dir: Path) -> None:
    writer = JournalWriter(journal_dir, probe_seconds=0)
    turns = TurnWriter(writer)

    async def stage_two() -> list[str | None]:
        return list(await asyncio.gather(turns.stage(record(1)), turns.stage(record(2))))

    assert run_on_a_loop_of_its_own(stage_two) == [None, None]
    shutil.rmtree(journal_dir)
    reasons = run_on_a_loop_of_its_own(stage_two)
    assert len(set(reasons)) == 1
    assert "removed" in str(reasons[0])
    assert writer.stats().records_refused == 2
    assert not writer.healthy
    journal_dir.mkdir()
    assert run_on_a_loop_of_its_own(stage_two) == [None, None]
    writer.close()
    assert [r["request_id"] for r in journal_rows(journal_dir)] == ["req-1", "req-2"]


def test_a_closed_writer_refuses_the_turn(journal_dir: Path) -> None:
    writer = JournalWriter(journal_dir)
    turns = TurnWriter(writer)
    writer.close()

    async def stage_one() -> str | None:
        return await turns.stage(record(1))

    assert run_on_a_loop_of_its_own(stage_one) == "the journal writer is closed"
    assert writer.stats().records_refused == 1


def test_a_cancelled_request_does_not_stop_the_others_of_its_turn(journal_dir: Path) -> None:
    writer = JournalWriter(journal_dir)
    turns = TurnWriter(writer)

    async def one_cancelled() -> str | None:
        gone = asyncio.ensure_future(turns.stage(record(1)))
        kept = turns.stage(record(2))
        gone.cancel()
        return await kept

    assert run_on_a_loop_of_its_own(one_cancelled) is None
    writer.close()
    # the cancelled request's record is written all the same: a record without an answer
    # is harmless, an answer without a record is what must never happen
    assert [r["request_id"] for r in journal_rows(journal_dir)] == ["req-1", "req-2"]
