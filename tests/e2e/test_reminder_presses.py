"""A reminder's buttons through the real channels: the reminder arrives in the Telegram chat
(sent by `planbot remind`, configured by the bot token, the API URL and the database URL —
nothing else is needed, see the last test) and in the Slack DM (sent by the Slack app's own
pass); "Påminn mig om en vecka", "Fyll i uppföljningen nu" (while another plan is active)
and "Stäng av" pressed there do what they say. Then two long-running `planbot telegram`
workers and a `planbot remind` at the same time, on PostgreSQL: each reminder once."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import update

from bot.app import start_runtime
from bot.reminders import slack_sender
from dialogs.reminders import Nudges, SchoolHours
from dialogs.types import UserRef
from storage.models import reminders as table
from tests.e2e.slack_fixtures import slack_app
from tests.e2e.telegram_emulator import Json, TelegramEmulator
from tests.e2e.test_reminders_channels import BUTTONS, TITLE, answers, labels
from tests.helpers import Clock
from tests.helpers import Teacher as EngineTeacher
from tests.test_console_e2e import ANSWERS
from tests.test_storage import _empty_postgres, postgres_database  # noqa: F401

if TYPE_CHECKING:
    from tests.e2e.telegram_fixtures import Teacher

pytest_plugins = ["tests.e2e.telegram_fixtures"]

PLANBOT = Path(sys.executable).with_name("planbot")
STOCKHOLM = SchoolHours().zone
OTHER = "Läslyftet i åk 4"


def local(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=STOCKHOLM).astimezone(dt.UTC)  # type: ignore[misc]


def clean_env(**env: str) -> dict[str, str]:
    """The operator's environment: nothing of planbot's but what is given."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("PLANBOT_", "SLACK_"))}
    environ.update(PYTHONUNBUFFERED="1", **env)
    return environ


