"""One teacher's updates in arrival order, many teachers at once, nothing acknowledged lost.

Both chat channels use this, written once:

- `KeyedSerializer`: work submitted under a key (the teacher) runs one at a time in submission
  order; different keys run concurrently, at most `limit` at once. `drain()` waits until
  nothing is queued or running (no polling).
- `OrderedUpdateProcessor`: the same as python-telegram-bot's `BaseUpdateProcessor`, PTB's
  own hook for "how updates run concurrently", keyed by the update's user (or chat).
- `InboxProcessor`: the path of every update. `accept` stores it in the inbox (storage/
  inbox.py) and returns once the row is committed; only then does the channel acknowledge
  it (HTTP 200, the Socket Mode ack, the next getUpdates offset). The teacher's pending rows
  are then processed oldest first under the teacher's cross-worker lock (PostgreSQL advisory
  lock, held while processing), so with several workers one teacher's updates still run in
  arrival order whichever worker received them. A sweep every `sweep_every` seconds (and
  `recover()` at start) takes over rows a dead worker left behind; its lock died with its
  connection, so that takes seconds, not a lease.

Failures: a database that cannot be reached is not the update's fault — the teacher is told
once ("we will answer when the database is back", `notify(entry, "db_down")`) and the row is
tried again with backoff, however long it takes. An update that cannot even be stored is not
acknowledged (the platform sends it again) and the teacher is told once too
(`"db_down_unsaved"`). Any other error, or an update still running after `process_timeout`,
counts an attempt; after `max_attempts` the row is parked with a log line and the teacher is told
(`notify(entry, "parked")`), and the teacher's later updates go on.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
from collections import deque
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

from bot.logging_setup import error_line, log_failure
from storage.inbox import PENDING, Inbox, InboxEntry, InboxItem
from storage.retry import is_transient

log = logging.getLogger(__name__)

Work = Callable[[], Awaitable[Any]]


class KeyedSerializer:
    """Per key one at a time, in submission order; across keys concurrently (≤ `limit`)."""

    def __init__(self, limit: int = 64) -> None:
        self._limit = asyncio.Semaphore(limit) if limit > 0 else None
        self._queues: dict[Hashable, deque[tuple[Work, asyncio.Future[Any]]]] = {}
        self._runners: set[asyncio.Task[None]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    def submit(self, key: Hashable, work: Work) -> asyncio.Future[Any]:
        """Queue `work` behind the key's earlier work; the future of its result."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        queue = self._queues.get(key)
        if queue is not None:
            queue.append((work, future))
            return future
        self._queues[key] = deque([(work, future)])
        self._idle.clear()
        runner = asyncio.create_task(self._run(key))
        self._runners.add(runner)
        runner.add_done_callback(self._runners.discard)
        return future

    async def run(self, key: Hashable, work: Work) -> Any:
        return await self.submit(key, work)

    async def _run(self, key: Hashable) -> None:
        queue = self._queues[key]
        try:
            while queue:
                work, future = queue[0]
                try:
                    if self._limit is not None:
                        async with self._limit:
                            result = await work()
                    else:
                        result = await work()
                except asyncio.CancelledError:
                    future.cancel()
                    raise
                except Exception as exc:
                    if not future.done():
                        future.set_exception(exc)
                    future.exception()  # retrieved: the submitter may not await it
                else:
                    if not future.done():
                        future.set_result(result)
                queue.popleft()
        finally:
            for _, future in queue:
                future.cancel()
            del self._queues[key]
            if not self._queues:
                self._idle.set()

    @property
    def busy(self) -> bool:
        return bool(self._queues)

    async def drain(self) -> None:
        """Until nothing is queued or running."""
        while self._queues:
            await self._idle.wait()

    async def close(self) -> None:
        for runner in list(self._runners):
            runner.cancel()
        for runner in list(self._runners):
            with contextlib.suppress(asyncio.CancelledError):
                await runner


def update_key(update: object) -> Hashable:
    """Whose update it is: the Telegram user (or chat) it comes from."""
    if isinstance(update, Update):
        if update.effective_user is not None:
            return ("user", update.effective_user.id)
        if update.effective_chat is not None:
            return ("chat", update.effective_chat.id)
    return ("other", id(update))


class OrderedUpdateProcessor(BaseUpdateProcessor):
    """PTB's update processor: one user's updates in order, different users concurrently.
    Replaces `concurrent_updates(False)`, which put every teacher behind every other."""

    def __init__(self, max_concurrent_updates: int = 256) -> None:
        super().__init__(max_concurrent_updates)
        self._serializer: KeyedSerializer | None = None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        # PTB's `process_update` takes a slot of the (large) semaphore without waiting and
        # calls this at once, so updates join their user's line in the order PTB hands
        # them over.
        if self._serializer is None:
            self._serializer = KeyedSerializer(limit=0)

        async def work() -> None:
            await coroutine

        await self._serializer.run(update_key(update), work)

    async def initialize(self) -> None:
        if self._serializer is None:
            self._serializer = KeyedSerializer(limit=0)

    async def shutdown(self) -> None:
        if self._serializer is not None:
            await self._serializer.drain()


def _unstored(item: InboxItem) -> InboxEntry:
    return InboxEntry(
        id=0,
        key=item.key,
        platform=item.platform,
        teacher=item.teacher,
        payload=item.payload,
        attempts=0,
        status=PENDING,
        received_at=dt.datetime.now(dt.UTC),
    )


Process = Callable[[InboxEntry], Awaitable[None]]
Notify = Callable[[InboxEntry, str], Awaitable[None]]


