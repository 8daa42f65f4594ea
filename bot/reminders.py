"""Reminders out of the database and into the teacher's own chat.

`Reminders` ties the pure derivation (dialogs/reminders.py) to the reminders table
(storage/reminders.py): `after_commit` keeps a plan's rows in step after every turn, and
`run_pass` claims what is due and hands each reminder to the sender of its channel:

- Telegram: `send_message` in the teacher's private chat (chat id = user id), the three
  buttons as an inline keyboard; "Forbidden: bot was blocked by the user" drops it.
- Slack: a DM (`conversations.open` + `chat.postMessage`) with Block Kit buttons.
- The terminal has no way to reach anybody: due reminders are shown when `planbot chat`
  starts (`show_in_terminal`).

A failed send (network, flood control, Slack rate limit) is retried later with a growing
delay, inside school hours; after `MAX_ATTEMPTS` it is dropped with a log line.
`planbot remind` runs one pass and exits; `planbot telegram` / `planbot slack` run a pass
every `interval` seconds (`run_every`).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.logging_setup import log_failure
from dialogs.messages import Messages
from dialogs.reminders import (
    DueReminder,
    Nudges,
    ReminderKind,
    SchoolHours,
    derive,
    input_paths,
    inputs,
    reminder_outbound,
)
from dialogs.store import SessionStore
from dialogs.template import Template
from dialogs.types import Changes, Outbound, PlanRecord, PlanStatus, UserRef
from storage.reminders import ReminderStore, StoredReminder

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


class ReminderSettings(BaseSettings):
    """PLANBOT_REMIND_*: when reminders may arrive, and how often the bots look."""

    model_config = SettingsConfigDict(
        env_prefix="PLANBOT_REMIND_", env_file=".env", env_file_encoding="utf-8", extra="ignore"
    )

    timezone: str = "Europe/Stockholm"
    opens: dt.time = dt.time(8, 0)
    closes: dt.time = dt.time(16, 0)
    # ISO weekdays 1 (Monday) – 7 (Sunday), as a JSON list: PLANBOT_REMIND_WEEKDAYS=[1,2,3,4,5]
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5])
    # Whose public holidays pause reminders (a `holidays` country code); empty: none.
    holidays: str = "SE"
    nudge_after_days: int = Field(default=7, ge=1)
    nudge_times: int = Field(default=2, ge=0)
    interval_seconds: float = Field(default=60, gt=0)

    def hours(self) -> SchoolHours:
        return SchoolHours(
            timezone=self.timezone,
            opens=self.opens,
            closes=self.closes,
            weekdays=frozenset(d - 1 for d in self.weekdays),
            country=self.holidays or None,
        )

    def nudges(self) -> Nudges:
        return Nudges(after=dt.timedelta(days=self.nudge_after_days), times=self.nudge_times)


class Blocked(Exception):
    """The platform says this chat will never take a message from the bot."""


class Sender(Protocol):
    async def __call__(self, chat: str, out: Outbound) -> None:
        """Deliver `out` to `chat`; raise Blocked for a chat that is gone for good, any
        other exception for a failure worth retrying."""


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4 … minutes after the n-th failure, at most six hours."""
    return min(dt.timedelta(minutes=2 ** max(attempts - 1, 0)), dt.timedelta(hours=6))


@dataclass
class PassReport:
    sent: list[StoredReminder] = field(default_factory=list)
    retried: list[StoredReminder] = field(default_factory=list)
    dropped: list[StoredReminder] = field(default_factory=list)
    rescheduled: list[StoredReminder] = field(default_factory=list)  # a nudge not due yet


