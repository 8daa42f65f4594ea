"""The one call every channel makes: `Conversation.handle(inbound) -> [Outbound]`.

Load the teacher's snapshot from the store, run the pure engine step, commit its changes with
the idempotency key and the version check (retrying on a conflict), then fill in documents the
engine asked for. A key seen before changes nothing: the current question is sent again.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from dialogs import engine
from dialogs.messages import Messages
from dialogs.reminder_actions import Coming
from dialogs.reminders import ReminderRules
from dialogs.store import SessionStore, VersionConflict
from dialogs.template import DocumentVariant, Template
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


@dataclass(frozen=True)
class Turn:
    """What one `handle` did, for the operator's log: never the teacher's text."""

    user: UserRef
    plan_id: str  # the teacher's open plan after the turn ("" when none)
    event: str  # the inbound's kind, "command:/name", or "export" when a document went out
    outcome: str  # "ok", "replay" (a key seen before) or "error"
    duration_ms: float
    error: str = ""  # one line, for "error"


def event_of(inbound: Inbound) -> str:
    text = (inbound.text or "").strip()
    if inbound.kind.value == "text" and text.startswith("/"):
        return "command:" + text.split(maxsplit=1)[0][:24]
    return str(inbound.kind.value)


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
        after_commit: AfterCommit | None = None,
        on_turn: Callable[[Turn], None] | None = None,
        data_export: Callable[[UserRef], Awaitable[Document | None]] | None = None,
        retry_budget: float = 10.0,
        rules: ReminderRules | None = None,
        burst_seconds: float = 0.0,
    ) -> None:
        self.store = store
        self.engine = engine.Engine(
            templates, messages or Messages.load(), rules, burst_seconds=burst_seconds
        )
        self.renderer = renderer
        self.clock = clock
        self.max_attempts = max_attempts
        self.after_commit = after_commit
        self.on_turn = on_turn
        self.data_export = data_export
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
        rendered (Telegram shows "sending a file…" then). `on_turn` hears of every turn."""
        if self.on_turn is None:
            return await self._handle(inbound, before_document, {})
        started = time.perf_counter()
        seen: dict[str, str] = {}
        try:
            outs = await self._handle(inbound, before_document, seen)
        except Exception as exc:
            reason = next((ln for ln in str(exc).splitlines() if ln.strip()), type(exc).__name__)
            self._report(inbound, seen, "error", started, reason.strip()[:300])
            with contextlib.suppress(AttributeError, TypeError):
                exc.planbot_turn_reported = True  # type: ignore[attr-defined]
            raise
        self._report(inbound, seen, seen.get("outcome", "ok"), started)
        return outs

    def _report(
        self, inbound: Inbound, seen: dict[str, str], outcome: str, started: float, error: str = ""
    ) -> None:
        assert self.on_turn is not None
        self.on_turn(
            Turn(
                user=inbound.user,
                plan_id=seen.get("plan_id", ""),
                event=seen.get("event", event_of(inbound)),
                outcome=outcome,
                duration_ms=round((time.perf_counter() - started) * 1000, 2),
                error=error,
            )
        )

    async def _handle(
        self,
        inbound: Inbound,
        before_document: Callable[[], Awaitable[None]] | None,
        seen: dict[str, str],
    ) -> list[Outbound]:
        deadline = time.monotonic() + self.retry_budget
        attempt = 0
        while True:
            attempt += 1
            snapshot = await self.store.load(inbound.user, inbound.key)
            now = self.clock()
            seen["plan_id"] = str(snapshot.user.state.get("active") or "")
            if snapshot.key_seen:
                seen["outcome"] = "replay"
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
            if self.after_commit is not None:
                await self._after_commit(inbound.user, snapshot.plans, result.changes, now)
            seen["plan_id"] = str(result.changes.user_state.get("active") or "")
            if any(out.export_plan_id is not None for out in result.outbounds):
                seen["event"] = "export"
            outs: list[Outbound] = []
            for out in result.outbounds:
                wants_file = out.export_plan_id is not None or out.export_user_data
                if wants_file and before_document is not None:
                    await before_document()
                if out.export_user_data:
                    outs.append(await self._with_user_data(out, inbound.user))
                else:
                    outs.extend(await self._with_document(out, result.plans, now))
            return outs
        raise RuntimeError(f"could not commit a step for {inbound.user} after retries")

    async def summaries(self, user: UserRef) -> list[PlanSummary]:
        """The teacher's plans, newest first, for an overview such as Slack's App Home."""
        snapshot = await self.store.load(user, key="")
        return self.engine.summaries(snapshot)

    async def upcoming_reminders(self, user: UserRef) -> list[Coming]:
        """The teacher's reminders still to come, soonest first (Slack's App Home)."""
        snapshot = await self.store.load(user, key="")
        return self.engine.upcoming(snapshot, self.clock())

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

    async def _with_user_data(self, out: Outbound, user: UserRef) -> Outbound:
        """/mina-uppgifter: the zip of everything stored about the teacher (after this turn's
        commit, so it is complete), when the application gave a `data_export`."""
        if self.data_export is None:
            return out
        return out.model_copy(update={"document": await self.data_export(user)})

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

        async def render(pdf: bool) -> Document:
            # Rendering takes tens of milliseconds (a PDF, seconds): off the event loop, so
            # other teachers' turns go on meanwhile.
            return await asyncio.to_thread(
                self.renderer,
                template,
                plan,
                draft=out.export_draft,
                now=now,
                variant=variant,
                pdf=pdf,
            )

        if out.export_pdf and not out.export_docx:
            # Only the PDF: the teacher has this copy's .docx already.
            try:
                return [out.model_copy(update={"document": await render(pdf=True)})]
            except DocumentUnavailable as exc:
                return [out.model_copy(update={"text": str(exc), "note": None})]
        outs = [out.model_copy(update={"document": await render(pdf=False)})]
        if out.export_pdf:
            try:
                outs.append(Outbound(document=await render(pdf=True)))
            except DocumentUnavailable as exc:
                outs.append(Outbound(text=str(exc)))
        return outs