class InboxProcessor:
    """Store before ack; process each teacher's rows in order, across workers; recover."""

    def __init__(
        self,
        inbox: Inbox,
        process: Process,
        notify: Notify,
        *,
        max_attempts: int = 3,
        sweep_every: float = 1.0,
        limit: int = 8,
        process_timeout: float = 120.0,
    ) -> None:
        self.inbox = inbox
        self.process = process
        self.notify = notify
        self.max_attempts = max_attempts
        self.sweep_every = sweep_every
        self.process_timeout = process_timeout  # an update still running then is stuck
        self.keep_days = 7  # processed rows are kept this long (platform retries, audits)
        self._serializer = KeyedSerializer(limit)
        self._queued: set[str] = set()
        self._delays: dict[str, int] = {}  # teacher → consecutive retries (backoff)
        self._told_down: set[str] = set()
        self._timers: set[asyncio.TimerHandle] = set()
        self._sweeper: asyncio.Task[None] | None = None

    async def accept(self, item: InboxItem) -> bool:
        """Store `item`; when this returns, the update may be acknowledged. True if it was
        new. Raises when the database cannot store it: then do not acknowledge."""
        try:
            entry, new = await self.inbox.add(item)
        except Exception as exc:
            if is_transient(exc) and item.teacher not in self._told_down:
                # Not stored, so not acknowledged: the platform sends it again later. The
                # teacher hears once why there is no answer yet.
                self._told_down.add(item.teacher)
                await self._tell(_unstored(item), "db_down_unsaved")
            raise
        if entry.status == PENDING:
            self.kick(entry.teacher)
        return new

    def kick(self, teacher: str) -> None:
        """Process the teacher's pending rows soon (once, however often kicked meanwhile)."""
        if teacher in self._queued:
            return
        self._queued.add(teacher)
        self._serializer.submit(teacher, lambda: self._drain(teacher))

    def start(self) -> None:
        """Take over what is pending now, and sweep for rows left behind from then on."""
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep_forever())

    async def recover(self) -> None:
        for teacher in await self.inbox.pending_teachers():
            self.kick(teacher)

    async def drain(self) -> None:
        """Until every kicked teacher's rows are processed (tests, a clean stop)."""
        await self._serializer.drain()

    async def close(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        await self._serializer.drain()

    # ---- inside

    async def _sweep_forever(self) -> None:
        first = True
        sweeps = 0
        while True:
            try:
                older = 0.0 if first else self.sweep_every
                for teacher in await self.inbox.pending_teachers(older_than=older):
                    self.kick(teacher)
                first = False
                sweeps += 1
                if sweeps % 3600 == 1:  # about hourly: forget what was done long ago
                    await self.inbox.forget_done(days=self.keep_days)
            except Exception as exc:  # the database is away: try again next round
                log.warning("inbox sweep failed: %s", exc)
            await asyncio.sleep(self.sweep_every)

    def _later(self, teacher: str, delay: float) -> None:
        loop = asyncio.get_running_loop()
        timer: asyncio.TimerHandle

        def fire() -> None:
            self._timers.discard(timer)
            self.kick(teacher)

        timer = loop.call_later(delay, fire)
        self._timers.add(timer)

    def _backoff(self, teacher: str, base: float = 0.1, cap: float = 5.0) -> float:
        n = self._delays.get(teacher, 0)
        self._delays[teacher] = n + 1
        return float(min(cap, base * 2**n) * random.uniform(0.5, 1.5))

    async def _drain(self, teacher: str) -> None:
        self._queued.discard(teacher)
        try:
            async with self.inbox.teacher_lock(teacher) as mine:
                if not mine:
                    # Another worker is on this teacher; it takes every pending row, ours
                    # too. Look again shortly in case it finished just before ours arrived.
                    self._later(teacher, self._backoff(teacher, 0.05, 1.0))
                    return
                while True:
                    rows = await self.inbox.pending(teacher, limit=50)
                    if not rows:
                        break
                    for row in rows:
                        if not await self._one(row):
                            self._later(teacher, self._backoff(teacher))
                            return
        except Exception as exc:
            if not is_transient(exc):
                log_failure(log, f"inbox: processing {teacher}'s updates", exc)
            else:
                log.warning("inbox: database unavailable for %s: %s", teacher, exc)
            self._later(teacher, self._backoff(teacher))
            return
        self._delays.pop(teacher, None)

    async def _one(self, row: InboxEntry) -> bool:
        """Process one row; False to stop this teacher for now and retry later."""
        deadline = asyncio.timeout(self.process_timeout)
        try:
            async with deadline:
                await self.process(row)
        except Exception as caught:
            exc: Exception = caught
            if deadline.expired():  # stuck: counts as a failed attempt, like an error
                exc = TimeoutError(f"still running after {self.process_timeout:.0f} s")
            elif is_transient(exc):
                log.warning("inbox: %s waits for the database: %s", row.key, exc)
                if row.teacher not in self._told_down:
                    self._told_down.add(row.teacher)
                    await self._tell(row, "db_down")
                return False
            log_failure(log, f"inbox: update {row.key} (attempt {row.attempts + 1})", exc)
            attempts = await self.inbox.failed(row.id, error_line(exc))
            if attempts < self.max_attempts:
                return False
            log.error(
                "inbox: update %s parked after %d failed attempts: %s",
                row.key,
                attempts,
                error_line(exc),
            )
            await self.inbox.park(row.id, error_line(exc))
            await self._tell(row, "parked")
            return True
        await self.inbox.done(row.id)
        if row.teacher in self._told_down:
            self._told_down.discard(row.teacher)
        return True

    async def _tell(self, row: InboxEntry, what: str) -> None:
        try:
            await self.notify(row, what)
        except Exception as exc:  # telling is a courtesy; the row's fate is decided
            log.warning("inbox: could not tell the teacher of %s (%s): %s", row.key, what, exc)
