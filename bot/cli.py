"""The `planbot` command: one entry point, a subcommand per channel.

Every command starts with the checks of `bot.check` (settings, templates and texts, the
database, a channel's tokens): a bad configuration is one line on stderr and exit code 2.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn
from urllib.parse import urlsplit

from bot import texts
from bot.check import ConfigError, Report, fallback_messages, load_settings, one_line, run_checks
from bot.logging_setup import configure_logging
from bot.settings import Settings
from dialogs.messages import Messages
from dialogs.types import UserRef

log = logging.getLogger(__name__)


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as dist_version

    try:
        return dist_version("planbot")
    except PackageNotFoundError:
        return "0+checkout"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        """A wrong argument is one line too (argparse would add the whole usage)."""
        self.exit(2, f"{self.prog}: {message}\n")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(fallback_messages()("cli.bad_date", value=text)) from None


def _positive(text: str) -> int:
    if not text.isdecimal() or int(text) < 1:
        raise argparse.ArgumentTypeError(fallback_messages()("cli.bad_positive", value=text))
    return int(text)


def _port(text: str) -> int:
    if not text.isdecimal() or not 1 <= int(text) <= 65535:
        raise argparse.ArgumentTypeError(fallback_messages()("cli.bad_port", value=text))
    return int(text)


def _parser(msg: Messages) -> argparse.ArgumentParser:
    parser = _Parser(prog="planbot", description=msg("cli.description"))
    parser.add_argument(
        "--version", action="version", version=msg("cli.version", version=version())
    )
    sub = parser.add_subparsers(dest="command", metavar=msg("cli.metavar"))

    chat = sub.add_parser("chat", help=msg("cli.chat"))
    chat.add_argument("--db", type=Path, help=msg("cli.chat.db"))
    chat.add_argument("--user", help=msg("cli.chat.user"))
    chat.add_argument("--out", type=Path, help=msg("cli.chat.out"))

    telegram = sub.add_parser("telegram", help=msg("cli.telegram"))
    telegram.add_argument("--webhook-url", help=msg("cli.telegram.webhook_url"))
    telegram.add_argument("--port", type=_port, default=8443, help=msg("cli.telegram.port"))
    telegram.add_argument("--listen", default="0.0.0.0", help=msg("cli.telegram.listen"))

    slack = sub.add_parser("slack", help=msg("cli.slack"))
    slack.add_argument("--http", action="store_true", help=msg("cli.slack.http"))
    slack.add_argument("--port", type=_port, default=3000)
    slack.add_argument("--listen", default="0.0.0.0")

    remind = sub.add_parser("remind", help=msg("cli.remind"))
    remind.add_argument("--now", help=msg("cli.remind.now"))
    remind.add_argument("--dry-run", action="store_true", help=msg("cli.remind.dry_run"))
    remind.add_argument("--resync", action="store_true", help=msg("cli.remind.resync"))

    sub.add_parser("migrate", help=msg("cli.migrate"))
    sub.add_parser("templates", help=msg("cli.templates"))

    check = sub.add_parser("check", help=msg("cli.check"))
    check.add_argument("channel", nargs="?", choices=["telegram", "slack"])
    check.add_argument("--http", action="store_true", help=msg("cli.slack.http"))

    invite = sub.add_parser("invite", help=msg("cli.invite"))
    invite.add_argument("--org", required=True, help=msg("cli.invite.org"))
    invite.add_argument("--uses", type=_positive, help=msg("cli.invite.uses"))
    invite.add_argument("--expires", type=_date, help=msg("cli.invite.expires"))

    admin = sub.add_parser("admin", help=msg("cli.admin"))
    admin_sub = admin.add_subparsers(
        dest="admin_command", required=True, metavar=msg("cli.admin.metavar")
    )
    for name in ("export-user", "delete-user"):
        one = admin_sub.add_parser(name, help=msg(f"cli.admin.{name}"))
        one.add_argument("--channel", required=True, choices=["telegram", "slack", "console"])
        one.add_argument("--user", required=True, help=msg("cli.admin.user"))
        if name == "export-user":
            one.add_argument("--out", type=Path, help=msg("cli.admin.out"))
        else:
            one.add_argument("--yes", action="store_true", help=msg("cli.admin.yes"))
    admin_sub.add_parser("retention", help=msg("cli.admin.retention"))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except ConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        # Whatever the checks did not foresee (a port in use, a database gone between the
        # check and the start): one line, the traceback only with PLANBOT_LOG_LEVEL=DEBUG.
        log.debug("planbot stopped", exc_info=True)
        try:
            line = fallback_messages()("cli.unexpected", reason=one_line(exc))
        except Exception:  # the installed texts themselves are broken
            line = f"planbot: {one_line(exc)}"
        print(line, file=sys.stderr)
        return 2


def _main(argv: Sequence[str] | None) -> int:
    settings = load_settings()
    try:
        messages = texts.messages(settings)
        parser = _parser(messages)
    except Exception:
        # The texts themselves are broken: parse with the packaged ones, let `check` say why.
        messages = fallback_messages()
        parser = _parser(messages)
    args = parser.parse_args(argv)
    command = args.command or "chat"
    # Quiet while checking (libraries' INFO lines are not problems); the bots log turns.
    configure_logging(settings, default_level="WARNING")
    if command == "chat" and getattr(args, "db", None):
        settings.database_url = f"sqlite+aiosqlite:///{args.db.expanduser().resolve()}"

    if command == "check":
        report = asyncio.run(
            run_checks(
                settings, channel=args.channel, http=args.http, export_dir=settings.export_dir
            )
        )
        for note in report.notes:
            print(note)
        for problem in report.problems:
            print(problem, file=sys.stderr)
        return 2 if report.problems else 0

    channel = command if command in ("telegram", "slack") else None
    webhook_url = getattr(args, "webhook_url", None)
    if webhook_url is not None:
        parts = urlsplit(webhook_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigError(messages("check.webhook_url", url=webhook_url))
    report = _preflight(
        settings,
        database=command != "templates",
        channel=channel,
        http=bool(getattr(args, "http", False)),
        export_dir=(getattr(args, "out", None) or settings.export_dir)
        if command == "chat"
        else None,
    )
    messages = texts.messages(settings)
    if channel is not None:
        configure_logging(settings, default_level="INFO")

    if command == "templates":
        for template in texts.templates(settings).values():
            print(f"{template.id}: {template.name} – {template.description}")
        return 0
    if command == "invite":
        from bot.admin import invite

        return asyncio.run(invite(settings, messages, args))
    if command == "admin":
        from bot.admin import admin

        return asyncio.run(admin(settings, messages, args))
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

        del report
        return slack.run(settings, http=args.http, port=args.port, listen=args.listen)
    return _chat(settings, messages, args)


def _preflight(
    settings: Settings,
    *,
    database: bool,
    channel: str | None,
    http: bool = False,
    export_dir: Path | None = None,
) -> Report:
    """The checks before a command: the first problem is a ConfigError (one line, exit 2)."""
    report = asyncio.run(
        run_checks(settings, database=database, channel=channel, http=http, export_dir=export_dir)
    )
    if report.problems:
        raise ConfigError(report.problems[0])
    return report


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
