"""`planbot check`, and the same checks before every command: settings, templates and texts,
the database, and a channel's tokens. Each problem is one line for the operator (Swedish, from
prompts/messages/admin.sv.yaml); a command with a problem stops with exit code 2 before it
starts anything, so a bad configuration never ends in a traceback.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import difflib
import importlib.util
import os
import re
import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import platformdirs
from pydantic import AliasChoices, ValidationError

from bot import texts
from bot.settings import Settings
from dialogs.messages import Messages
from dialogs.template import PROMPTS_DIR, TemplateError

# Below this much free space the database cannot take a day's answers: call the disk full.
MIN_FREE_BYTES = 4 * 1024 * 1024
CONNECT_TIMEOUT = 10.0
# PLANBOT_* names that are not settings but are read elsewhere (tests, benchmarks).
OTHER_NAMES_PREFIXES = ("PLANBOT_TEST_",)


class ConfigError(Exception):
    """A configuration problem: str(exc) is the one line to show."""


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    # Learned on the way: the Telegram bot's username, the Slack team id.
    telegram_username: str = ""
    slack_team_id: str = ""


def one_line(exc: BaseException) -> str:
    """An exception as one short line: its first non-empty line without SQLAlchemy's
    "(module.Error)" prefix, or its type."""
    for line in str(exc).splitlines():
        if line.strip():
            return re.sub(r"^\([\w.]+\)\s*", "", line.strip())[:300]
    return type(exc).__name__


def fallback_messages() -> Messages:
    """The packaged texts, for when the configured folder is itself the problem."""
    return Messages.load("sv", PROMPTS_DIR / "messages")


# --------------------------------------------------------------------------- settings


def known_names() -> list[str]:
    names: list[str] = []
    for name, info in Settings.model_fields.items():
        alias = info.validation_alias
        if isinstance(alias, AliasChoices):
            names.extend(str(choice) for choice in alias.choices)
        else:
            names.append("PLANBOT_" + name.upper())
    from bot.reminders import ReminderSettings

    names.extend("PLANBOT_REMIND_" + name.upper() for name in ReminderSettings.model_fields)
    return names


def check_names(names: list[str], msg: Messages) -> list[str]:
    """Unknown PLANBOT_* names (a typo silently falls back to a default), each named with the
    closest known one."""
    known = known_names()
    problems: list[str] = []
    for name in sorted(set(names)):
        upper = name.upper()
        if not upper.startswith("PLANBOT_") or upper.startswith(OTHER_NAMES_PREFIXES):
            continue
        if upper in known:
            continue
        near = difflib.get_close_matches(upper, known, n=1, cutoff=0.6)
        problems.append(msg("check.unknown_setting", name=name, near=near[0] if near else ""))
    return problems


def env_file_names(path: Path = Path(".env")) -> list[str]:
    if not path.is_file():
        return []
    from dotenv import dotenv_values

    return [str(key) for key in dotenv_values(path)]


def load_settings(environ: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Settings from the environment and .env; a bad value or an unknown PLANBOT_* name is a
    ConfigError with one line."""
    msg = fallback_messages()
    environ = os.environ if environ is None else environ
    problems = check_names([*environ, *env_file_names()], msg)
    if problems:
        raise ConfigError(problems[0])
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        first = exc.errors()[0]
        name = "PLANBOT_" + ".".join(str(p) for p in first["loc"]).upper()
        raise ConfigError(msg("check.bad_setting", name=name, reason=first["msg"])) from None


# --------------------------------------------------------------------------- prompts