async def planbot_remind(tg: TelegramEmulator, database_url: str, *args: str, **extra: str) -> str:
    """`planbot remind …` as an operator runs it from cron: three variables (and `extra`)."""
    process = await asyncio.create_subprocess_exec(
        str(PLANBOT),
        "remind",
        *args,
        env=clean_env(
            PLANBOT_TELEGRAM_TOKEN=tg.token,
            PLANBOT_TELEGRAM_API_URL=tg.base_url,
            PLANBOT_DATABASE_URL=database_url,
            **extra,
        ),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=tempfile.gettempdir(),  # no stray .env from the repository
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    assert "Traceback" not in err.decode()
    return out.decode()


def texts(messages: list[Json]) -> str:
    return "\n".join(m.get("text", "") for m in messages)


async def test_telegram_reminder_buttons_snooze_open_the_follow_up_and_stop(
    telegram_api: TelegramEmulator, database_url: str
) -> None:
    from tests.e2e.telegram_fixtures import Teacher, bot_settings, polling_bot

    settings = bot_settings(telegram_api, database_url)
    runtime = await start_runtime(settings)
    clock = Clock()
    runtime.conversation.clock = clock
    assert runtime.reminders is not None
    runtime.reminders.nudges = Nudges(times=0)  # the dates only: no nudge of the other plan
    try:
        async with polling_bot(settings, runtime):
            teacher: Teacher = Teacher(telegram_api)

            async def remind(now: str) -> str:
                # The same settings as the bot's: no nudges (else the other plan's come too).
                return await planbot_remind(
                    telegram_api, database_url, "--now", now, PLANBOT_REMIND_NUDGE_TIMES="0"
                )

            await teacher.says("/start")
            for text in answers():
                await teacher.says(text)
            await teacher.says("ja")  # the review before the plan is planerad
            said = texts(teacher.seen[-4:])
            assert "Uppföljningen är satt till v. 12 2027 → 22–28 mars 2027" in said
            assert "måndag 22 mars 2027" in said

            # Monday 22 March, cron: the reminder, once.
            before = len(teacher.seen)
            out = await remind("2027-03-22T08:00")
            assert f"Skickad: telegram:{teacher.id}" in out and TITLE in out
            out = await remind("2027-03-22T08:05")
            assert out.strip() == "Inget att skicka."
            (reminder,) = teacher.seen[before:]
            assert labels(reminder) == BUTTONS

            # "Påminn mig om en vecka", pressed that afternoon.
            clock.now = local(2027, 3, 22, 15, 30)
            _, replies = await teacher.presses("Påminn mig om en vecka", reminder)
            assert f"påminner dig om ”{TITLE}” igen tisdag 30 mars 2027" in texts(replies)
            before = len(teacher.seen)
            out = await remind("2027-03-29T12:00")
            assert out.strip() == "Inget att skicka." and len(teacher.seen) == before

            # Meanwhile the teacher is in the middle of another plan.
            clock.now = local(2027, 3, 30, 7, 0)
            await teacher.says("/ny")
            await teacher.says(OTHER)
            await teacher.says(ANSWERS["enhet"])
            before = len(teacher.seen)
            await remind("2027-03-30T08:00")
            (again,) = teacher.seen[before:]
            assert again["text"].startswith(f"Dags för uppföljning av ”{TITLE}”")

            clock.now = local(2027, 3, 30, 9, 0)
            _, replies = await teacher.presses("Fyll i uppföljningen nu", again)
            said = texts(replies)
            assert f"”{OTHER}” väntar där du var" in said
            assert f"Nu följer vi upp ”{TITLE}”" in said
            assert "Resultat" in replies[-1]["text"]
            await teacher.says("Frånvaron i åk 7 sjönk till 9 procent.")
            await teacher.says("/planer")
            _, replies = await teacher.presses(f"2. {OTHER}")
            assert "Upprättad av" in replies[-1]["text"]  # where the other plan was

            # The tidplan's end, 30 June: "Stäng av påminnelser för planen".
            before = len(teacher.seen)
            await remind("2027-06-30T08:00")
            (end,) = teacher.seen[before:]
            assert end["text"].startswith(f"Tidplanen för ”{TITLE}”")
            clock.now = local(2027, 6, 30, 10, 0)
            _, replies = await teacher.presses("Stäng av påminnelser för planen", end)
            said = texts(replies)
            assert f"Påminnelserna för ”{TITLE}” är avstängda" in said and "/paminnelser" in said
            before = len(teacher.seen)
            out = await remind("2027-12-01T09:00")
            assert out.strip() == "Inget att skicka." and len(teacher.seen) == before

            replies = await teacher.says("påminnelser")
            assert f"”{TITLE}” – avstängda" in texts(replies)
            _, replies = await teacher.presses(f"Slå på: {TITLE}")
            assert f"Påminnelserna för ”{TITLE}” är på igen" in texts(replies)
        # (A long poll the loaded machine let time out may meet its successor: not the bot's.)
        assert [c for c in telegram_api.errors() if c.method != "getUpdates"] == []
    finally:
        await runtime.close()


async def test_slack_reminder_arrives_in_the_dm_and_its_buttons_work(tmp_path: Path) -> None:
    async with slack_app(tmp_path) as env:
        clock = Clock()
        env.runtime.conversation.clock = clock
        assert env.runtime.reminders is not None
        env.runtime.reminders.nudges = Nudges(times=0)
        assert (await env.teacher.slash()).status == 200  # the first message: a new plan
        await env.settle()
        for text in answers():
            await env.say(text)
        await env.say("ja")  # the review before the plan is planerad
        await env.teacher.open_home()
        await env.settle()
        home = str(env.fake.views[env.teacher.user_id])
        assert "Påminnelser" in home and "måndag 22 mars 2027" in home

        send = {"slack": slack_sender(env.adapter.client)}
        reminders = env.runtime.reminders
        before = len(env.teacher.bot_messages())
        report = await reminders.run_pass(local(2027, 3, 22, 8, 0), send)
        assert len(report.sent) == 1
        assert (await reminders.run_pass(local(2027, 3, 22, 8, 1), send)).sent == []
        (reminder,) = env.teacher.bot_messages()[before:]
        assert f"Dags för uppföljning av ”{TITLE}”: Hur blev det?" in reminder.text
        assert reminder.button_labels() == BUTTONS

        clock.now = local(2027, 3, 23, 9, 0)
        replies = await env.press("Påminn mig om en vecka", reminder)
        assert any("igen tisdag 30 mars 2027" in m.visible_text() for m in replies)
        assert (await reminders.run_pass(local(2027, 3, 29, 12, 0), send)).sent == []

        await env.say("ny")
        await env.say(OTHER)
        before = len(env.teacher.bot_messages())
        assert len((await reminders.run_pass(local(2027, 3, 30, 9, 0), send)).sent) == 1
        (again,) = env.teacher.bot_messages()[before:]
        clock.now = local(2027, 3, 30, 9, 0)
        replies = await env.press("Fyll i uppföljningen nu", again)
        said = "\n".join(m.visible_text() for m in replies)
        assert f"”{OTHER}” väntar där du var" in said and f"Nu följer vi upp ”{TITLE}”" in said
        assert "Resultat" in said

        before = len(env.teacher.bot_messages())
        (end,) = (await reminders.run_pass(local(2027, 6, 30, 8, 0), send)).sent
        assert end.kind == "period_end"
        (message,) = env.teacher.bot_messages()[before:]
        replies = await env.press("Stäng av påminnelser för planen", message)
        assert any("är avstängda" in m.visible_text() for m in replies)
        assert (await reminders.run_pass(local(2027, 12, 1, 9, 0), send)).sent == []


# --------------------------------------------------------------------------- two workers


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# Every hour of every day: reminders dated today are due now, by the workers' real clocks.
ALWAYS = {
    "PLANBOT_REMIND_OPENS": "00:00",
    "PLANBOT_REMIND_CLOSES": "23:59:59",
    "PLANBOT_REMIND_WEEKDAYS": "[1,2,3,4,5,6,7]",
    "PLANBOT_REMIND_HOLIDAYS": "",
    "PLANBOT_REMIND_INTERVAL_SECONDS": "3",
}


@pytest.mark.slow
async def test_two_running_bots_and_planbot_remind_send_each_reminder_once(
    telegram_api: TelegramEmulator, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    from tests.e2e.telegram_fixtures import bot_settings

    postgres_url = await _empty_postgres(request.getfixturevalue("postgres_database"))
    today = dt.datetime.now(STOCKHOLM).date().isoformat()
    settings = bot_settings(telegram_api, postgres_url)
    runtime = await start_runtime(settings)
    assert runtime.reminders is not None
    runtime.reminders.hours = SchoolHours(
        opens=dt.time(0, 0), closes=dt.time(23, 59, 59), weekdays=frozenset(range(7)), country=None
    )
    teachers = list(range(6001, 6041))
    try:
        for user_id in teachers:
            telegram_api.send_text(user_id, "/start")  # the chat exists
            teacher = EngineTeacher(
                runtime.conversation, user=UserRef(channel="telegram", external_id=str(user_id))
            )
            await teacher.start()
            for text in answers(today):
                await teacher.say(text)
        # Held back until all three are running, then due at once.
        async with runtime.database.engine.begin() as conn:
            await conn.execute(update(table).values(state="off"))
        env = clean_env(
            PLANBOT_TELEGRAM_TOKEN=telegram_api.token,
            PLANBOT_TELEGRAM_API_URL=telegram_api.base_url,
            PLANBOT_TELEGRAM_FILE_URL=telegram_api.base_file_url,
            PLANBOT_DATABASE_URL=postgres_url,
            **ALWAYS,
        )
        workers = []
        for n in range(2):
            port = free_port()
            log = (tmp_path / f"worker{n}.log").open("wb")
            workers.append(
                await asyncio.create_subprocess_exec(
                    str(PLANBOT),
                    "telegram",
                    "--webhook-url",
                    f"http://127.0.0.1:{port}/telegram",
                    "--port",
                    str(port),
                    "--listen",
                    "127.0.0.1",
                    env=env,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    cwd=tmp_path,
                )
            )

        def answered_start() -> int:
            return sum(bool(telegram_api.bot_messages(t)) for t in teachers)

        for _ in range(300):  # both up: the pending /start updates are answered
            if answered_start() == len(teachers) and telegram_api.webhook is not None:
                break
            await asyncio.sleep(0.1)
        try:
            cron = await asyncio.create_subprocess_exec(
                str(PLANBOT),
                "remind",
                env=env,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=tmp_path,
            )
            await asyncio.sleep(0.5)  # the workers pass every 3 s; `planbot remind` in 1–3 s
            async with runtime.database.engine.begin() as conn:
                await conn.execute(update(table).values(state="pending"))
            out, err = await asyncio.wait_for(cron.communicate(), 60)
            assert cron.returncode == 0, err.decode()

            def delivered() -> int:
                return sum(
                    m["text"].startswith("Dags för uppföljning")
                    for t in teachers
                    for m in telegram_api.bot_messages(t)
                )

            for _ in range(200):
                if delivered() >= len(teachers):
                    break
                await asyncio.sleep(0.1)
            await asyncio.sleep(7)  # two more passes of each worker: nothing again
        finally:
            for worker in workers:
                worker.terminate()
                await asyncio.wait_for(worker.wait(), 20)
    finally:
        await runtime.close()
    by_cron = out.decode().count("Skickad:")
    for user_id in teachers:
        # (The workers also answered the teacher's /start, pending since the chat began.)
        sent = telegram_api.bot_messages(user_id)
        (reminder,) = [m for m in sent if m["text"].startswith("Dags för uppföljning")]
        assert labels(reminder) == BUTTONS, [m["text"][:60] for m in sent]
    print(f"{len(teachers)} reminders: {by_cron} by planbot remind, the rest by the workers")
    logs = "".join((tmp_path / f"worker{n}.log").read_text() for n in range(2))
    assert "Traceback" not in logs, logs[-3000:]


async def test_plans_written_without_the_hook_are_caught_up_by_planbot_remind(
    telegram_api: TelegramEmulator, database_url: str
) -> None:
    """A plan stored by a conversation with no reminder hook (another tool, an older version):
    `planbot remind` derives it before its pass, and still sends once."""
    from dialogs.service import Conversation
    from dialogs.template import load_templates
    from exports.docx import render_document
    from storage.db import open_database

    database = await open_database(database_url)
    try:
        conversation = Conversation(database.store, load_templates(), render_document)
        teacher = EngineTeacher(conversation, user=UserRef(channel="telegram", external_id="4713"))
        telegram_api.send_text(4713, "/start")  # the chat exists
        await teacher.start()
        await teacher.press("Handlingsplan")
        for text in answers():
            await teacher.say(text)
        await teacher.say("ja")  # the review before the plan is planerad
    finally:
        await database.close()
    assert "planerad" in teacher.text()
    out = await planbot_remind(telegram_api, database_url, "--now", "2027-03-22T08:00")
    assert "Skickad: telegram:4713" in out
    out = await planbot_remind(telegram_api, database_url, "--now", "2027-03-22T08:00")
    assert out.strip() == "Inget att skicka."
    (reminder,) = telegram_api.bot_messages(4713)
    assert reminder["text"].startswith(f"Dags för uppföljning av ”{TITLE}”")
