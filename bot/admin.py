"""`planbot invite` and `planbot admin …`: the IT admin's side of access and data rights.
Each runs after the CLI's checks, on a migrated database."""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import texts
from bot.check import Report, check_channel
from bot.datarights import Due, delete_user, export_zip, retention_pass
from bot.settings import Settings
from dialogs.messages import Messages
from dialogs.types import UserRef
from storage.access import AccessStore
from storage.db import Database, default_database_url, open_database

STOCKHOLM = ZoneInfo("Europe/Stockholm")


async def _open(settings: Settings) -> Database:
    return await open_database(settings.database_url or default_database_url())


async def invite(settings: Settings, msg: Messages, args: argparse.Namespace) -> int:
    expires_at = None
    if args.expires is not None:
        # Valid through the whole day given, in Swedish time.
        end = dt.datetime.combine(args.expires + dt.timedelta(days=1), dt.time(), STOCKHOLM)
        expires_at = end.astimezone(dt.UTC)
    database = await _open(settings)
    try:
        made = await AccessStore(database.engine).invite(
            args.org, uses=args.uses, expires_at=expires_at
        )
    finally:
        await database.close()
    bot = ""
    if settings.telegram_token.strip():
        report = Report()
        await check_channel(settings, "telegram", msg, report)
        bot = report.telegram_username
    print(
        msg(
            "invite.code",
            code=made.code,
            org=made.org,
            uses=made.uses or "",
            expires=args.expires.isoformat() if args.expires else "",
        )
    )
    print(msg("invite.link", bot=bot or "<botnamn>", code=made.code))
    if not bot:
        print(msg("invite.placeholder"))
    if settings.access == "open":
        print(msg("invite.open"))
    return 0


async def admin(settings: Settings, msg: Messages, args: argparse.Namespace) -> int:
    if args.admin_command == "retention":
        return await _retention(settings, msg)
    user = UserRef(channel=args.channel, external_id=args.user)
    if args.admin_command == "delete-user" and not args.yes:
        print(msg("admin.confirm", channel=user.channel, user=user.external_id), file=sys.stderr)
        return 2
    database = await _open(settings)
    try:
        if args.admin_command == "export-user":
            document = await export_zip(
                database.store,
                user,
                texts.templates(settings),
                engine=database.engine,
                messages=msg,
            )
            if document is None:
                print(msg("admin.nothing", channel=user.channel, user=user.external_id))
                return 1
            out: Path = args.out or Path(f"planbot-{user.channel}-{user.external_id}.zip")
            out.write_bytes(document.data)
            snapshot = await database.store.load(user, key="")
            print(msg("admin.exported", path=str(out), plans=len(snapshot.plans)))
            return 0
        if await delete_user(database.store, user, engine=database.engine):
            print(msg("admin.deleted", channel=user.channel, user=user.external_id))
            return 0
        print(msg("admin.nothing", channel=user.channel, user=user.external_id))
        return 1
    finally:
        await database.close()


async def _retention(settings: Settings, msg: Messages) -> int:
    if settings.retention_months <= 0:
        print(msg("admin.retention_off"))
        return 0
    database = await _open(settings)
    try:

        async def tell(due: Due, deleted_on: dt.datetime) -> bool:
            text = msg(
                "retention.notice",
                title=due.title or "utan titel",
                date=deleted_on.astimezone(STOCKHOLM).date().isoformat(),
            )
            if await tell_teacher(settings, due.user, text):
                return True
            print(msg("admin.not_told", channel=due.user.channel, plan=due.plan_id))
            return False

        told, deleted = await retention_pass(
            database.engine,
            months=settings.retention_months,
            notice_days=settings.retention_notice_days,
            tell=tell,
        )
    finally:
        await database.close()
    print(msg("admin.retention_done", told=told, deleted=deleted))
    return 0


async def tell_teacher(settings: Settings, user: UserRef, text: str) -> bool:
    """A message to the teacher outside a conversation, in their channel; False when that
    channel is not configured here (or refused it)."""
    if user.channel == "console":
        print(f"{user.external_id}: {text}")
        return True
    if user.channel == "telegram" and settings.telegram_token.strip():
        from telegram import Bot
        from telegram.error import TelegramError

        bot = Bot(
            settings.telegram_token,
            base_url=settings.telegram_api_url,
            base_file_url=settings.telegram_file_url,
        )
        try:
            async with bot:
                await bot.send_message(int(user.external_id), text)
            return True
        except (TelegramError, ValueError):
            return False
    if user.channel == "slack" and settings.slack_bot_token:
        from slack_sdk.errors import SlackApiError
        from slack_sdk.web.async_client import AsyncWebClient

        base = settings.slack_api_url
        client = AsyncWebClient(
            token=settings.slack_bot_token, base_url=base if base.endswith("/") else base + "/"
        )
        try:
            opened = await client.conversations_open(users=user.external_id)
            await client.chat_postMessage(channel=opened["channel"]["id"], text=text)
            return True
        except SlackApiError:
            return False
    return False