def check_prompts(settings: Settings, report: Report) -> Messages | None:
    """Templates load, every text renders, every template exports to .docx. The texts when
    they load (else None)."""
    fallback = fallback_messages()
    folder = texts.directory(settings)
    if not folder.is_dir() or not (folder / "messages").is_dir():
        report.problems.append(fallback("check.prompts_missing", path=str(folder)))
        return None
    try:
        msg = texts.messages(settings)
    except TemplateError as exc:
        report.problems.append(fallback("cli.bad_template", reason=one_line(exc)))
        return None
    missing = [key for key in fallback.names() if key not in msg]
    if missing:
        where = folder / "messages" / f"*.{settings.language}.yaml"
        reason = f"{len(missing)} texter saknas i {where}, t.ex. {missing[0]}"
        report.problems.append(fallback("cli.bad_template", reason=reason))
        return None
    for problem in msg.problems():
        name, _, reason = problem.partition(": ")
        report.problems.append(
            fallback("check.bad_message", name=name, path=str(folder / "messages"), reason=reason)
        )
    try:
        templates = texts.templates(settings)
    except TemplateError as exc:
        report.problems.append(fallback("cli.bad_template", reason=one_line(exc)))
        return msg
    if report.problems:
        return msg
    from dialogs.types import PlanRecord
    from exports.docx import render_docx

    now = dt.datetime.now(dt.UTC)
    for template in templates.values():
        plan = PlanRecord(id="check", template_id=template.id, created_at=now, updated_at=now)
        try:
            render_docx(template, plan, draft=True, now=now, messages=msg)
        except Exception as exc:
            report.problems.append(
                msg("check.bad_export", template=template.id, reason=one_line(exc))
            )
    report.notes.append(
        msg("check.ok.prompts", templates=len(templates), texts=len(msg.names()), path=folder)
    )
    return msg


# --------------------------------------------------------------------------- database


def shown_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return url


def _sqlite_file_problem(path: Path, msg: Messages) -> str | None:
    folder = path.parent
    if folder.exists() and not folder.is_dir():
        return msg("check.db_not_a_folder", path=str(folder))
    if not folder.is_dir():
        return msg("check.db_missing_folder", path=str(folder))
    if path.is_dir():
        return msg("check.db_not_writable", path=str(path))
    target = path if path.exists() else folder
    if not os.access(target, os.W_OK):
        return msg("check.db_not_writable", path=str(target))
    free = shutil.disk_usage(folder).free
    if free < MIN_FREE_BYTES:
        return msg("check.db_disk_full", path=str(folder), free=f"{free // 1024} kB")
    return None


