"""bot/ordering.py: one teacher's updates in order, teachers at once; the inbox's retries,
parking and recovery (on an SQLite inbox; the PostgreSQL, several-worker side is in
tests/faults)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.ordering import InboxProcessor, KeyedSerializer
from storage.db import Database, open_database
from storage.inbox import DONE, PARKED, PENDING, Inbox, InboxEntry, InboxItem


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[Database]:
    db = await open_database(f"sqlite:///{tmp_path / 'inbox.db'}")
    try:
        yield db
    finally:
        await db.close()


def item(n: int, teacher: str = "t:1") -> InboxItem:
    return InboxItem(
        platform="test", key=f"test:{n}", update_id=str(n), teacher=teacher, payload=str(n)
    )


async def until(predicate: object, timeout: float = 10.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():  # type: ignore[operator]
            await asyncio.sleep(0.01)


async def test_one_keys_work_runs_in_order_and_other_keys_meanwhile() -> None:
    serializer = KeyedSerializer()
    done: list[str] = []
    b_ran = asyncio.Event()

    async def slow_a(n: int) -> None:
        if n == 0:
            await asyncio.wait_for(b_ran.wait(), 5)  # only possible if B runs meanwhile
        done.append(f"a{n}")

    async def b() -> None:
        done.append("b")
        b_ran.set()

    for n in range(3):
        serializer.submit("A", lambda n=n: slow_a(n))  # type: ignore[misc]
    serializer.submit("B", b)
    await serializer.drain()
    assert done == ["b", "a0", "a1", "a2"]


async def test_a_poison_update_is_parked_after_three_attempts_and_the_next_one_goes_on(
    database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    processed: list[str] = []
    told: list[tuple[str, str]] = []
    tries = {"test:1": 0}

    async def process(entry: InboxEntry) -> None:
        if entry.key == "test:1":
            tries["test:1"] += 1
            raise ValueError("cannot be read")
        processed.append(entry.key)

    async def notify(entry: InboxEntry, what: str) -> None:
        told.append((entry.key, what))

    processor = InboxProcessor(database.inbox, process, notify, max_attempts=3)
    with caplog.at_level(logging.ERROR, logger="bot.ordering"):
        assert await processor.accept(item(1))
        assert await processor.accept(item(2))
        await until(lambda: processed == ["test:2"])
    await processor.close()
    assert tries["test:1"] == 3
    assert told == [("test:1", "parked")]
    parked = await database.inbox.get("test:1")
    assert parked is not None and parked.status == PARKED and parked.attempts == 3
    assert any("parked" in r.getMessage() and "test:1" in r.getMessage() for r in caplog.records)


async def test_while_the_database_is_away_the_teacher_hears_once_and_the_update_waits(
    database: Database,
) -> None:
    down = 4
    told: list[str] = []
    processed: list[str] = []

    async def process(entry: InboxEntry) -> None:
        nonlocal down
        if down:
            down -= 1
            raise ConnectionRefusedError("database is down")
        processed.append(entry.key)

    async def notify(entry: InboxEntry, what: str) -> None:
        told.append(what)

    processor = InboxProcessor(database.inbox, process, notify, max_attempts=3)
    await processor.accept(item(1))
    await until(lambda: processed == ["test:1"])
    await processor.close()
    assert told == ["db_down"]  # once, however many tries
    row = await database.inbox.get("test:1")
    assert row is not None and row.status == DONE and row.attempts == 0  # not its fault


async def test_a_retry_of_a_stored_update_is_not_new_and_not_processed_again(
    database: Database,
) -> None:
    processed: list[str] = []

    async def process(entry: InboxEntry) -> None:
        processed.append(entry.key)

    async def notify(entry: InboxEntry, what: str) -> None:
        raise AssertionError(what)

    processor = InboxProcessor(database.inbox, process, notify)
    assert await processor.accept(item(1)) is True
    await processor.drain()
    assert await processor.accept(item(1)) is False
    await processor.drain()
    await processor.close()
    assert processed == ["test:1"]


async def test_rows_a_dead_worker_left_are_processed_at_start_in_each_teachers_order(
    database: Database,
) -> None:
    for n in range(6):  # stored, never processed: the worker died after the ack
        await database.inbox.add(item(n, teacher=f"t:{n % 2}"))
    processed: list[str] = []

    async def process(entry: InboxEntry) -> None:
        await asyncio.sleep(0.001)
        processed.append(entry.key)

    async def notify(entry: InboxEntry, what: str) -> None:
        raise AssertionError(what)

    processor = InboxProcessor(database.inbox, process, notify)
    processor.start()
    await until(lambda: len(processed) == 6)
    await processor.close()
    assert [k for k in processed if int(k[5:]) % 2 == 0] == ["test:0", "test:2", "test:4"]
    assert [k for k in processed if int(k[5:]) % 2 == 1] == ["test:1", "test:3", "test:5"]
    assert await database.inbox.pending_teachers() == []
    row = await database.inbox.get("test:5")
    assert row is not None and row.status == DONE != PENDING


async def test_an_update_that_cannot_be_stored_is_refused_and_the_teacher_told_once(
    database: Database,
) -> None:
    class Away(Inbox):
        async def add(self, item: InboxItem) -> tuple[InboxEntry, bool]:
            raise ConnectionRefusedError("database is down")

    told: list[tuple[str, str]] = []

    async def process(entry: InboxEntry) -> None:
        raise AssertionError("nothing stored, nothing to process")

    async def notify(entry: InboxEntry, what: str) -> None:
        told.append((entry.teacher, what))

    processor = InboxProcessor(Away(database.engine), process, notify)
    for n in range(3):  # the platform sends it again; the teacher writes more meanwhile
        with pytest.raises(ConnectionRefusedError):
            await processor.accept(item(n))
    await processor.close()
    assert told == [("t:1", "db_down_unsaved")]


async def test_done_rows_are_forgotten_after_a_while_and_parked_rows_kept(
    database: Database,
) -> None:
    inbox = database.inbox
    for n in range(3):
        await inbox.add(item(n))
    first, second, _ = await inbox.pending("t:1")
    await inbox.done(first.id)
    await inbox.park(second.id, "ValueError: unreadable")
    assert await inbox.forget_done(days=1) == 0  # done just now: kept
    assert await inbox.forget_done(days=-1) == 1  # "older than tomorrow": the done one
    assert await inbox.get("test:0") is None
    parked = await inbox.get("test:1")
    assert parked is not None and parked.status == PARKED
    assert [e.key for e in await inbox.pending("t:1")] == ["test:2"]


async def test_a_stuck_update_is_given_up_on_and_parked(database: Database) -> None:
    told: list[str] = []
    processed: list[str] = []

    async def process(entry: InboxEntry) -> None:
        if entry.key == "test:1":
            await asyncio.sleep(60)  # hangs
        processed.append(entry.key)

    async def notify(entry: InboxEntry, what: str) -> None:
        told.append(what)

    processor = InboxProcessor(database.inbox, process, notify, max_attempts=2, process_timeout=0.2)
    await processor.accept(item(1))
    await processor.accept(item(2))
    await until(lambda: processed == ["test:2"])
    await processor.close()
    assert told == ["parked"]
    row = await database.inbox.get("test:1")
    assert row is not None and row.status == PARKED