@dataclass
class Reminders:
    store: ReminderStore
    templates: Mapping[str, Template]
    messages: Messages
    hours: SchoolHours = field(default_factory=SchoolHours)
    nudges: Nudges = field(default_factory=Nudges)
    interval: float = 60.0  # seconds between the long-running bots' passes
    _input_paths: dict[str, frozenset[str]] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ keeping in step

    def _paths(self, template: Template) -> frozenset[str]:
        found = self._input_paths.get(template.id)
        if found is None:
            found = self._input_paths[template.id] = input_paths(template)
        return found

    def derive_for(self, plan: PlanRecord, now: dt.datetime) -> list[DueReminder]:
        template = self.templates.get(plan.template_id)
        if template is None:
            return []
        return derive(template, plan, now, self.hours, self.nudges)

    async def after_commit(
        self,
        user: UserRef,
        before: Mapping[str, PlanRecord],
        changes: Changes,
        now: dt.datetime,
    ) -> None:
        """The Conversation's hook: the rows of every plan whose reminders the turn changed,
        or deleted. Most turns change none (an answer to another question; a nudge's time
        moves with every answer, but that is checked when it falls due), and cost no SQL."""
        if changes.delete_user:
            return  # a deleted user's reminders went with it (ON DELETE CASCADE)
        derived: dict[str, list[DueReminder]] = {}
        for pid, plan in changes.plans.items():
            template = self.templates.get(plan.template_id)
            old = before.get(pid)
            if old is None:  # a new plan: no rows yet, so only a non-empty list is news
                if found := self.derive_for(plan, now):
                    derived[pid] = found
            elif (
                template is None
                or inputs(plan, self._paths(template)) != inputs(old, self._paths(template))
                # back after a silence long enough for a nudge: re-arm the nudges
                or now - old.updated_at >= self.nudges.after
            ):
                derived[pid] = self.derive_for(plan, now)
        if derived or changes.deleted_plans:
            await self.store.sync(user, derived, now, deleted=changes.deleted_plans)

    async def resync_all(self, sessions: SessionStore, now: dt.datetime) -> int:
        """Derive and sync every plan of every teacher (plans written before this version,
        or changed while a hook failed); the number of plans."""
        count = 0
        for user in await self.store.users():
            snapshot = await sessions.load(user, key="")
            derived = {pid: self.derive_for(plan, now) for pid, plan in snapshot.plans.items()}
            await self.store.sync(user, derived, now)
            count += len(derived)
        return count

    async def catch_up(self, sessions: SessionStore, now: dt.datetime) -> int:
        """Derive the unfinished plans that have no rows yet (`ReminderStore.without_rows`);
        how many got reminders."""
        wanted: dict[UserRef, set[str]] = {}
        for user, pid in await self.store.without_rows():
            wanted.setdefault(user, set()).add(pid)
        count = 0
        for user, pids in wanted.items():
            snapshot = await sessions.load(user, key="")
            derived = {
                pid: found
                for pid in pids
                if pid in snapshot.plans and (found := self.derive_for(snapshot.plans[pid], now))
            }
            if derived:
                await self.store.sync(user, derived, now)
                count += len(derived)
        return count

    # ------------------------------------------------------------------ sending

    def outbound(self, reminder: StoredReminder) -> Outbound:
        template = self.templates.get(reminder.template_id)
        title = reminder.title or (template.name if template else "")
        return reminder_outbound(
            self.messages,
            kind=ReminderKind(reminder.kind),
            title=title or self.messages("reminder.untitled"),
            plan_id=reminder.plan_id,
            reminder_id=reminder.id,
            about=reminder.about,
            when=reminder.when_text,
        )

    def _still_due(self, reminder: StoredReminder, now: dt.datetime) -> dt.datetime | None:
        """None if `reminder` should go out now, else when it really is due. A nudge's row
        keeps the time of the sync that made it; the plan's last activity decides."""
        if reminder.kind != ReminderKind.NUDGE.value:
            return None
        n = int(reminder.ref.rpartition("-")[2] or 1)
        due = self.hours.next_allowed(reminder.plan_updated_at + n * self.nudges.after)
        return due if due > now else None

    async def _claim(
        self, now: dt.datetime, report: PassReport, **where: Any
    ) -> tuple[list[StoredReminder], int]:
        """Claim what is due, and put back what turns out not to be (see _still_due): the
        reminders to send, and how many rows were claimed."""
        ready = []
        claimed = await self.store.claim_due(now, **where)
        for reminder in claimed:
            if (
                reminder.kind == ReminderKind.NUDGE.value
                and reminder.plan_status != PlanStatus.IN_PROGRESS.value
            ):
                await self.store.drop(reminder.id, "the plan is no longer in progress", now)
                continue
            later = self._still_due(reminder, now)
            if later is not None:
                await self.store.reschedule(reminder.id, later, now)
                report.rescheduled.append(reminder)
                continue
            ready.append(reminder)
        return await self._one_nudge_at_a_time(ready, now, report), len(claimed)

    async def _one_nudge_at_a_time(
        self, ready: list[StoredReminder], now: dt.datetime, report: PassReport
    ) -> list[StoredReminder]:
        """After a long pause (the bot down, cron not run) several reminders of one plan may
        be due at once. Dates go out, each is its own question; a nudge only when nothing
        else of the plan does, and the second nudge a full `after` later."""
        nudge = ReminderKind.NUDGE.value
        out: list[StoredReminder] = []
        nudged: set[str] = {r.plan_id for r in ready if r.kind != nudge}
        for reminder in sorted(ready, key=lambda r: (r.kind == nudge, r.ref)):
            if reminder.kind == nudge:
                if reminder.plan_id in nudged:
                    later = self.hours.next_allowed(now + self.nudges.after)
                    await self.store.reschedule(reminder.id, later, now)
                    report.rescheduled.append(reminder)
                    continue
                nudged.add(reminder.plan_id)
            out.append(reminder)
        return sorted(out, key=lambda r: r.next_try_at)

    async def run_pass(
        self, now: dt.datetime, senders: Mapping[str, Sender], *, limit: int = 100
    ) -> PassReport:
        """Send every reminder due at `now` on the channels in `senders`, each once."""
        report = PassReport()
        for channel, send in senders.items():
            while True:
                ready, claimed = await self._claim(now, report, limit=limit, channel=channel)
                for reminder in ready:
                    await self._deliver(reminder, send, now, report)
                if claimed < limit:
                    break
        return report

    async def _deliver(
        self, reminder: StoredReminder, send: Sender, now: dt.datetime, report: PassReport
    ) -> None:
        try:
            await send(reminder.chat, self.outbound(reminder))
        except Blocked as exc:
            log.warning(
                "reminder %s dropped: %s chat %s blocked the bot (%s)",
                reminder.id,
                reminder.channel,
                reminder.chat,
                exc,
            )
            await self.store.drop(reminder.id, f"blocked: {exc}", now)
            report.dropped.append(reminder)
        except Exception as exc:
            if reminder.attempts >= MAX_ATTEMPTS:
                log.error(
                    "reminder %s dropped after %d attempts: %s", reminder.id, MAX_ATTEMPTS, exc
                )
                await self.store.drop(reminder.id, f"gave up: {exc}", now)
                report.dropped.append(reminder)
                return
            at = self.hours.next_allowed(now + backoff(reminder.attempts))
            log.warning("reminder %s not sent (%s); next try %s", reminder.id, exc, at)
            await self.store.retry_later(reminder.id, at, repr(exc), now)
            report.retried.append(reminder)
        else:
            await self.store.mark_sent(reminder.id, now)
            report.sent.append(reminder)

    async def show_in_terminal(
        self, user: UserRef, now: dt.datetime, out: TextIO
    ) -> list[StoredReminder]:
        """`planbot chat`: the teacher's due reminders, printed once before the dialog."""
        claimed, _ = await self._claim(
            now, PassReport(), channel=user.channel, chat=user.external_id
        )
        if not claimed:
            return []
        lines = [self.messages("reminder.terminal.heading")]
        lines += [f"• {self.outbound(r).text}" for r in claimed]
        lines.append(self.messages("reminder.terminal.how"))
        print("\n".join(lines) + "\n", file=out, flush=True)
        for reminder in claimed:
            await self.store.mark_sent(reminder.id, now)
        return claimed