async def check_database(url: str, msg: Messages, report: Report) -> None:
    """Reachable, at a schema revision this version knows, and writable (a table created and
    a row written in a transaction that is rolled back)."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    from storage.db import normalize_url

    shown = shown_url(url)

    def fail(reason: str) -> None:
        report.problems.append(msg("cli.db_error", url=shown, reason=reason))

    try:
        normalized = normalize_url(url)
        parsed = make_url(normalized)
    except Exception as exc:
        fail(one_line(exc))
        return
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database or ""
        if not database or database == ":memory:":
            fail(msg("check.db_in_memory"))
            return
        if not database.startswith("file:"):
            problem = _sqlite_file_problem(Path(database).expanduser().resolve(), msg)
            if problem is not None:
                fail(problem)
                return
    else:
        if importlib.util.find_spec("asyncpg") is None:
            report.problems.append(msg("check.db_driver_missing"))
            return
        connect_args["timeout"] = CONNECT_TIMEOUT
    try:
        engine = create_async_engine(normalized, connect_args=connect_args)
    except Exception as exc:
        fail(one_line(exc))
        return
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT + 5), engine.connect() as connection:
            state = await connection.run_sync(_inspect_and_write, msg)
    except TimeoutError:
        fail(msg("check.no_answer", seconds=round(CONNECT_TIMEOUT)))
        return
    except _SchemaProblem as exc:
        fail(str(exc))
        return
    except Exception as exc:
        fail(one_line(exc))
        return
    finally:
        await engine.dispose()
    report.notes.append(msg("check.ok.database", url=shown, state=state))


class _SchemaProblem(Exception):
    pass


def _inspect_and_write(connection: Any, msg: Messages) -> str:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError
    from sqlalchemy import inspect

    from storage.db import alembic_config

    tables = inspect(connection).get_table_names()
    revision = MigrationContext.configure(connection).get_current_revision()
    script = ScriptDirectory.from_config(alembic_config())
    head = script.get_current_head() or ""
    if revision is None and [t for t in tables if t != "alembic_version"]:
        raise _SchemaProblem(msg("check.db_no_version"))
    if revision is not None:
        try:
            script.get_revision(revision)
        except CommandError:
            raise _SchemaProblem(msg("check.db_unknown_revision", revision=revision)) from None
    # Writable: a table and a row, rolled back (SQLite: take the write lock explicitly, as the
    # sqlite3 module would run the DDL outside any transaction).
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    connection.exec_driver_sql("CREATE TABLE planbot_check_write (x INTEGER)")
    connection.exec_driver_sql("INSERT INTO planbot_check_write VALUES (1)")
    connection.rollback()
    if revision is None:
        return msg("check.db_state.empty")
    if revision == head:
        return msg("check.db_state.current", revision=revision)
    return msg("check.db_state.behind", revision=revision, head=head)


# --------------------------------------------------------------------------- channels


async def check_channel(
    settings: Settings, channel: str, msg: Messages, report: Report, *, http: bool = False
) -> None:
    if channel == "telegram":
        await _check_telegram(settings, msg, report)
    elif channel == "slack":
        await _check_slack(settings, msg, report, http=http)


async def _check_telegram(settings: Settings, msg: Messages, report: Report) -> None:
    try:
        from telegram import Bot
        from telegram.error import InvalidToken, NetworkError, TelegramError
    except ImportError:
        report.problems.append(msg("check.extra_missing", channel="telegram"))
        return
    token = settings.telegram_token.strip()
    if not token:
        report.problems.append(msg("telegram.token_missing"))
        return
    bot = Bot(token, base_url=settings.telegram_api_url, base_file_url=settings.telegram_file_url)
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT + 5), bot:
            report.telegram_username = bot.username
    except InvalidToken:
        report.problems.append(msg("telegram.token_rejected"))
        return
    except (NetworkError, TimeoutError) as exc:
        report.problems.append(
            msg("telegram.unreachable", url=settings.telegram_api_url, reason=one_line(exc))
        )
        return
    except TelegramError as exc:
        report.problems.append(msg("telegram.setup_failed", reason=one_line(exc)))
        return
    except Exception as exc:  # e.g. a malformed API URL
        report.problems.append(
            msg("telegram.unreachable", url=settings.telegram_api_url, reason=one_line(exc))
        )
        return
    report.notes.append(msg("check.ok.channel", channel="Telegram", name="@" + bot.username))


async def _check_slack(settings: Settings, msg: Messages, report: Report, *, http: bool) -> None:
    try:
        from slack_sdk.errors import SlackApiError
        from slack_sdk.web.async_client import AsyncWebClient

        from bot.slack import missing_setting
    except ImportError:
        report.problems.append(msg("check.extra_missing", channel="slack"))
        return
    missing = missing_setting(settings, http=http)
    if missing is not None:
        report.problems.append(msg(missing))
        return
    if not http and not settings.slack_app_token.startswith("xapp-"):
        report.problems.append(msg("check.slack_app_token_format"))
        return
    base_url = settings.slack_api_url
    client = AsyncWebClient(
        token=settings.slack_bot_token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        timeout=int(CONNECT_TIMEOUT),
        retry_handlers=[],
    )
    try:
        async with asyncio.timeout(CONNECT_TIMEOUT + 5):
            response = await client.auth_test()
    except SlackApiError as exc:
        reason = str(exc.response.get("error", "")) or one_line(exc)
        report.problems.append(msg("check.slack_token_rejected", reason=reason))
        return
    except Exception as exc:
        report.problems.append(msg("check.slack_unreachable", url=base_url, reason=one_line(exc)))
        return
    report.slack_team_id = str(response.get("team_id", ""))
    name = str(response.get("team", "")) or report.slack_team_id
    report.notes.append(msg("check.ok.channel", channel="Slack", name=name))


# --------------------------------------------------------------------------- all of it


async def run_checks(
    settings: Settings,
    *,
    database: bool = True,
    channel: str | None = None,
    http: bool = False,
    export_dir: Path | None = None,
) -> Report:
    """The checks a command needs; settings themselves were checked by `load_settings`."""
    from storage.db import default_database_url

    report = Report()
    msg = check_prompts(settings, report)
    if msg is None:
        return report
    if export_dir is not None:
        folder = export_dir.expanduser()
        existing = next((p for p in [folder, *folder.parents] if p.exists()), folder)
        if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
            report.problems.append(msg("check.export_dir", path=str(folder)))
    if database:
        url = settings.database_url
        if not url:
            try:
                url = default_database_url()
            except OSError as exc:
                shown = platformdirs.user_data_dir("planbot")
                report.problems.append(msg("cli.db_error", url=shown, reason=one_line(exc)))
                url = ""
        if url:
            await check_database(url, msg, report)
    if channel is not None:
        await check_channel(settings, channel, msg, report, http=http)
    return report
