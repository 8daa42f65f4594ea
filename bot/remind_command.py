"""`planbot remind [--now ISO-8601] [--dry-run]`: one pass over the due reminders, then exit.

For a cron job, or to catch up after the bots were down. It sends on every channel whose
token is set (Telegram, Slack); the terminal's reminders wait for `planbot chat`. Running it
twice sends nothing the second time: a sent reminder is marked so in the same database the
bots use, and a reminder claimed by another process is not taken. It needs nothing but a
channel's token (PLANBOT_TELEGRAM_TOKEN, with PLANBOT_TELEGRAM_API_URL for another API
server; SLACK_BOT_TOKEN) and PLANBOT_DATABASE_URL, and tells the operator one line per
reminder sent, retried or dropped, or "Inget att skicka.".
"""

from __future__ import annotations

import contextlib
import datetime as dt
import sys
from typing import TextIO

from bot.app import start_runtime
from bot.reminders import Sender, slack_sender, telegram_sender
from bot.settings import Settings
from dialogs.messages import Messages

# A bare date ("--now 2027-03-22") means that school day, not its midnight: noon local time,
# after the morning's reminders came due.
DATE_ONLY_AT = dt.time(12, 0)


def parse_now(text: str, timezone: dt.tzinfo) -> dt.datetime | None:
    """An ISO 8601 moment; without an offset it is local time in the reminders' zone. A date
    alone is noon of that day."""
    text = text.strip()
    try:
        if len(text) == 10:
            moment = dt.datetime.combine(dt.date.fromisoformat(text), DATE_ONLY_AT)
        else:
            moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone)
    return moment.astimezone(dt.UTC)


async def remind(
    settings: Settings,
    messages: Messages,
    *,
    now: str | None = None,
    dry_run: bool = False,
    resync: bool = False,
    out: TextIO = sys.stdout,
) -> int:
    runtime = await start_runtime(settings)
    try:
        reminders = runtime.reminders
        assert reminders is not None
        moment = dt.datetime.now(dt.UTC)
        if now is not None:
            parsed = parse_now(now, reminders.hours.zone)
            if parsed is None:
                print(messages("reminder.cli.bad_now", value=now), file=sys.stderr)
                return 2
            moment = parsed
        if resync:
            plans = await reminders.resync_all(runtime.database.store, moment)
            print(messages("reminder.cli.resynced", plans=plans), file=out)
        else:
            await reminders.catch_up(runtime.database.store, moment)
        channels = [
            name
            for name, token in (
                ("telegram", settings.telegram_token),
                ("slack", settings.slack_bot_token),
            )
            if token.strip()
        ]
        if dry_run:
            due = [r for r in await reminders.store.due(moment) if r.channel in channels]
            print(messages("reminder.cli.dry_run", count=len(due)), file=out)
            for r in due:
                line = messages(
                    "reminder.cli.line",
                    due=r.next_try_at.astimezone(reminders.hours.zone).isoformat(
                        timespec="minutes"
                    ),
                    channel=r.channel,
                    chat=r.chat,
                    kind=r.kind,
                    title=reminders.outbound(r).text,
                )
                print(line, file=out)
            return 0
        if not channels:
            print(messages("reminder.cli.no_channel"), file=sys.stderr)
            return 2
        async with contextlib.AsyncExitStack() as stack:
            senders: dict[str, Sender] = {}
            if "telegram" in channels:
                from telegram import Bot

                bot = Bot(
                    settings.telegram_token,
                    base_url=settings.telegram_api_url,
                    base_file_url=settings.telegram_file_url,
                )
                await stack.enter_async_context(bot)
                senders["telegram"] = telegram_sender(bot, messages)
            if "slack" in channels:
                from slack_sdk.web.async_client import AsyncWebClient

                client = AsyncWebClient(
                    token=settings.slack_bot_token, base_url=settings.slack_api_url
                )
                senders["slack"] = slack_sender(client)
            report = await reminders.run_pass(moment, senders)
        zone = reminders.hours.zone
        for key, rows in (
            ("reminder.cli.sent_one", report.sent),
            ("reminder.cli.retried_one", report.retried),
            ("reminder.cli.dropped_one", report.dropped),
        ):
            for r in rows:
                print(
                    messages(
                        key,
                        channel=r.channel,
                        chat=r.chat,
                        kind=messages(f"reminders.kind.{r.kind}"),
                        title=r.title or messages("reminder.untitled"),
                        due=r.due_at.astimezone(zone).isoformat(sep=" ", timespec="minutes"),
                    ),
                    file=out,
                )
        if not (report.sent or report.retried or report.dropped):
            print(messages("reminder.cli.nothing"), file=out)
            return 0
        print(
            messages(
                "reminder.cli.sent",
                sent=len(report.sent),
                failed=len(report.retried),
                dropped=len(report.dropped),
            ),
            file=out,
        )
        return 0
    finally:
        await runtime.close()
