"""The one call every channel makes: `Conversation.handle(inbound) -> [Outbound]`.

Load the teacher's snapshot from the store, run the pure engine step, commit its changes with
the idempotency key and the version check (retrying on a conflict), then fill in documents the
engine asked for. A key seen before changes nothing: the current question is sent again.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Awaitable, Callable
from typing import Protocol

from dialogs import engine
from dialogs.messages import Messages
from dialogs.store import SessionStore, VersionConflict
from dialogs.template import DocumentVariant, Template
from dialogs.types import Document, Inbound, Outbound, PlanRecord, PlanSummary, UserRef


class DocumentRenderer(Protocol):
    """Makes the plan's document: the template's default copy unless `variant` says which,
    a PDF instead of the .docx when `pdf` (raising `DocumentUnavailable` when it cannot)."""

    def __call__(
        self,
        template: Template,
        plan: PlanRecord,
        *,
        draft: bool,
        now: dt.datetime,
        variant: DocumentVariant | None = None,
        pdf: bool = False,
    ) -> Document: ...


class DocumentUnavailable(Exception):
    """A document that cannot be made here (no LibreOffice for a PDF); the message is the
    Swedish text the teacher reads, saying what to do."""


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
    ) -> None:
        self.store = store
        self.engine = engine.Engine(templates, messages or Messages.load())
        self.renderer = renderer
        self.clock = clock
        self.max_attempts = max_attempts

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
            outs: list[Outbound] = []
            for out in result.outbounds:
                if out.export_plan_id is not None and before_document is not None:
                    await before_document()
                outs.extend(await self._with_document(out, result.plans, now))
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
    ) -> list[Outbound]:
        """The .docx in `out`; with `export_pdf`, the PDF after it in a message of its own
        (or, without LibreOffice, a message saying what to install)."""
        if out.export_plan_id is None:
            return [out]
        plan = plans[out.export_plan_id]
        template = self.templates[plan.template_id]
        variant = DocumentVariant(out.export_variant) if out.export_variant else None
        # Rendering takes tens of milliseconds: off the event loop, so other teachers'
        # turns go on meanwhile.
        document = await asyncio.to_thread(
            self.renderer, template, plan, draft=out.export_draft, now=now, variant=variant
        )
        outs = [out.model_copy(update={"document": document})]
        if out.export_pdf:
            try:
                pdf = await asyncio.to_thread(
                    self.renderer,
                    template,
                    plan,
                    draft=out.export_draft,
                    now=now,
                    variant=variant,
                    pdf=True,
                )
            except DocumentUnavailable as exc:
                outs.append(Outbound(text=str(exc)))
            else:
                outs.append(Outbound(document=pdf))
        return outs
