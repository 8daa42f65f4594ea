"""The one call every channel makes: `Conversation.handle(inbound) -> [Outbound]`.

Load the teacher's snapshot from the store, run the pure engine step, commit its changes with
the idempotency key and the version check (retrying on a conflict), then fill in documents the
engine asked for. A key seen before changes nothing: the current question is sent again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import random
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from dialogs import engine
from dialogs.messages import Messages
from dialogs.store import SessionStore, VersionConflict
from dialogs.template import Template
from dialogs.types import Document, Inbound, Outbound, PlanRecord, PlanSummary, UserRef


class DocumentRenderer(Protocol):
    def __call__(
        self, template: Template, plan: PlanRecord, *, draft: bool, now: dt.datetime
    ) -> Document: ...


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Conversation:
    def __init__(
        self,
        store: SessionStore,
        templates: dict[str, Template],
        renderer: DocumentRenderer,
        *,
        messages: Messages | None = None,
        clock: Callable[[], dt.datetime] = utc_now,
        max_attempts: int = 10,
        retry_budget: float = 10.0,
    ) -> None:
        self.store = store
        self.engine = engine.Engine(templates, messages or Messages.load())
        self.renderer = renderer
        self.clock = clock
        self.max_attempts = max_attempts
        # Version conflicts (another turn of this teacher committed first) are retried with
        # jittered backoff for this many seconds, however many attempts that takes.
        self.retry_budget = retry_budget

    @property
    def templates(self) -> dict[str, Template]:
        return self.engine.templates

    async def handle(
        self,
        inbound: Inbound,
        *,
        before_document: Callable[[], Awaitable[None]] | None = None,
    ) -> list[Outbound]:
        """Process one inbound message. `before_document` is awaited before a document is
        rendered (Telegram shows "sending a file…" then)."""
        deadline = time.monotonic() + self.retry_budget
        attempt = 0
        while True:
            attempt += 1
            snapshot = await self.store.load(inbound.user, inbound.key)
            now = self.clock()
            if snapshot.key_seen:
                return self.engine.replay(snapshot, now)
            result = self.engine.step(snapshot, inbound, now)
            try:
                await self.store.commit(snapshot, result.changes, inbound.key)
            except VersionConflict:
                if attempt >= self.max_attempts and time.monotonic() >= deadline:
                    break
                if attempt > 1:  # the first retry at once, then back off with jitter
                    pause = min(0.2, 0.002 * 2 ** min(attempt, 7)) * random.uniform(0.5, 1.5)
                    await asyncio.sleep(min(pause, max(0.0, deadline - time.monotonic())))
                continue
            outs: list[Outbound] = []
            for out in result.outbounds:
                if out.export_plan_id is not None and before_document is not None:
                    await before_document()
                outs.append(await self._with_document(out, result.plans, now))
            return outs
        raise RuntimeError(f"could not commit a step for {inbound.user} after retries")

    async def summaries(self, user: UserRef) -> list[PlanSummary]:
        """The teacher's plans, newest first, for an overview such as Slack's App Home."""
        snapshot = await self.store.load(user, key="")
        return self.engine.summaries(snapshot)

    def command_menu(self) -> list[tuple[str, str]]:
        """(command, Swedish description) pairs for a platform's command menu."""
        return self.engine.command_menu()

    async def _with_document(
        self, out: Outbound, plans: dict[str, PlanRecord], now: dt.datetime
    ) -> Outbound:
        if out.export_plan_id is None:
            return out
        plan = plans[out.export_plan_id]
        template = self.templates[plan.template_id]
        # Rendering takes tens of milliseconds: off the event loop, so other teachers'
        # turns go on meanwhile.
        document = await asyncio.to_thread(
            self.renderer, template, plan, draft=out.export_draft, now=now
        )
        return out.model_copy(update={"document": document})
