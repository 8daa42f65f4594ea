"""The `planbot` command: one entry point, a subcommand per channel."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.settings import Settings
from dialogs.messages import Messages
from dialogs.template import PROMPTS_DIR, TemplateError, load_templates


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="planbot",
        description="planbot – skriv handlingsplaner, åtgärdsplaner och slutredovisningar "
        "en fråga i taget, i terminalen, Telegram eller Slack.",
    )
    sub = parser.add_subparsers(dest="command", metavar="KOMMANDO")

    chat = sub.add_parser("chat", help="samtal i terminalen (standard)")
    chat.add_argument("--db", type=Path, help="SQLite-fil att spara i (annars standardplatsen)")
    chat.add_argument("--user", help="vem som skriver (standard: inloggad användare)")
    chat.add_argument("--out", type=Path, help="mapp där dokumenten sparas (standard: .)")

    telegram = sub.add_parser("telegram", help="kör boten i Telegram")
    telegram.add_argument("--webhook-url", help="webhook i stället för long polling")
    telegram.add_argument("--port", type=int, default=8443, help="port för webhooken")
    telegram.add_argument("--listen", default="0.0.0.0", help="adress för webhooken")

    slack = sub.add_parser("slack", help="kör boten i Slack (Socket Mode, eller --http)")
    slack.add_argument("--http", action="store_true", help="Events API över HTTP")
    slack.add_argument("--port", type=int, default=3000)
    slack.add_argument("--listen", default="0.0.0.0")

    sub.add_parser("migrate", help="skapa eller uppgradera databasen")
    sub.add_parser("templates", help="kontrollera och lista planmallarna")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    settings = Settings()
    command = args.command or "chat"
    if command == "chat" and getattr(args, "db", None):
        settings.database_url = f"sqlite+aiosqlite:///{args.db.expanduser().resolve()}"
    messages = Messages.load(settings.language)
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
    if command == "telegram":
        from bot import telegram

        return telegram.run(
            settings, webhook_url=args.webhook_url, port=args.port, listen=args.listen
        )
    if command == "slack":
        from bot import slack

        return slack.run(settings, http=args.http, port=args.port, listen=args.listen)
    return asyncio.run(_chat(settings, messages, args))


async def _chat(settings: Settings, messages: Messages, args: argparse.Namespace) -> int:
    from bot.app import start_runtime
    from bot.console import Console, default_user

    runtime = await start_runtime(settings)
    try:
        console = Console(
            runtime.conversation,
            messages,
            user=getattr(args, "user", None) or default_user(),
            export_dir=getattr(args, "out", None) or settings.export_dir,
        )
        return await console.run()
    finally:
        await runtime.close()


if __name__ == "__main__":
    sys.exit(main())
