"""The one call every channel makes: `Conversation.handle(inbound) -> [Outbound]`.

Load the teacher's snapshot from the store, run the pure engine step, commit its changes with
the idempotency key and the version check (retrying on a conflict), then fill in documents the
engine asked for. A key seen before changes nothing: the current question is sent again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from dialogs import engine
from dialogs.messages import Messages
from dialogs.store import SessionStore, VersionConflict
from dialogs.template import Template
from dialogs.types import Changes, Document, Inbound, Outbound, PlanRecord, PlanSummary, UserRef

log = logging.getLogger(__name__)


class AfterCommit(Protocol):
    """Called after each committed step with the teacher, their plans before the step, and
    what the step changed (new or changed plans, deleted ones): how derived rows such as
    reminders follow the plans. It runs after the commit, so it must be idempotent and may
    not fail the turn."""

    async def __call__(
        self,
        user: UserRef,
        before: Mapping[str, PlanRecord],
        changes: Changes,
        now: dt.datetime,
    ) -> None: ...


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
        after_commit: AfterCommit | None = None,
        burst_seconds: float = 0.0,
    ) -> None:
        self.store = store
        self.engine = engine.Engine(
            templates, messages or Messages.load(), burst_seconds=burst_seconds
        )
        self.renderer = renderer
        self.clock = clock
        self.max_attempts = max_attempts
        self.after_commit = after_commit

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
        for _ in range(self.max_attempts):
            snapshot = await self.store.load(inbound.user, inbound.key)
            now = self.clock()
            if snapshot.key_seen:
                return self.engine.replay(snapshot, now)
            result = self.engine.step(snapshot, inbound, now)
            try:
                await self.store.commit(snapshot, result.changes, inbound.key)
            except VersionConflict:
                continue
            if self.after_commit is not None:
                await self._after_commit(inbound.user, snapshot.plans, result.changes, now)
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

    async def _after_commit(
        self,
        user: UserRef,
        before: Mapping[str, PlanRecord],
        changes: Changes,
        now: dt.datetime,
    ) -> None:
        assert self.after_commit is not None
        try:
            await self.after_commit(user, before, changes, now)
        except Exception:  # the answer is stored; what follows from it can be redone later
            log.exception("after-commit hook failed for %s", user)

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
