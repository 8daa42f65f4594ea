"""Reminders through the real channels: `planbot remind` as an operator runs it (a separate
process, configured by environment variables) against the Telegram emulator and the Slack
fake — once, twice, and two at a time on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import pytest_asyncio

from bot.app import Runtime, start_runtime
from bot.settings import Settings
from dialogs.types import UserRef
from tests.channel_prompts import handlingsplan_only
from tests.e2e.slack_fake import BOT_TOKEN, SlackFake
from tests.e2e.telegram_emulator import Json, TelegramEmulator
from tests.helpers import Teacher as EngineTeacher
from tests.test_console_e2e import ANSWERS
from tests.test_storage import _empty_postgres, postgres_database  # noqa: F401

if TYPE_CHECKING:
    from tests.e2e.telegram_fixtures import Teacher

pytest_plugins = ["tests.e2e.telegram_fixtures"]

PLANBOT = Path(sys.executable).with_name("planbot")

MONDAY_22_MARCH = "2027-03-22T08:00:00+01:00"
BUTTONS = ["Fyll i uppföljningen nu", "Påminn mig om en vecka", "Stäng av påminnelser för planen"]
TITLE = ANSWERS["titel"]


def answers(when: str = "v. 12 2027") -> list[str]:
    return [when if question == "nar_uppfoljning" else text for question, text in ANSWERS.items()]


def labels(message: Json) -> list[str]:
    rows = message.get("reply_markup", {}).get("inline_keyboard", [])
    return [button["text"] for row in rows for button in row]


async def planbot_remind(database_url: str, *args: str, **env: str) -> tuple[int, str, str]:
    """`planbot remind …` in a subprocess: (exit code, stdout, stderr)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "SLACK_"))}
    environ.update(
        PLANBOT_DATABASE_URL=database_url,
        PLANBOT_PROMPTS_DIR=str(handlingsplan_only()),
        PYTHONUNBUFFERED="1",
        **env,
    )
    process = await asyncio.create_subprocess_exec(
        str(PLANBOT),
        "remind",
        *args,
        env=environ,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tempfile.gettempdir(),  # no stray .env from the repository
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def telegram_env(tg: TelegramEmulator) -> dict[str, str]:
    return {
        "PLANBOT_TELEGRAM_TOKEN": tg.token,
        "PLANBOT_TELEGRAM_API_URL": tg.base_url,
        "PLANBOT_TELEGRAM_FILE_URL": tg.base_file_url,
    }


async def test_planbot_remind_twice_delivers_one_reminder_with_three_buttons(
    telegram_api: TelegramEmulator, teacher: Teacher, database_url: str
) -> None:
    """The teacher writes the plan in Telegram; months later cron runs `planbot remind`."""
    await teacher.says("/start")
    for text in answers():
        await teacher.says(text)
    await teacher.says("ja")  # the review before the plan is planerad
    assert any("planerad" in t for t in teacher.texts()[-3:]), teacher.texts()[-3:]
    before = len(teacher.seen)

    code, out, err = await planbot_remind(
        database_url, "--now", "2027-03-22T07:59:00+01:00", **telegram_env(telegram_api)
    )
    assert (code, len(teacher.seen)) == (0, before), err  # not before eight
    code, out, err = await planbot_remind(
        database_url, "--now", MONDAY_22_MARCH, "--dry-run", **telegram_env(telegram_api)
    )
    assert code == 0 and TITLE in out and len(teacher.seen) == before, err

    for _ in range(2):
        code, out, err = await planbot_remind(
            database_url, "--now", MONDAY_22_MARCH, **telegram_env(telegram_api)
        )
        assert code == 0, err
        assert "Traceback" not in err
    (reminder,) = teacher.seen[before:]
    assert reminder["text"].startswith(f"Dags för uppföljning av ”{TITLE}”: Hur blev det?")
    assert labels(reminder) == BUTTONS
    assert telegram_api.errors() == []


async def test_a_teacher_who_blocked_the_bot_gets_nothing_and_it_is_logged(
    telegram_api: TelegramEmulator, database_url: str
) -> None:
    runtime = await _runtime(database_url)
    try:
        await _plan(runtime, UserRef(channel="telegram", external_id="4712"))
    finally:
        await runtime.close()
    telegram_api.block(4712)
    code, out, err = await planbot_remind(
        database_url, "--now", MONDAY_22_MARCH, **telegram_env(telegram_api)
    )
    assert code == 0, err
    assert "blocked" in err and "4712" in err
    assert (
        "1 stoppade" in out
        and "Stoppad (boten blockerad eller chatten borta): telegram:4712" in out
    )
    assert telegram_api.bot_messages(4712) == []
    code, out, _ = await planbot_remind(
        database_url, "--now", "2027-04-01T09:00+02:00", **telegram_env(telegram_api)
    )
    assert out.strip() == "Inget att skicka."


# --------------------------------------------------------------------------- PostgreSQL


@pytest_asyncio.fixture
async def postgres_url(request: pytest.FixtureRequest) -> str:
    return await _empty_postgres(request.getfixturevalue("postgres_database"))


async def _runtime(database_url: str) -> Runtime:
    settings = Settings(
        database_url=database_url,
        prompts_dir=handlingsplan_only(),
        _env_file=None,  # type: ignore[call-arg]
    )
    return await start_runtime(settings)


async def _plan(runtime: Runtime, user: UserRef) -> None:
    teacher = EngineTeacher(runtime.conversation, user=user)
    await teacher.start()
    for text in answers():
        await teacher.say(text)
    await teacher.say("ja")  # the review before the plan is planerad


async def test_two_workers_at_once_on_postgresql_send_each_reminder_once(
    telegram_api: TelegramEmulator, postgres_url: str
) -> None:
    teachers = list(range(5001, 5013))
    runtime = await _runtime(postgres_url)
    try:
        for user_id in teachers:
            telegram_api.send_text(user_id, "/start")  # the chat exists, as after a real /start
            await _plan(runtime, UserRef(channel="telegram", external_id=str(user_id)))
    finally:
        await runtime.close()

    env = telegram_env(telegram_api)
    results = await asyncio.gather(
        planbot_remind(postgres_url, "--now", MONDAY_22_MARCH, **env),
        planbot_remind(postgres_url, "--now", MONDAY_22_MARCH, **env),
        planbot_remind(postgres_url, "--now", MONDAY_22_MARCH, **env),
    )
    assert [code for code, _, _ in results] == [0, 0, 0], [err for _, _, err in results]
    for user_id in teachers:
        (reminder,) = telegram_api.bot_messages(user_id)
        assert labels(reminder) == BUTTONS
    sent = sum(out.count("Skickad: telegram:") for _, out, _ in results)
    assert sent == len(teachers)


# --------------------------------------------------------------------------- Slack


@pytest_asyncio.fixture
async def slack() -> AsyncIterator[SlackFake]:
    async with SlackFake() as fake:
        yield fake


async def test_the_reminder_arrives_as_a_slack_dm_with_the_buttons(
    slack: SlackFake, tmp_path: Path
) -> None:
    database_url = f"sqlite+aiosqlite:///{tmp_path / 'planbot.db'}"
    dm = slack.add_user("U0LARARE1")
    runtime = await _runtime(database_url)
    try:
        await _plan(runtime, UserRef(channel="slack", external_id="U0LARARE1"))
    finally:
        await runtime.close()
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "PLANBOT_SLACK_API_URL": slack.api_url}
    for _ in range(2):
        code, _, err = await planbot_remind(database_url, "--now", MONDAY_22_MARCH, **env)
        assert code == 0, err
    (message,) = slack.bot_messages(dm)
    assert f"Dags för uppföljning av ”{TITLE}”: Hur blev det?" in message.text
    buttons = [
        element["text"]["text"]
        for block in message.blocks
        if block["type"] == "actions"
        for element in block["elements"]
    ]
    assert buttons == BUTTONS