async def run_every(
    reminders: Reminders,
    senders: Mapping[str, Sender],
    interval: float,
    clock: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> None:
    """A pass every `interval` seconds until cancelled; a failing pass is logged, not fatal."""
    while True:
        try:
            await reminders.run_pass(clock(), senders)
        except Exception as exc:
            log_failure(log, "reminder pass", exc)
        await asyncio.sleep(interval)


def start_background(
    reminders: Reminders | None, senders: Mapping[str, Sender]
) -> asyncio.Task[None] | None:
    """The long-running bots' minute loop, as a task to cancel at shutdown."""
    if reminders is None:
        return None
    loop = run_every(reminders, senders, reminders.interval)
    return asyncio.create_task(loop, name="planbot-reminders")


async def stop_background(task: asyncio.Task[None] | None) -> None:
    if task is None:
        return
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


# --------------------------------------------------------------------------- senders


def telegram_sender(bot: object, messages: Messages) -> Sender:
    """Sends through a python-telegram-bot `Bot` (already initialised)."""
    from functools import partial

    from telegram import Bot
    from telegram.constants import ParseMode
    from telegram.error import BadRequest, Forbidden

    from bot.telegram import NO_PREVIEW, patiently, render

    assert isinstance(bot, Bot)

    async def send(chat: str, out: Outbound) -> None:
        try:
            for part in render(out, messages):
                await patiently(
                    partial(
                        bot.send_message,
                        int(chat),
                        part.html,
                        parse_mode=ParseMode.HTML,
                        reply_markup=part.keyboard,
                        link_preview_options=NO_PREVIEW,
                    )
                )
        except Forbidden as exc:  # "bot was blocked by the user", "user is deactivated"
            raise Blocked(exc.message) from exc
        except BadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise Blocked(exc.message) from exc
            raise

    return send


# Slack's answers that mean the DM will never work (the rest are worth another try).
SLACK_GONE = frozenset(
    {
        "account_inactive",
        "cannot_dm_bot",
        "channel_not_found",
        "is_archived",
        "user_disabled",
        "user_not_found",
        "user_not_visible",
        "messages_tab_disabled",
    }
)


def slack_sender(client: object) -> Sender:
    """Sends a DM through a slack_sdk `AsyncWebClient`."""
    from slack_sdk.errors import SlackApiError
    from slack_sdk.web.async_client import AsyncWebClient

    from bot.slack import fallback_text, render_outbound

    assert isinstance(client, AsyncWebClient)

    async def send(chat: str, out: Outbound) -> None:
        try:
            opened = await client.conversations_open(users=chat)
            channel = str(opened["channel"]["id"])
            for blocks in render_outbound(out):
                await client.chat_postMessage(
                    channel=channel, text=fallback_text(out), blocks=blocks
                )
        except SlackApiError as exc:
            error = str(exc.response.get("error", ""))
            if error in SLACK_GONE:
                raise Blocked(error) from exc
            raise

    return send
