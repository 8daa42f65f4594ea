"""The `planbot` command: one entry point, a subcommand per channel."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings
from dialogs.messages import Messages
from dialogs.template import PROMPTS_DIR, TemplateError, load_templates
from dialogs.types import UserRef


def _parser(msg: Messages) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="planbot", description=msg("cli.description"))
    sub = parser.add_subparsers(dest="command", metavar=msg("cli.metavar"))

    chat = sub.add_parser("chat", help=msg("cli.chat"))
    chat.add_argument("--db", type=Path, help=msg("cli.chat.db"))
    chat.add_argument("--user", help=msg("cli.chat.user"))
    chat.add_argument("--out", type=Path, help=msg("cli.chat.out"))

    telegram = sub.add_parser("telegram", help=msg("cli.telegram"))
    telegram.add_argument("--webhook-url", help=msg("cli.telegram.webhook_url"))
    telegram.add_argument("--port", type=int, default=8443, help=msg("cli.telegram.port"))
    telegram.add_argument("--listen", default="0.0.0.0", help=msg("cli.telegram.listen"))

    slack = sub.add_parser("slack", help=msg("cli.slack"))
    slack.add_argument("--http", action="store_true", help=msg("cli.slack.http"))
    slack.add_argument("--port", type=int, default=3000)
    slack.add_argument("--listen", default="0.0.0.0")

    remind = sub.add_parser("remind", help=msg("cli.remind"))
    remind.add_argument("--now", help=msg("cli.remind.now"))
    remind.add_argument("--dry-run", action="store_true", help=msg("cli.remind.dry_run"))
    remind.add_argument("--resync", action="store_true", help=msg("cli.remind.resync"))

    sub.add_parser("migrate", help=msg("cli.migrate"))
    sub.add_parser("templates", help=msg("cli.templates"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings()
    messages = Messages.load(settings.language)
    args = _parser(messages).parse_args(argv)
    command = args.command or "chat"
    if command == "chat" and getattr(args, "db", None):
        settings.database_url = f"sqlite+aiosqlite:///{args.db.expanduser().resolve()}"
    try:
        templates = load_templates(settings.prompts_dir or PROMPTS_DIR, settings.language)
    except TemplateError as exc:
        print(messages("cli.bad_template", reason=str(exc)), file=sys.stderr)
        return 2

    if command == "templates":
        for template in templates.values():
            print(f"{template.id}: {template.name} – {template.description}")
        return 0
    if command == "migrate":
        from storage.db import default_database_url, migrate

        migrate(settings.database_url or default_database_url())
        return 0
    if command == "remind":
        from bot.remind_command import remind

        return asyncio.run(
            remind(settings, messages, now=args.now, dry_run=args.dry_run, resync=args.resync)
        )
    if command == "telegram":
        from bot import telegram

        return telegram.run(
            settings, webhook_url=args.webhook_url, port=args.port, listen=args.listen
        )
    if command == "slack":
        from bot import slack

        return slack.run(settings, http=args.http, port=args.port, listen=args.listen)
    return _chat(settings, messages, args)


def _chat(settings: Settings, messages: Messages, args: argparse.Namespace) -> int:
    from bot.app import start_runtime
    from bot.console import Console, default_user

    # One loop for the whole chat, driven turn by turn from the main thread: the console
    # reads a line between turns, so Ctrl-C interrupts the read (or a turn) cleanly.
    with asyncio.Runner() as runner:
        try:
            runtime = runner.run(start_runtime(settings))
        except KeyboardInterrupt:
            return 130
        try:
            user = getattr(args, "user", None) or default_user()
            if runtime.reminders is not None:  # what came due since the teacher was last here
                runner.run(
                    runtime.reminders.show_in_terminal(
                        UserRef(channel="console", external_id=user),
                        dt.datetime.now(dt.UTC),
                        sys.stdout,
                    )
                )
            console = Console(
                runtime.conversation,
                messages,
                user=user,
                export_dir=getattr(args, "out", None) or settings.export_dir,
            )
            return console.run(runner)
        finally:
            runner.run(runtime.close())


if __name__ == "__main__":
    sys.exit(main())
